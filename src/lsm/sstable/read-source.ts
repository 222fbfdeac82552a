/**
 * Where a TableReader's bytes come from: a file descriptor read with synchronous
 * positional reads (fs.readSync; state access in weir is synchronous), or bytes in
 * memory (tests, tables built on a worker and read back before they reach disk).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface ReadSource {
  /** Reads up to buf.length bytes at position; returns the bytes read (short only at end of file). */
  read(buf: Uint8Array, position: number): number;
  /** Current size of the underlying file. */
  size(): number;
  close(): void;
}

export class FileReadSource implements ReadSource {
  private fd: number;
  private readonly owned: boolean;

  /** `file` is a path (opened read-only, closed by close()) or an fd the caller keeps owning. */
  constructor(file: string | number) {
    if (typeof file === 'number') {
      this.fd = file;
      this.owned = false;
    } else {
      this.fd = openSync(file, 'r');
      this.owned = true;
    }
  }

  read(buf: Uint8Array, position: number): number {
    let done = 0;
    // Bounded: each round reads >= 1 byte or stops.
    while (done < buf.length) {
      const n = readSync(this.fd, buf, done, buf.length - done, position + done);
      if (n <= 0) break;
      done += n;
    }
    return done;
  }

  size(): number {
    return fstatSync(this.fd).size;
  }

  close(): void {
    if (this.owned && this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
  }
}

export class BytesReadSource implements ReadSource {
  private readonly bytes: Uint8Array;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  read(buf: Uint8Array, position: number): number {
    const n = Math.max(0, Math.min(buf.length, this.bytes.length - position));
    buf.set(this.bytes.subarray(position, position + n));
    return n;
  }

  size(): number {
    return this.bytes.length;
  }

  close(): void {}
}

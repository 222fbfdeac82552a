/**
 * Where a TableReader's bytes come from: a file opened through the store's Vfs
 * (synchronous positional reads; state access in weir is synchronous), a raw fd
 * (FileReadSource), or bytes in memory (tests, tables built and read back before they
 * reach disk).
 */
import type { RandomAccessFile } from '../vfs/vfs.ts';

export type ReadSource = RandomAccessFile;
export { FileReadSource } from '../vfs/real-fs.ts';

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

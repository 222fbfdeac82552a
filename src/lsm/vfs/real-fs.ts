/**
 * The Vfs over Node's `fs` (the default). Sync methods use the `*Sync` calls, async
 * ones `fs/promises`; nothing is cached, every call is one or two system calls.
 */
import {
  closeSync, constants, existsSync, fstatSync, fsyncSync, linkSync, mkdirSync, openSync, readdirSync, readFileSync,
  readSync, renameSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
import { copyFile, open, rename, unlink } from 'node:fs/promises';
import type { AsyncWritableFile, RandomAccessFile, Vfs, WritableFile } from './vfs.ts';
import { isNotFound } from './vfs.ts';

/** Positional reads over an fd (opened here from a path, or one the caller keeps owning). */
export class FileReadSource implements RandomAccessFile {
  private fd: number;
  private readonly owned: boolean;

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

class FdWritableFile implements WritableFile {
  private readonly fd: number;
  constructor(fd: number) {
    this.fd = fd;
  }
  write(data: Uint8Array): void {
    let off = 0;
    // Bounded: each round writes >= 1 byte (writeSync throws rather than return 0).
    while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
  }
  sync(): void {
    fsyncSync(this.fd);
  }
  close(): void {
    closeSync(this.fd);
  }
}

function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export const realFs: Vfs = {
  create: (path) => new FdWritableFile(openSync(path, 'w')),
  createExclusive: (path) => new FdWritableFile(openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL)),
  openRead: (path) => new FileReadSource(path),
  readFile: (path) => {
    try {
      return readFileSync(path);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  },
  rename: (from, to) => renameSync(from, to),
  remove: (path) => unlinkSync(path),
  list: (dir) => readdirSync(dir),
  mkdirAll: (dir) => {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  },
  syncDir: syncDirSync,
  stat: (path) => {
    try {
      return { size: statSync(path).size };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  },
  link: (existing, newPath) => linkSync(existing, newPath),

  createAsync: async (path): Promise<AsyncWritableFile> => {
    const fh = await open(path, 'w');
    return {
      write: async (data) => {
        await fh.writeFile(data);
      },
      sync: () => fh.sync(),
      close: () => fh.close(),
    };
  },
  renameAsync: (from, to) => rename(from, to),
  removeAsync: (path) => unlink(path),
  syncDirAsync: async (dir) => {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  },
  copyFileAsync: (from, to) => copyFile(from, to),
};

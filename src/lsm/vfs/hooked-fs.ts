/**
 * A Vfs that calls a hook before every operation and then delegates to an inner Vfs:
 * the shared base of ErrorFs (the hook throws) and LoggingFs (the hook records). Every
 * method of Vfs, WritableFile and RandomAccessFile is one FsOp, so a test can aim at
 * exactly "the fsync of MANIFEST.tmp" or "the 3rd remove of a table".
 */
import type { AsyncWritableFile, RandomAccessFile, Vfs, WritableFile } from './vfs.ts';

export type FsOpKind =
  | 'create' | 'write' | 'sync' | 'close' | 'open' | 'read' | 'readfile' | 'rename' | 'remove'
  | 'list' | 'mkdir' | 'syncdir' | 'stat' | 'link' | 'copy';

export interface FsOp {
  readonly kind: FsOpKind;
  /** The file (or directory) operated on; for rename/link/copy the source. */
  readonly path: string;
  /** rename/link/copy: the destination. */
  readonly to?: string;
  /** Byte count of a write. */
  readonly bytes?: number;
  /** True for the `…Async` forms (and the handles they return). */
  readonly async: boolean;
}

export type FsHook = (op: FsOp) => void;

export class HookedFs implements Vfs {
  private readonly inner: Vfs;
  private readonly hook: FsHook;

  constructor(inner: Vfs, hook: FsHook) {
    this.inner = inner;
    this.hook = hook;
  }

  private op(kind: FsOpKind, path: string, extra: { to?: string; bytes?: number } = {}, async = false): void {
    this.hook({ kind, path, async, ...extra });
  }

  private wrapWritable(path: string, f: WritableFile): WritableFile {
    return {
      write: (data) => {
        this.op('write', path, { bytes: data.length });
        f.write(data);
      },
      sync: () => {
        this.op('sync', path);
        f.sync();
      },
      close: () => {
        this.op('close', path);
        f.close();
      },
    };
  }

  create(path: string): WritableFile {
    this.op('create', path);
    return this.wrapWritable(path, this.inner.create(path));
  }

  createExclusive(path: string): WritableFile {
    this.op('create', path);
    return this.wrapWritable(path, this.inner.createExclusive(path));
  }

  openRead(path: string): RandomAccessFile {
    this.op('open', path);
    const f = this.inner.openRead(path);
    return {
      read: (buf, position) => {
        this.op('read', path, { bytes: buf.length });
        return f.read(buf, position);
      },
      size: () => f.size(),
      close: () => {
        this.op('close', path);
        f.close();
      },
    };
  }

  readFile(path: string): Uint8Array | undefined {
    this.op('readfile', path);
    return this.inner.readFile(path);
  }

  rename(from: string, to: string): void {
    this.op('rename', from, { to });
    this.inner.rename(from, to);
  }

  remove(path: string): void {
    this.op('remove', path);
    this.inner.remove(path);
  }

  list(dir: string): string[] {
    this.op('list', dir);
    return this.inner.list(dir);
  }

  mkdirAll(dir: string): void {
    this.op('mkdir', dir);
    this.inner.mkdirAll(dir);
  }

  syncDir(dir: string): void {
    this.op('syncdir', dir);
    this.inner.syncDir(dir);
  }

  stat(path: string): { size: number } | undefined {
    this.op('stat', path);
    return this.inner.stat(path);
  }

  link(existing: string, newPath: string): void {
    this.op('link', existing, { to: newPath });
    this.inner.link(existing, newPath);
  }

  async createAsync(path: string): Promise<AsyncWritableFile> {
    this.op('create', path, {}, true);
    const f = await this.inner.createAsync(path);
    return {
      write: async (data) => {
        this.op('write', path, { bytes: data.length }, true);
        await f.write(data);
      },
      sync: async () => {
        this.op('sync', path, {}, true);
        await f.sync();
      },
      close: async () => {
        this.op('close', path, {}, true);
        await f.close();
      },
    };
  }

  async renameAsync(from: string, to: string): Promise<void> {
    this.op('rename', from, { to }, true);
    await this.inner.renameAsync(from, to);
  }

  async removeAsync(path: string): Promise<void> {
    this.op('remove', path, {}, true);
    await this.inner.removeAsync(path);
  }

  async syncDirAsync(dir: string): Promise<void> {
    this.op('syncdir', dir, {}, true);
    await this.inner.syncDirAsync(dir);
  }

  async copyFileAsync(from: string, to: string): Promise<void> {
    this.op('copy', from, { to }, true);
    await this.inner.copyFileAsync(from, to);
  }
}

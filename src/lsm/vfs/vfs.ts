/**
 * The LSM engine's file-system interface (Pebble's `vfs.FS`): every byte the engine
 * reads or writes, and every create, rename, sync and delete, goes through a Vfs, so
 * tests can wrap it — ErrorFs injects failures at chosen operations (Pebble's
 * `errorfs`), LoggingFs records the operations in order (Pebble's fs-op traces) — and
 * the order that makes the store crash-safe (docs/lsm.md "Durability order") is tested
 * rather than assumed.
 *
 * Synchronous methods serve the read path (state access is synchronous), table writing
 * (on a background worker) and open. The `…Async` methods are the writes the store's
 * thread makes while records flow (the MANIFEST, deleting obsolete tables, restore
 * copies): they never block the event loop on an fsync.
 *
 * Errors: the real file system throws Node's errors (with `code`: ENOENT, EEXIST, …);
 * callers that care test the code (see isNotFound).
 */

/** Positional reads of one open file (the sstable reader's source). */
export interface RandomAccessFile {
  /** Reads up to buf.length bytes at position; returns the bytes read (short only at end of file). */
  read(buf: Uint8Array, position: number): number;
  /** Current size of the file. */
  size(): number;
  close(): void;
}

/** A file being written sequentially (tables, on a background worker or inline). */
export interface WritableFile {
  /** Appends all of data. */
  write(data: Uint8Array): void;
  /** fsync: the bytes written so far are durable. */
  sync(): void;
  close(): void;
}

export interface AsyncWritableFile {
  write(data: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface Vfs {
  /** Creates (or truncates) path for writing. */
  create(path: string): WritableFile;
  /** Creates path only if it does not exist (throws with code EEXIST otherwise). */
  createExclusive(path: string): WritableFile;
  openRead(path: string): RandomAccessFile;
  /** The whole file, or undefined if it does not exist. */
  readFile(path: string): Uint8Array | undefined;
  /** Atomic replace of `to` (POSIX rename). */
  rename(from: string, to: string): void;
  /** Deletes a file; throws with code ENOENT if it does not exist. */
  remove(path: string): void;
  /** Names in dir (not paths), unordered. */
  list(dir: string): string[];
  mkdirAll(dir: string): void;
  /** fsync of a directory: renames and creates in it are durable. */
  syncDir(dir: string): void;
  /** Size of a file, or undefined if it does not exist. */
  stat(path: string): { size: number } | undefined;
  /** Hard link (throws with code EXDEV across file systems). */
  link(existing: string, newPath: string): void;

  createAsync(path: string): Promise<AsyncWritableFile>;
  renameAsync(from: string, to: string): Promise<void>;
  removeAsync(path: string): Promise<void>;
  syncDirAsync(dir: string): Promise<void>;
  copyFileAsync(from: string, to: string): Promise<void>;
}

export function isNotFound(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'ENOENT';
}

export function isExists(err: unknown): boolean {
  return (err as { code?: unknown } | null)?.code === 'EEXIST';
}

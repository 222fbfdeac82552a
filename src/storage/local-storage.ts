/**
 * CheckpointStorage on a local directory (or a mounted network filesystem).
 *
 * Layout: object "job/chk-3/_metadata" is the file <root>/job/chk-3/_metadata.
 * Publication is atomic: bytes go to "<name>.weir-tmp-<random>" in the same directory,
 * fsync, rename over the final name, fsync the directory. list() never shows temp files
 * (paths.ts forbids the marker in object paths, so nothing real is hidden).
 * delete()/deletePrefix() remove directories left empty, so a deleted checkpoint leaves
 * no trace (FLINK-38909). A temp file orphaned by a crash is not listed; sweepTempFiles()
 * removes them.
 *
 * Errors: ENOENT → NotFoundError on reads; EMFILE/EAGAIN/EBUSY/EIO/… → TransientStorageError;
 * the rest (EACCES, ENOSPC, ENOTDIR, …) → PermanentStorageError. All with `cause`.
 */
import type { Dirent } from 'node:fs';
import { lstat, open, readdir, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assert } from '../util/assert.ts';
import { NotFoundError, PermanentStorageError, TransientStorageError, WeirError } from '../util/errors.ts';
import type { CheckpointStorage, ObjectInfo, WriteResult } from './checkpoint-storage.ts';
import { limitConcurrency } from './concurrency.ts';
import { checkLocalSource, copyFileAtomically, writeFileAtomically } from './local-files.ts';
import type { Expectation } from './local-files.ts';
import { TEMP_MARKER, comparePaths, validateDeletePrefix, validatePath, validatePrefix } from './paths.ts';
import type { StreamingWrite } from './streaming-write.ts';

export interface LocalStorageOptions {
  /** Directory holding the objects; created on first write. Relative → resolved against cwd. */
  root: string;
}

const TRANSIENT_CODES = new Set(['EMFILE', 'ENFILE', 'EAGAIN', 'EBUSY', 'EIO', 'ETIMEDOUT', 'EINTR', 'ESTALE']);

export class LocalStorage implements CheckpointStorage, StreamingWrite {
  readonly uri: string;
  readonly root: string;
  private closed = false;
  /** Bounds the stat() calls of one list() (a shared/ directory may hold 100k files). */
  private readonly statLimit = limitConcurrency(32);

  constructor(options: LocalStorageOptions) {
    this.root = resolve(options.root);
    this.uri = pathToFileURL(this.root).href;
  }

  async write(path: string, data: Uint8Array): Promise<WriteResult> {
    return this.writeStream(path, [data]);
  }

  async writeFile(path: string, localFile: string): Promise<WriteResult> {
    const full = this.resolvePath(path);
    await checkLocalSource(localFile);
    try {
      return await copyFileAtomically(localFile, full, this.label(path), undefined, true);
    } catch (err) {
      throw mapWriteError(err, this.label(path));
    }
  }

  async writeStream(path: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<WriteResult> {
    const full = this.resolvePath(path);
    try {
      return await writeFileAtomically(full, source, this.label(path));
    } catch (err) {
      throw mapWriteError(err, this.label(path));
    }
  }

  async read(path: string): Promise<Uint8Array> {
    const full = this.resolvePath(path);
    return this.guard(path, async () => {
      const handle = await open(full, 'r');
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw new NotFoundError(this.label(path));
        const buf = await handle.readFile();
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } finally {
        await handle.close();
      }
    });
  }

  async readToFile(path: string, localFile: string, expect?: Expectation): Promise<void> {
    const full = this.resolvePath(path);
    await this.guard(path, async () => {
      if (!(await stat(full)).isFile()) throw new NotFoundError(this.label(path));
      // Objects are immutable: a kernel copy, then the checksum of the copy (see copyFileAtomically).
      await copyFileAtomically(full, localFile, this.label(path), expect, false);
    });
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    const full = this.resolvePath(path);
    return this.guard(path, async () => {
      try {
        const info = await stat(full);
        return info.isFile() ? { path, size: info.size } : undefined;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
        throw err;
      }
    });
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    this.checkOpen();
    validatePrefix(prefix);
    const dirPart = prefix.slice(0, prefix.lastIndexOf('/') + 1); // "" or "a/b/"
    const out: ObjectInfo[] = [];
    await this.guard(prefix, () => this.walk(dirPart, prefix, out));
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  async delete(path: string): Promise<void> {
    const full = this.resolvePath(path);
    await this.guard(path, async () => {
      try {
        await unlink(full);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Absent (or a directory, i.e. not an object): nothing to delete.
        if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return;
        // macOS reports unlink(directory) as EPERM; a real permission problem must not pass silently.
        if (code === 'EPERM' && (await lstat(full).then((st) => st.isDirectory(), () => false))) return;
        throw err;
      }
      await this.pruneEmptyParents(path);
    });
  }

  async deletePrefix(prefix: string): Promise<void> {
    this.checkOpen();
    validateDeletePrefix(prefix);
    await this.guard(prefix, async () => {
      if (prefix === '') {
        const entries = await readdirOrEmpty(this.root);
        for (const entry of entries) await rm(join(this.root, entry.name), { recursive: true, force: true });
        return;
      }
      const dir = this.resolvePath(prefix.slice(0, -1));
      let isDir = false;
      try {
        isDir = (await lstat(dir)).isDirectory();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      }
      if (isDir) await rm(dir, { recursive: true, force: true });
      await this.pruneEmptyParents(prefix.slice(0, -1));
    });
  }

  /** Removes temp files orphaned by a crash mid-write (never touches published objects). Returns how many. */
  async sweepTempFiles(): Promise<number> {
    let removed = 0;
    const visit = async (dir: string, depth: number): Promise<void> => {
      assert(depth < 256, 'directory nesting deeper than 256 under storage root');
      for (const entry of await readdirOrEmpty(dir)) {
        const full = join(dir, entry.name);
        if (entry.isDirectory()) await visit(full, depth + 1);
        else if (entry.name.includes(TEMP_MARKER)) {
          await rm(full, { force: true });
          removed++;
        }
      }
    };
    await visit(this.root, 0);
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---------------------------------------------------------------------------------

  private async walk(relDir: string, prefix: string, out: ObjectInfo[], depth = 0): Promise<void> {
    assert(depth < 256, 'directory nesting deeper than 256 under storage root');
    const entries = await readdirOrEmpty(relDir === '' ? this.root : join(this.root, relDir));
    await Promise.all(
      entries.map(async (entry) => {
        const rel = relDir + entry.name;
        if (entry.isDirectory()) {
          const asDir = `${rel}/`;
          // Descend only where objects can match: the prefix is inside this dir, or the dir inside the prefix.
          if (prefix.startsWith(asDir) || asDir.startsWith(prefix)) await this.walk(asDir, prefix, out, depth + 1);
          return;
        }
        if (!entry.isFile() || entry.name.includes(TEMP_MARKER) || !rel.startsWith(prefix)) return;
        try {
          const info = await this.statLimit(() => stat(join(this.root, rel)));
          out.push({ path: rel, size: info.size });
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // deleted while listing
        }
      }),
    );
  }

  /** rmdir each parent of `path` that is now empty, stopping at the root or the first non-empty one. */
  private async pruneEmptyParents(path: string): Promise<void> {
    const parts = path.split('/');
    for (let n = parts.length - 1; n > 0; n--) {
      try {
        await rmdir(join(this.root, ...parts.slice(0, n)));
      } catch {
        return; // not empty, already gone, or a concurrent write recreated it
      }
    }
  }

  private resolvePath(path: string): string {
    this.checkOpen();
    validatePath(path);
    const full = join(this.root, ...path.split('/'));
    assert(full.startsWith(this.root + sep), () => `resolved path escapes the storage root: ${path}`);
    return full;
  }

  private label(path: string): string {
    return `${this.uri}/${path}`;
  }

  private checkOpen(): void {
    if (this.closed) throw new PermanentStorageError(`${this.uri} is closed`);
  }

  private async guard<T>(path: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw mapFsError(err, this.label(path));
    }
  }
}

async function readdirOrEmpty(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

/** A failed write: S3 allows "a/b" and "a/b/c" side by side; a directory tree cannot. */
function mapWriteError(err: unknown, label: string): unknown {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EISDIR' || code === 'ENOTDIR' || code === 'EEXIST') {
    return new PermanentStorageError(
      `${label}: conflicts with an existing object or prefix (a local directory cannot hold both "a/b" and "a/b/c")`,
      { cause: err },
    );
  }
  return mapFsError(err, label);
}

export function mapFsError(err: unknown, label: string): unknown {
  if (err instanceof WeirError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new NotFoundError(label, { cause: err });
  const message = `${label}: ${err instanceof Error ? err.message : String(err)}`;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return new TransientStorageError(message, { cause: err });
  if (code !== undefined) return new PermanentStorageError(message, { cause: err });
  return err;
}

/**
 * CheckpointStorage on a local directory (or a mounted network filesystem).
 *
 * Layout: object "job/chk-3/_metadata" is the file <root>/job/chk-3/_metadata.
 * Publication is atomic: bytes go to "<name>.weir-tmp-<random>" in the same directory,
 * fsync, rename over the final name, fsync the directory. list() never shows temp files
 * (paths.ts forbids the marker in object paths, so nothing real is hidden).
 * delete()/deletePrefix() remove directories left empty, so a deleted checkpoint leaves
 * no trace (FLINK-38909). A temp file orphaned by a crash (a SIGKILLed upload) is not an
 * object and list() does not show it; listTempFiles() does, and delete() takes its path:
 * the job scan counts such files as orphans, so a job's start and `weir checkpoints gc`
 * remove them (issue 9, defect 9: before, nothing called the sweep and gc saw nothing).
 *
 * Symlinks (issue 9, defect 8): nothing read, written, listed or deleted may resolve
 * outside the root. Paths are validated as strings (paths.ts), and then every directory
 * between the root and the object is lstat()ed: a symbolic link there is refused with a
 * PermanentStorageError naming it (a `shared/` that links elsewhere would make restore
 * read, and retention delete, files outside). The object itself is opened with
 * O_NOFOLLOW (read; readToFile, which also checks after its copy-by-path that the path
 * still names the file it opened), lstat()ed by stat, created with O_EXCL and
 * published by rename() (neither follows a link); unlink() of a link removes the link.
 * list() refuses a symlink it meets instead of skipping it, so gc, verify and inspect
 * fail loudly on a directory someone linked outside. The root itself may be a symlink
 * (the user chose it). Not defended: a concurrent writer swapping a checked directory
 * for a link between the check and the use (that needs openat2(RESOLVE_BENEATH), which
 * Node does not expose); checkpoint storage is not shared with untrusted writers.
 *
 * Errors: ENOENT → NotFoundError on reads; EMFILE/EAGAIN/EBUSY/EIO/… → TransientStorageError;
 * the rest (EACCES, ENOSPC, ENOTDIR, …) → PermanentStorageError. All with `cause`.
 */
import { constants } from 'node:fs';
import type { Dirent } from 'node:fs';
import { link, lstat, open, readdir, rm, rmdir, unlink } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { assert } from '../util/assert.ts';
import { AlreadyExistsError, NotFoundError, PermanentStorageError, TransientStorageError, WeirError } from '../util/errors.ts';
import type { CheckpointStorage, ObjectInfo, WriteResult } from './checkpoint-storage.ts';
import { limitConcurrency } from './concurrency.ts';
import { copyFileAtomically, fsyncDir, tempPathFor, writeFileAtomically } from './local-files.ts';
import { IoThreadError, publishOnIoThread } from './io-thread.ts';
import type { Expectation } from './local-files.ts';
import { TEMP_MARKER, comparePaths, isTempPath, validateDeletePrefix, validatePath, validatePrefix, validateTempPath } from './paths.ts';
import type { StreamingWrite } from './streaming-write.ts';

export interface LocalStorageOptions {
  /** Directory holding the objects; created on first write. Relative → resolved against cwd. */
  root: string;
}

/** O_NOFOLLOW where the platform has it (POSIX); 0 elsewhere (the lstat checks still apply). */
const NO_FOLLOW = constants.O_NOFOLLOW ?? 0;

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
    return this.publish(path, { bytes: data });
  }

  /** Exclusive create: the bytes are published under a hidden temp name, then hard-linked to the final name (link(2) fails with EEXIST). */
  async create(path: string, data: Uint8Array): Promise<WriteResult> {
    const full = this.resolvePath(path);
    const staged = tempPathFor(full);
    let result: WriteResult;
    try {
      await this.refuseLinkedParents(path);
      result = await writeFileAtomically(staged, [data], this.label(path));
    } catch (err) {
      throw mapWriteError(err, this.label(path));
    }
    try {
      await link(staged, full);
      await fsyncDir(dirname(full));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new AlreadyExistsError(this.label(path), { cause: err });
      throw mapWriteError(err, this.label(path));
    } finally {
      await unlink(staged).catch(() => undefined);
    }
    return result;
  }

  async writeFile(path: string, localFile: string): Promise<WriteResult> {
    return this.publish(path, { src: localFile });
  }

  /**
   * write() and writeFile(): the whole publication (the symbolic-link walk, mkdir -p,
   * temp, copy or write, CRC-32C, fsync, rename, fsync of the directory) runs on the
   * storage I/O thread (io-thread.ts) with blocking calls, in one round trip.
   */
  private async publish(path: string, from: { readonly bytes: Uint8Array } | { readonly src: string }): Promise<WriteResult> {
    const full = this.resolvePath(path);
    try {
      return await publishOnIoThread({ root: this.root, path, dest: full, ...from });
    } catch (err) {
      if (err instanceof IoThreadError) {
        const f = err.failure;
        if (f.linked !== undefined) throw this.linkError(path, f.linked);
        // The source of an upload is the caller's: missing, it is not an object NotFound.
        if (f.badSource === true) throw new PermanentStorageError(f.message, { cause: err });
      }
      throw mapWriteError(err, this.label(path));
    }
  }

  async writeStream(path: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<WriteResult> {
    const full = this.resolvePath(path);
    try {
      await this.refuseLinkedParents(path);
      return await writeFileAtomically(full, source, this.label(path));
    } catch (err) {
      throw mapWriteError(err, this.label(path));
    }
  }

  async read(path: string): Promise<Uint8Array> {
    const full = this.resolvePath(path);
    return this.guard(path, async () => {
      await this.refuseLinkedParents(path);
      const handle = await open(full, constants.O_RDONLY | NO_FOLLOW).catch((err: unknown) => {
        throw (err as NodeJS.ErrnoException).code === 'ELOOP' ? this.linkError(path, path) : err;
      });
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
      await this.refuseLinkedParents(path);
      // Held open (no-follow) across the copy: the copy goes by path (the kernel's
      // copy_file_range), so afterwards the path must still name the file we opened.
      const handle = await open(full, constants.O_RDONLY | NO_FOLLOW).catch((err: unknown) => {
        throw (err as NodeJS.ErrnoException).code === 'ELOOP' ? this.linkError(path, path) : err;
      });
      try {
        const info = await handle.stat();
        if (!info.isFile()) throw new NotFoundError(this.label(path));
        // Objects are immutable: a kernel copy, then the checksum of the copy (see copyFileAtomically).
        await copyFileAtomically(full, localFile, this.label(path), expect, false);
        const now = await lstat(full);
        if (now.isSymbolicLink() || now.ino !== info.ino || now.dev !== info.dev) {
          await rm(localFile, { force: true });
          throw new PermanentStorageError(`${this.label(path)}: replaced while being read (a symbolic link or another file took its place)`);
        }
      } finally {
        await handle.close();
      }
    });
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    const full = this.resolvePath(path);
    return this.guard(path, async () => {
      try {
        await this.refuseLinkedParents(path);
        const info = await lstat(full);
        if (info.isSymbolicLink()) throw this.linkError(path, path);
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
    const out: ObjectInfo[] = [];
    await this.guard(prefix, () => this.walkPrefix(prefix, out, false));
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  async listTempFiles(prefix: string): Promise<ObjectInfo[]> {
    this.checkOpen();
    validatePrefix(prefix);
    const out: ObjectInfo[] = [];
    await this.guard(prefix, () => this.walkPrefix(prefix, out, true));
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  async delete(path: string): Promise<void> {
    const full = this.resolvePath(path, isTempPath(path));
    await this.guard(path, async () => {
      await this.refuseLinkedParents(path);
      try {
        await unlink(full); // a link itself is removed, never its target
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
      await this.refuseLinkedParents(prefix.slice(0, -1));
      let isDir = false;
      try {
        const info = await lstat(dir);
        if (info.isSymbolicLink()) throw this.linkError(prefix, prefix.slice(0, -1));
        isDir = info.isDirectory();
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      }
      if (isDir) await rm(dir, { recursive: true, force: true });
      await this.pruneEmptyParents(prefix.slice(0, -1));
    });
  }

  /**
   * Removes the temp files of unfinished writes under `prefix` (never a published object).
   * Only for a directory no process writes to: a live write's temp file would go too.
   * Returns how many.
   */
  async sweepTempFiles(prefix = ''): Promise<number> {
    const temps = await this.listTempFiles(prefix);
    for (const t of temps) await this.delete(t.path);
    return temps.length;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---------------------------------------------------------------------------------

  /** Lists objects (or, with `temps`, temp files) matching `prefix`, refusing symlinks on the way. */
  private async walkPrefix(prefix: string, out: ObjectInfo[], temps: boolean): Promise<void> {
    const dirPart = prefix.slice(0, prefix.lastIndexOf('/') + 1); // "" or "a/b/"
    if (dirPart !== '') {
      await this.refuseLinkedParents(`${dirPart}x`);
      // the directory listed itself (refuseLinkedParents checked only its parents)
      const last = dirPart.slice(0, -1);
      const info = await lstat(join(this.root, ...last.split('/'))).catch(() => undefined);
      if (info?.isSymbolicLink()) throw this.linkError(prefix, last);
    }
    await this.walk(dirPart, prefix, out, temps);
  }

  private async walk(relDir: string, prefix: string, out: ObjectInfo[], temps: boolean, depth = 0): Promise<void> {
    assert(depth < 256, 'directory nesting deeper than 256 under storage root');
    const entries = await readdirOrEmpty(relDir === '' ? this.root : join(this.root, relDir));
    await Promise.all(
      entries.map(async (entry) => {
        const rel = relDir + entry.name;
        if (entry.isDirectory()) {
          const asDir = `${rel}/`;
          // Descend only where objects can match: the prefix is inside this dir, or the dir inside the prefix.
          if (prefix.startsWith(asDir) || asDir.startsWith(prefix)) await this.walk(asDir, prefix, out, temps, depth + 1);
          return;
        }
        if (entry.isSymbolicLink()) {
          // Skipping it would hide it; following it could reach outside the root.
          if (rel.startsWith(prefix) || prefix.startsWith(`${rel}/`)) throw this.linkError(prefix, rel);
          return;
        }
        if (!entry.isFile() || !rel.startsWith(prefix)) return;
        if (temps ? !isTempPath(rel) : entry.name.includes(TEMP_MARKER)) return;
        try {
          const info = await this.statLimit(() => lstat(join(this.root, rel)));
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

  /**
   * Throws PermanentStorageError if a directory between the root and `path` (exclusive of
   * both) is a symbolic link. A component that does not exist ends the check: nothing
   * below it exists either (mkdir creates real directories).
   */
  private async refuseLinkedParents(path: string): Promise<void> {
    const parts = path.split('/');
    let dir = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      dir = join(dir, parts[i]!);
      let info;
      try {
        info = await lstat(dir);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') return;
        throw err;
      }
      if (info.isSymbolicLink()) throw this.linkError(path, parts.slice(0, i + 1).join('/'));
      if (!info.isDirectory()) return;
    }
  }

  private linkError(path: string, link: string): PermanentStorageError {
    return new PermanentStorageError(
      `${this.label(path)}: ${this.label(link)} is a symbolic link; weir refuses symbolic links inside checkpoint storage (they can lead outside ${this.root})`,
    );
  }

  private resolvePath(path: string, temp = false): string {
    this.checkOpen();
    if (temp) validateTempPath(path);
    else validatePath(path);
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

/**
 * The synchronous twins of local-files.ts's publication, for the storage I/O thread
 * (io-thread-worker.ts): the same steps in the same order — refuse a symbolic link among
 * the parents, mkdir -p (fsyncing each new directory's parent), write or kernel-copy to a
 * temp name in the destination's directory, CRC-32C, fsync, rename, fsync the directory —
 * as plain syscalls on a thread that does nothing else.
 *
 * Why a thread and blocking calls: on a task thread every `await` of an fs promise waits
 * for the next turn of a busy event loop, and a publication is ~25 of them (each lstat of
 * the walk, open, copy, every 1 MiB read of the checksum, fsync, close, rename, the
 * directory's open/fsync/close). Measured in the live demo with 2 workers, a 1–3.6 MiB
 * table took 200–350 ms to upload that way, 8 ms with these calls on an idle thread
 * (docs/benchmarks.md, "Uploads on the storage I/O thread").
 *
 * Invariant (as local-files.ts): the destination is either untouched or holds the
 * complete bytes; on any error the temp file is removed (best effort), never renamed.
 */
import {
  closeSync, constants, copyFileSync, fsyncSync, lstatSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { crc32c, crc32cHex } from '../util/crc32c.ts';
import type { WriteResult } from './checkpoint-storage.ts';
import { tempPathFor } from './local-files.ts';

/** What a publication may fail with besides an fs error (which keeps its `code`). */
export class LinkedParentError extends Error {
  constructor(readonly linked: string) {
    super(`${linked} is a symbolic link`);
  }
}

/** The local file to upload is missing, unreadable or not a regular file (the caller's error, as checkLocalSource). */
export class BadSourceError extends Error {}

function checkSourceSync(src: string): void {
  let regular: boolean;
  try {
    regular = statSync(src).isFile();
  } catch (err) {
    throw new BadSourceError(`cannot upload ${src}: ${(err as Error).message}`);
  }
  if (!regular) throw new BadSourceError(`cannot upload ${src}: not a regular file`);
}

/**
 * The first parent of `path` (relative to `root`, '/'-separated) that is a symbolic link,
 * as a prefix of `path`; undefined when none is (a missing parent ends the walk: mkdir
 * creates it).
 */
export function linkedParentSync(root: string, path: string): string | undefined {
  const parts = path.split('/');
  let dir = root;
  for (let i = 0; i < parts.length - 1; i++) {
    dir = join(dir, parts[i]!);
    let info;
    try {
      info = lstatSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
    if (info.isSymbolicLink()) return parts.slice(0, i + 1).join('/');
    if (!info.isDirectory()) return undefined;
  }
  return undefined;
}

/** fsync a directory; some filesystems refuse (EINVAL/EISDIR/EPERM): ignored there, as fsyncDir. */
function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    closeSync(fd);
  }
}

/** mkdir -p + open(tmp, 'wx'), retried when a concurrent delete prunes the new directory (as openCreatingDirs). */
function openCreatingDirsSync(dir: string, tmp: string): number {
  for (let attempt = 1; ; attempt++) {
    const created = mkdirSync(dir, { recursive: true });
    if (created !== undefined) {
      for (let d = dir; d.length >= created.length; d = dirname(d)) {
        fsyncDirSync(dirname(d));
        if (d === created || dirname(d) === d) break;
      }
    }
    try {
      return openSync(tmp, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 8) throw err;
    }
  }
}

const CHUNK = 1 << 20;

function checksumFd(fd: number): WriteResult {
  const buf = Buffer.allocUnsafe(CHUNK);
  let size = 0;
  let crc = 0;
  for (;;) {
    const n = readSync(fd, buf, 0, CHUNK, size);
    if (n === 0) break;
    crc = crc32c(buf.subarray(0, n), crc);
    size += n;
  }
  return { size, checksum: crc32cHex(crc) };
}

/**
 * Publishes the bytes of `bytes` (write) or of the local file `src` (kernel copy, then the
 * checksum of the copy) at `dest`: temp, fsync, rename, fsync the directory.
 */
export function publishSync(dest: string, from: { readonly bytes: Uint8Array } | { readonly src: string }): WriteResult {
  if ('src' in from) checkSourceSync(from.src);
  const dir = dirname(dest);
  const tmp = tempPathFor(dest);
  let fd = openCreatingDirsSync(dir, tmp);
  let published = false;
  try {
    let result: WriteResult;
    if ('bytes' in from) {
      const b = from.bytes;
      for (let off = 0; off < b.length; ) off += writeSync(fd, b, off, b.length - off);
      result = { size: b.length, checksum: crc32cHex(crc32c(b)) };
    } else {
      closeSync(fd);
      fd = -1;
      copyFileSync(from.src, tmp, constants.COPYFILE_FICLONE);
      fd = openSync(tmp, 'r+');
      result = checksumFd(fd);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = -1;
    renameSync(tmp, dest);
    published = true;
    fsyncDirSync(dir);
    return result;
  } finally {
    if (fd >= 0) {
      try {
        closeSync(fd);
      } catch {
        // already failing
      }
    }
    if (!published) {
      try {
        rmSync(tmp, { force: true });
      } catch {
        // best effort: the original error is the one to report
      }
    }
  }
}

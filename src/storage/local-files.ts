/**
 * Local-filesystem helpers shared by the implementations: atomic "temp + fsync + rename
 * + fsync dir" publication of a file whose bytes come from a stream, with size and
 * CRC-32C computed while writing and optionally verified before the rename.
 *
 * Invariant: the destination is either untouched or holds the complete, verified bytes;
 * on any error the temp file is removed (best effort) and never renamed.
 */
import { randomBytes } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { copyFile, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { crc32c, crc32cHex } from '../util/crc32c.ts';
import { CorruptionError, PermanentStorageError, WeirError } from '../util/errors.ts';
import { TEMP_MARKER } from './paths.ts';
import type { WriteResult } from './checkpoint-storage.ts';

export interface Expectation {
  size?: number;
  checksum?: string;
}

/** A temp name next to `file`, in the same directory so rename() is atomic. */
export function tempPathFor(file: string): string {
  return join(dirname(file), `${basename(file)}${TEMP_MARKER}${randomBytes(6).toString('hex')}`);
}

/**
 * mkdir -p + open(tmp, 'wx'). A concurrent delete() may prune the just-created empty
 * directory before the open; then we create it again (bounded: 8 attempts).
 */
async function openCreatingDirs(dir: string, tmp: string): Promise<FileHandle> {
  for (let attempt = 1; ; attempt++) {
    const created = await mkdir(dir, { recursive: true });
    if (created !== undefined) await fsyncNewDirs(created, dir);
    try {
      return await open(tmp, 'wx');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' || attempt >= 8) throw err;
    }
  }
}

/**
 * mkdir created `first` … `last` (nested). Each new entry lives in its parent
 * directory, which must be fsynced for the directory itself to survive a crash.
 */
async function fsyncNewDirs(first: string, last: string): Promise<void> {
  const dirs: string[] = [];
  for (let d = last; d.length >= first.length; d = dirname(d)) {
    dirs.push(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
  for (const d of dirs) await fsyncDir(d);
}

/** fsync a directory so a rename inside it survives a crash. Some filesystems refuse: ignore EINVAL/EISDIR there. */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EPERM') throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Writes `source` to `dest` atomically. `label` names the object in errors (the storage
 * path, not the temp file). If `expect` is given, a size or checksum mismatch throws
 * CorruptionError(label) and leaves `dest` untouched.
 */
export async function writeFileAtomically(
  dest: string,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  label: string,
  expect?: Expectation,
): Promise<WriteResult> {
  const dir = dirname(dest);
  const tmp = tempPathFor(dest);
  let published = false;
  const handle = await openCreatingDirs(dir, tmp);
  try {
    let size = 0;
    let crc = 0;
    for await (const chunk of source) {
      const bytes = chunk instanceof Uint8Array ? chunk : new Uint8Array(chunk);
      if (bytes.length === 0) continue;
      crc = crc32c(bytes, crc);
      size += bytes.length;
      let off = 0;
      while (off < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, off, bytes.length - off);
        off += bytesWritten;
      }
    }
    const checksum = crc32cHex(crc);
    verify(label, { size, checksum }, expect);
    await handle.sync();
    await handle.close();
    await rename(tmp, dest);
    published = true;
    await fsyncDir(dir);
    return { size, checksum };
  } finally {
    if (!published) {
      await handle.close().catch(() => undefined);
      await rm(tmp, { force: true }).catch(() => undefined);
    }
  }
}

/**
 * Copies a local file to `dest` atomically with the kernel's copy (copy_file_range, or a
 * reflink where the filesystem has them) instead of streaming it through JS, then
 * checksums the COPY (what readers will get, read back from the page cache) and checks
 * it against `expect`. `durable` adds fsync of the file and of its directory: uploads
 * into checkpoint storage need it; downloads into a subtask's working directory do not
 * (after a crash a subtask restores from checkpoint storage again, never from them).
 * Measured (1 GiB in 64 files): streaming 2.6–2.7 s, copy + checksum + fsync 1.0–1.2 s.
 */
export async function copyFileAtomically(src: string, dest: string, label: string, expect: Expectation | undefined, durable: boolean): Promise<WriteResult> {
  const dir = dirname(dest);
  const tmp = tempPathFor(dest);
  let published = false;
  const handle = await openCreatingDirs(dir, tmp);
  await handle.close();
  try {
    await copyFile(src, tmp, constants.COPYFILE_FICLONE);
    const result = await checksumFile(tmp);
    verify(label, result, expect);
    if (durable) {
      const h = await open(tmp, 'r+');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    }
    await rename(tmp, dest);
    published = true;
    if (durable) await fsyncDir(dir);
    return result;
  } finally {
    if (!published) await rm(tmp, { force: true }).catch(() => undefined);
  }
}

export function verify(label: string, actual: WriteResult, expect: Expectation | undefined): void {
  if (!expect) return;
  if (expect.size !== undefined && expect.size !== actual.size) {
    throw new CorruptionError(label, undefined, `size ${actual.size} bytes, expected ${expect.size}`);
  }
  if (expect.checksum !== undefined && expect.checksum.toLowerCase() !== actual.checksum) {
    throw new CorruptionError(label, undefined, `CRC-32C ${actual.checksum}, expected ${expect.checksum.toLowerCase()}`);
  }
}

/** Reads a local file as a stream of chunks (for uploads). */
export function fileChunks(file: string, highWaterMark = 1 << 20): AsyncIterable<Uint8Array> {
  return createReadStream(file, { highWaterMark }) as AsyncIterable<Uint8Array>;
}

/** Size and CRC-32C of a local file, streaming. */
export async function checksumFile(file: string): Promise<WriteResult> {
  let size = 0;
  let crc = 0;
  for await (const chunk of fileChunks(file)) {
    crc = crc32c(chunk, crc);
    size += chunk.length;
  }
  return { size, checksum: crc32cHex(crc) };
}

export function checksumBytes(data: Uint8Array): WriteResult {
  return { size: data.length, checksum: crc32cHex(crc32c(data)) };
}

/**
 * Checks that a local file to upload exists and is a regular file; returns its size.
 * A missing or unreadable file is the caller's error, reported as permanent (not NotFound,
 * which is about objects in storage).
 */
export async function checkLocalSource(localFile: string): Promise<number> {
  try {
    const info = await stat(localFile);
    if (!info.isFile()) throw new PermanentStorageError(`cannot upload ${localFile}: not a regular file`);
    return info.size;
  } catch (err) {
    if (err instanceof WeirError) throw err;
    throw new PermanentStorageError(`cannot upload ${localFile}: ${(err as Error).message}`, { cause: err });
  }
}

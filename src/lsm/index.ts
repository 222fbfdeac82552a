/**
 * The LSM engine's public surface (DESIGN.md §1): the LsmStore contract (types.ts) and
 * the two ways to get a store — open a directory, or open from a snapshot's files.
 * Docs: docs/lsm.md. sstable format: ./sstable/format.ts.
 */
import { join } from 'node:path';
import { ConfigError, NotFoundError } from '../util/errors.ts';
import type { LsmOptions, LsmStore, OpenFromSnapshotOptions } from './types.ts';
import { openStoreSync, type LsmDependencies } from './store.ts';
import { decodeManifest, MANIFEST_NAME, writeManifestFile } from './version/manifest.ts';
import { realFs } from './vfs/real-fs.ts';
import type { Vfs } from './vfs/vfs.ts';
import { acquireDirLock } from './dir-lock.ts';
import { systemClock } from '../util/clock.ts';

export type * from './types.ts';
export type { LsmDependencies } from './store.ts';
export { StoreLockedError, LOCK_NAME, type LockHolder, type ProcessProbe } from './dir-lock.ts';

/**
 * Opens the store in options.dir (created if missing). A cleanly closed store reopens
 * with all its data; a directory without MANIFEST starts empty. Each open draws a new
 * session id, so files written by this incarnation never collide with earlier ones.
 */
export async function openLsm(options: LsmOptions & LsmDependencies): Promise<LsmStore> {
  await Promise.resolve();
  return openStoreSync(options);
}

/**
 * Opens a store in options.dir from a snapshot: hard-links (or copies, across
 * filesystems) every file the manifest lists from options.files into dir, writes the
 * manifest, then opens. dir must not already hold a store.
 */
export async function openLsmFromSnapshot(options: OpenFromSnapshotOptions & LsmDependencies): Promise<LsmStore> {
  const { dir } = options;
  const fs = options.fs ?? realFs;
  const where = `snapshot manifest for ${dir}`;
  const manifest = decodeManifest(options.manifest, where);
  fs.mkdirAll(dir);
  const lock = acquireDirLock(dir, fs, options.clock ?? systemClock, options.processProbe);
  try {
    if (fs.stat(join(dir, MANIFEST_NAME)) !== undefined) throw new ConfigError(`openLsmFromSnapshot: ${dir} already holds a store (MANIFEST exists)`);
    await placeSnapshotFiles(options, manifest.levels.flat(), fs);
    await writeManifestFile(dir, options.manifest, fs);
  } catch (err) {
    lock.release();
    throw err;
  }
  return openStoreSync(options, lock);
}

/** Hard-links (or copies) each file the snapshot manifest lists into options.dir. */
async function placeSnapshotFiles(options: OpenFromSnapshotOptions, listed: readonly { name: string; size: number }[], fs: Vfs): Promise<void> {
  const { dir } = options;
  for (const f of listed) {
    const src = options.files.get(f.name);
    if (src === undefined) throw new NotFoundError(`${f.name} (listed in the snapshot manifest, not among the given files)`);
    const dst = join(dir, f.name);
    const st = fs.stat(src);
    if (st === undefined) throw new NotFoundError(src);
    if (st.size !== f.size) throw new ConfigError(`openLsmFromSnapshot: ${src} has ${st.size} bytes, manifest says ${f.size}`);
    const have = fs.stat(dst);
    if (have !== undefined && have.size === f.size) continue;
    try {
      fs.link(src, dst);
    } catch {
      await fs.copyFileAsync(src, dst);
    }
  }
}

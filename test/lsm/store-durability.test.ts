/**
 * The durability order of flushes and compactions (issue 9 defect 4, docs/lsm.md
 * "Durability order"), checked through the engine's file-system interface:
 *
 *  1. write and sync the new tables;
 *  2. write and sync the MANIFEST that names them (and drops the inputs), rename it
 *     into place, sync the directory;
 *  3. only then install the version in memory, resolve flush(), and delete obsolete tables.
 *
 * LoggingFs records the operations; ErrorFs fails one operation of the MANIFEST write.
 * The expected operation trace of a flush + compaction is testdata/flush-compaction.fsops;
 * regenerate it (only when the order changes on purpose!) with
 *   WEIR_UPDATE_GOLDEN=1 node --import tsx --test test/lsm/store-durability.test.ts
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { openLsm } from '../../src/lsm/index.ts';
import type { LsmDependencies, LsmOptions, LsmStore } from '../../src/lsm/index.ts';
import { realProcessProbe } from '../../src/lsm/dir-lock.ts';
import { decodeManifest, MANIFEST_NAME } from '../../src/lsm/version/manifest.ts';
import { parseTableFileName } from '../../src/lsm/version/file-meta.ts';
import { ErrorFs, HookedFs, InjectedFsError, LoggingFs, onNth, realFs, type FsOp, type Vfs } from '../../src/lsm/vfs/index.ts';
import { ManualClock } from '../../src/util/clock.ts';
import { CorruptionError } from '../../src/util/errors.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));
const TRACE = new URL('./testdata/flush-compaction.fsops', import.meta.url);

function tmp(): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'weir-lsm-durable-'));
}

function options(dir: string, fs: Vfs): LsmOptions & LsmDependencies {
  return {
    dir, fs, useWorker: false, autoCompaction: false, memtableBytes: 1 << 20, blockSize: 256,
    clock: new ManualClock(1_700_000_000_000), random: () => 0.25,
    processProbe: { ...realProcessProbe, pid: 4242 }, // a stable LOCK temp name in the trace
  };
}

const key = (i: number): Uint8Array => enc(`k${String(i).padStart(3, '0')}`);

/** Two flushes of the same 40 keys (values `a` then `b`): two overlapping L0 tables. */
async function twoFlushes(db: LsmStore): Promise<void> {
  for (let i = 0; i < 40; i++) db.put(key(i), enc(`a${i}`));
  await db.flush();
  for (let i = 0; i < 40; i++) db.put(key(i), enc(`b${i}`));
  await db.flush();
}

function manifestNames(dir: string): Set<string> {
  const bytes = readFileSync(join(dir, MANIFEST_NAME));
  return new Set(decodeManifest(bytes, MANIFEST_NAME).levels.flat().map((f) => f.name));
}

/**
 * Tracks the durable MANIFEST: the one on disk when a directory sync that followed its
 * rename COMPLETED (so an operation running concurrently with that sync does not count).
 */
class DurableManifestFs extends HookedFs {
  durable = new Set<string>();
  private renamed = false;
  private readonly dir: string;
  constructor(inner: Vfs, dir: string, onOp: (op: FsOp) => void) {
    super(inner, (op) => {
      if (op.kind === 'rename' && op.to === join(dir, MANIFEST_NAME)) this.renamed = true;
      onOp(op);
    });
    this.dir = dir;
  }
  override async syncDirAsync(d: string): Promise<void> {
    const renamed = this.renamed;
    this.renamed = false;
    await super.syncDirAsync(d);
    if (d === this.dir && renamed) this.durable = manifestNames(this.dir);
  }
}

test('a compaction deletes its inputs only after the MANIFEST that drops them is durable (fs-op trace)', async () => {
  const root = tmp();
  try {
    const dir = join(root, 'db');
    const violations: string[] = [];
    let tableRemoves = 0;
    const logging = new LoggingFs(realFs, dir);
    const watch: DurableManifestFs = new DurableManifestFs(logging, dir, (op) => {
      if (op.kind !== 'remove' || parseTableFileName(basename(op.path)) === undefined) return;
      tableRemoves++;
      if (watch.durable.has(basename(op.path))) violations.push(`remove ${basename(op.path)} while the durable MANIFEST still names it`);
    });
    const db = await openLsm(options(dir, watch));
    await twoFlushes(db);
    const inputs = db.liveFiles().map((f) => f.name);
    assert.equal(inputs.length, 2, 'two L0 tables before the compaction');
    await db.compactRange();
    await db.waitForIdle();
    const trace = logging.lines().join('\n') + '\n';
    assert.equal(tableRemoves, 2, `the compaction deleted its 2 inputs:\n${trace}`);
    assert.deepEqual(violations, [], `deletion before the MANIFEST was durable:\n${trace}`);
    for (const name of inputs) assert.ok(!existsSync(join(dir, name)), `${name} deleted`);
    for (let i = 0; i < 40; i++) assert.equal(dec(db.get(key(i))), `b${i}`);
    await db.close();

    if (process.env['WEIR_UPDATE_GOLDEN'] === '1') writeFileSync(TRACE, trace);
    assert.equal(trace, readFileSync(TRACE, 'utf8'), 'the fs-op trace of two flushes and a compaction changed (testdata/flush-compaction.fsops)');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// Every operation of the MANIFEST write a compaction makes, failed in turn.
const manifestOps: [string, (dir: string) => (op: FsOp) => boolean][] = [
  ['create MANIFEST.tmp', () => (op) => op.kind === 'create' && op.path.endsWith('MANIFEST.tmp')],
  ['write MANIFEST.tmp', () => (op) => op.kind === 'write' && op.path.endsWith('MANIFEST.tmp')],
  ['sync MANIFEST.tmp', () => (op) => op.kind === 'sync' && op.path.endsWith('MANIFEST.tmp')],
  ['rename MANIFEST.tmp -> MANIFEST', () => (op) => op.kind === 'rename' && op.path.endsWith('MANIFEST.tmp')],
  ['sync of the directory', (dir) => (op) => op.kind === 'syncdir' && op.path === dir],
];

for (const [what, match] of manifestOps) {
  test(`an error at "${what}" of a compaction's MANIFEST: the store reopens with every file its MANIFEST names, no data lost`, async () => {
    const root = tmp();
    try {
      const dir = join(root, 'db');
      let armed = false;
      const fs = new ErrorFs(realFs, onNth(1, match(dir), () => armed));
      const db = await openLsm(options(dir, fs));
      await twoFlushes(db);
      await db.waitForIdle(); // arm only after every write of the setup finished
      armed = true;
      await assert.rejects(db.compactRange(), (err: Error) => {
        assert.ok(err instanceof InjectedFsError || err.cause instanceof InjectedFsError, `the injected error surfaces: ${err.message}`);
        return true;
      });
      assert.equal(fs.injected.length, 1, 'exactly one operation failed');
      await db.abandon();

      // Reopen with the real file system: every table the MANIFEST names is there, all data reads back.
      const names = manifestNames(dir);
      assert.ok(names.size > 0, 'the MANIFEST names tables');
      for (const n of names) assert.ok(existsSync(join(dir, n)), `${n} named by the MANIFEST exists`);
      const again = await openLsm({ dir, useWorker: false });
      for (let i = 0; i < 40; i++) assert.equal(dec(again.get(key(i))), `b${i}`, `key ${i}`);
      await again.close();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

test('flush() rejects when its MANIFEST cannot be made durable, and snapshot data waits for it too', async () => {
  const root = tmp();
  try {
    const dir = join(root, 'db');
    let armed = false;
    const fs = new ErrorFs(realFs, onNth(1, (op) => op.kind === 'sync' && op.path.endsWith('MANIFEST.tmp'), () => armed));
    const db = await openLsm(options(dir, fs));
    for (let i = 0; i < 40; i++) db.put(key(i), enc(`a${i}`));
    await db.flush();
    await db.waitForIdle(); // arm only after every write of the setup finished
    for (let i = 0; i < 40; i++) db.put(key(i), enc(`b${i}`));
    armed = true;
    const snap = db.snapshot();
    await assert.rejects(db.flush(), /injected EIO: sync .*MANIFEST\.tmp/);
    await assert.rejects(snap.ready(), /injected EIO/);
    snap.release();
    await db.abandon();
    // The first flush is durable; the second was reported failed and is not in the MANIFEST.
    const again = await openLsm({ dir, useWorker: false });
    for (let i = 0; i < 40; i++) assert.equal(dec(again.get(key(i))), `a${i}`);
    await again.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a MANIFEST naming a missing table is a CorruptionError naming the table', async () => {
  const root = tmp();
  try {
    const dir = join(root, 'db');
    const db = await openLsm({ dir, useWorker: false });
    db.put(enc('a'), enc('1'));
    await db.close();
    const [table] = [...manifestNames(dir)];
    assert.ok(table !== undefined);
    unlinkSync(join(dir, table));
    await assert.rejects(openLsm({ dir, useWorker: false }), (err: unknown) => {
      assert.ok(err instanceof CorruptionError, `typed: ${String(err)}`);
      assert.equal(err.file, join(dir, table));
      assert.match(err.message, /MANIFEST/);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('stats time the background jobs: flush queueing and running, compaction running', async () => {
  const root = tmp();
  try {
    const db = await openLsm({ dir: join(root, 'db'), useWorker: false, autoCompaction: false });
    await twoFlushes(db);
    await db.compactRange();
    const st = db.stats();
    assert.equal(st.flushes, 2);
    assert.equal(st.compactions, 1);
    assert.ok(st.flushRunMillis > 0 && st.compactionRunMillis > 0, JSON.stringify(st));
    assert.ok(st.flushQueuedMillis >= st.flushQueuedMaxMillis && st.flushQueuedMaxMillis >= 0);
    await db.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

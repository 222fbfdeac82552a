/**
 * File lifecycle of the LsmStore: pins (snapshots, iterators) keep obsolete files on
 * disk until released; reopen; naming; stats; write stalls; corrupt or missing inputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLsm, openLsmFromSnapshot } from '../../src/lsm/index.ts';
import type { LsmOptions } from '../../src/lsm/index.ts';
import { ManualClock } from '../../src/util/clock.ts';
import { ConfigError, CorruptionError, NotFoundError, StateError } from '../../src/util/errors.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

function tmp(): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'weir-lsm-files-'));
}

function small(dir: string, extra: Partial<LsmOptions> = {}): LsmOptions {
  return { dir, useWorker: false, autoCompaction: false, memtableBytes: 4096, targetFileBytes: 2048, levelBaseBytes: 8192, l0CompactionTrigger: 2, blockSize: 256, ...extra };
}

test('a file pinned by a snapshot survives the compaction that obsoletes it and is deleted after release', async () => {
  const root = tmp();
  try {
    const db = await openLsm(small(join(root, 'db'), { memtableBytes: 1 << 20 }));
    for (let i = 0; i < 50; i++) db.put(enc(`k${i}`), enc(`v${i}`));
    const snap = db.snapshot();
    db.put(enc('k0'), enc('after-snapshot'));
    const files = await snap.ready();
    assert.equal(files.files.length, 1);
    const pinned = files.files[0]!;
    assert.ok(existsSync(pinned.path));
    await db.flush();
    await db.compactRange();
    assert.ok(!db.liveFiles().some((f) => f.name === pinned.name), 'compaction replaced the pinned file');
    assert.ok(existsSync(pinned.path), 'pinned file must survive');
    assert.ok(db.stats().obsoleteFilesHeld >= 1);
    assert.equal(db.stats().pinnedSnapshots, 1);

    // The snapshot still opens to exactly its data.
    const restored = await openLsmFromSnapshot({ ...small(join(root, 'restored')), files: new Map([[pinned.name, pinned.path]]), manifest: files.manifest });
    assert.equal(dec(restored.get(enc('k0'))), 'v0');
    assert.equal(dec(restored.get(enc('k49'))), 'v49');
    await restored.close();

    snap.release();
    snap.release(); // idempotent
    await db.waitForIdle();
    assert.ok(!existsSync(pinned.path), 'released obsolete file must be deleted');
    assert.equal(db.stats().obsoleteFilesHeld, 0);
    assert.equal(db.stats().pinnedSnapshots, 0);
    await assert.rejects(snap.ready(), StateError);
    await db.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an open iterator pins its files and its view; closing it lets them go', async () => {
  const root = tmp();
  try {
    const db = await openLsm(small(join(root, 'db')));
    for (let i = 0; i < 40; i++) db.put(enc(`k${String(i).padStart(2, '0')}`), enc('a'));
    await db.flush();
    const before = db.liveFiles().map((f) => f.path);
    const it = db.scan({ prefix: enc('k1') });
    for (let i = 0; i < 40; i++) db.put(enc(`k${String(i).padStart(2, '0')}`), enc('b'));
    db.deleteRange(enc('k0'), enc('k2'));
    await db.flush();
    await db.compactRange();
    for (const p of before) assert.ok(existsSync(p));
    const seen = [...it].map(([k, v]) => `${dec(k)}=${dec(v)}`);
    assert.deepEqual(seen, Array.from({ length: 10 }, (_, i) => `k1${i}=a`));
    await db.waitForIdle();
    for (const p of before) assert.ok(!existsSync(p), 'exhausted iterator released its files');
    assert.deepEqual([...db.scan({ prefix: enc('k1') })], []);
    await db.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('reopen: a cleanly closed store has all its data, continues sequences, names files by number and session', async () => {
  const root = tmp();
  const dir = join(root, 'db');
  try {
    const db = await openLsm({ ...small(dir, { autoCompaction: true }), random: () => 0.5 });
    for (let i = 0; i < 300; i++) db.put(enc(`key${i % 120}`), enc(`val${i}`));
    db.delete(enc('key7'));
    db.deleteRange(enc('key10'), enc('key11'));
    await db.close();
    await assert.rejects(async () => db.put(enc('x'), enc('y')), StateError);
    const names = readdirSync(dir).filter((n) => n.endsWith('.sst'));
    assert.ok(names.length > 0);
    for (const n of names) assert.match(n, /^\d{6}-80000000\.sst$/);

    const db2 = await openLsm({ ...small(dir), random: () => 0.25 });
    assert.equal(dec(db2.get(enc('key5'))), 'val245');
    assert.equal(db2.get(enc('key7')), undefined);
    assert.equal(db2.get(enc('key10')), undefined);
    assert.equal(db2.get(enc('key100')), undefined);
    assert.equal(db2.get(enc('key101')), undefined); // 'key101' is inside [key10, key11)
    assert.equal(dec(db2.get(enc('key111'))), 'val231');
    // New writes shadow old ones (sequence numbers continue from the manifest).
    db2.put(enc('key5'), enc('newer'));
    await db2.flush();
    await db2.compactRange();
    assert.equal(dec(db2.get(enc('key5'))), 'newer');
    assert.equal([...db2.scan()].length, 120 - 1 - 11);
    assert.ok(db2.liveFiles().every((f) => f.name.endsWith('-40000000.sst') || names.includes(f.name)));
    await db2.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('stats: write amplification > 1 after compactions, levels, ingest and cache counters', async () => {
  const root = tmp();
  try {
    const db = await openLsm(small(join(root, 'db'), { autoCompaction: true, useWorker: true }));
    let ingested = 0;
    for (let round = 0; round < 20; round++) {
      for (let i = 0; i < 100; i++) {
        const k = enc(`k${(i * 37 + round) % 500}`);
        db.put(k, new Uint8Array(24).fill(round));
        ingested += k.length + 24;
      }
      await db.waitForWriteCapacity();
    }
    await db.flush();
    await db.waitForIdle();
    const st = db.stats();
    assert.ok(st.flushes >= 2, `flushes ${st.flushes}`);
    assert.ok(st.compactions >= 1, `compactions ${st.compactions}`);
    assert.ok(st.writeAmplification > 1, `write amp ${st.writeAmplification}`);
    assert.equal(st.bytesIngested, ingested);
    assert.ok(st.levels.slice(1).some((l) => l.files > 0));
    assert.equal(st.levels.reduce((n, l) => n + l.files, 0), db.liveFiles().length);
    for (let i = 0; i < 500; i++) db.get(enc(`k${i}`));
    const st2 = db.stats();
    assert.ok(st2.blockCacheHits + st2.blockCacheMisses > 0);
    assert.ok(st2.openTables > 0);
    await db.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('write stall: too many sealed memtables stall writers until the flush lands', async () => {
  const root = tmp();
  try {
    const clock = new ManualClock(1000);
    const db = await openLsm({ ...small(join(root, 'db'), { memtableBytes: 512, maxSealedMemtables: 1 }), clock });
    assert.equal(db.writeStalled, false);
    for (let i = 0; i < 10; i++) db.put(enc(`k${i}`), new Uint8Array(64));
    assert.equal(db.writeStalled, true);
    await db.waitForWriteCapacity();
    assert.equal(db.writeStalled, false);
    assert.equal(db.stats().stallMillis, 0); // the manual clock did not move
    await db.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('corrupt manifest and missing snapshot files are typed errors', async () => {
  const root = tmp();
  try {
    const dir = join(root, 'db');
    const db = await openLsm(small(dir));
    db.put(enc('a'), enc('b'));
    const snap = db.snapshot();
    const files = await snap.ready();
    await assert.rejects(
      openLsmFromSnapshot({ ...small(join(root, 'r')), files: new Map(), manifest: files.manifest }),
      NotFoundError,
    );
    snap.release();
    await db.close();
    await assert.rejects(openLsm(small(dir, { numLevels: 3 })), ConfigError);
    await assert.rejects(openLsm(small(dir, { memtableBytes: -1 })), ConfigError);
    const m = join(dir, 'MANIFEST');
    writeFileSync(m, 'weir-lsm-manifest 1\n{"lastSequence":1}\ncrc32c 00000000\n');
    await assert.rejects(openLsm(small(dir)), CorruptionError);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('compaction reclaims space: deleted keys and their tombstones disappear at the bottom level', async () => {
  const root = tmp();
  try {
    for (const mode of ['point', 'range'] as const) {
      const db = await openLsm(small(join(root, mode), { useWorker: mode === 'range' }));
      for (let i = 0; i < 400; i++) db.put(enc(`k${String(i).padStart(4, '0')}`), new Uint8Array(16).fill(i));
      await db.compactRange();
      assert.ok(db.stats().levels.filter((l) => l.level > 0).some((l) => l.files > 0));
      assert.ok(db.liveFiles().length > 1, 'several output files (split at targetFileBytes)');
      db.put(enc('keep'), enc('me'));
      if (mode === 'point') for (let i = 0; i < 400; i++) db.delete(enc(`k${String(i).padStart(4, '0')}`));
      else db.deleteRange(enc('k'), enc('k9999'));
      await db.compactRange();
      const files = db.liveFiles();
      assert.equal(files.reduce((n, f) => n + f.entries, 0), 1, `only 'keep' survives (${mode})`);
      assert.deepEqual([...db.scan()].map(([k, v]) => `${dec(k)}=${dec(v)}`), ['keep=me']);
      await db.close();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/**
 * Model-based property tests of the LsmStore: random sequences of writes (puts, merge
 * operands = appends, deletes, range deletes), reads, scans, flushes, compactions,
 * reopen, snapshot → openLsmFromSnapshot and held iterators, checked against a plain Map. Budgets are tiny so that flushes, L0→L1
 * and deeper compactions, tombstone dropping and trivial moves all really happen.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { openLsm, openLsmFromSnapshot } from '../../src/lsm/index.ts';
import type { LsmIterator, LsmOptions, LsmSnapshot, LsmStore, ScanOptions } from '../../src/lsm/index.ts';
import { compareBytes, prefixSuccessor, toHex } from '../../src/util/bytes.ts';

type Model = Map<string, { key: Uint8Array; value: Uint8Array }>;

type Op =
  | { t: 'put'; k: Uint8Array; v: Uint8Array }
  | { t: 'merge'; k: Uint8Array; v: Uint8Array }
  | { t: 'del'; k: Uint8Array }
  | { t: 'delRange'; a: Uint8Array; b: Uint8Array }
  | { t: 'get'; k: Uint8Array }
  | { t: 'scan'; o: ScanOptions }
  | { t: 'batch'; ops: BatchEntry[] }
  | { t: 'flush' }
  | { t: 'compactOnce' }
  | { t: 'compactRange'; a?: Uint8Array; b?: Uint8Array }
  | { t: 'reopen' }
  | { t: 'snapshot' }
  | { t: 'snapshotCheck' }
  | { t: 'hold'; o: ScanOptions }
  | { t: 'checkHeld' }
  | { t: 'idle' }
  | { t: 'fill'; base: Uint8Array; n: number; seed: number };

type BatchEntry =
  | { t: 'put'; k: Uint8Array; v: Uint8Array }
  | { t: 'merge'; k: Uint8Array; v: Uint8Array }
  | { t: 'del'; k: Uint8Array }
  | { t: 'delRange'; a: Uint8Array; b: Uint8Array };

const keyArb = fc.uint8Array({ minLength: 1, maxLength: 3, min: 0, max: 4 });
const valArb = fc.uint8Array({ minLength: 0, maxLength: 40 });
const putArb = fc.record({ t: fc.constant('put' as const), k: keyArb, v: valArb });
const delArb = fc.record({ t: fc.constant('del' as const), k: keyArb });
// Merge operands go to few keys (so long operand chains cross memtables, levels and deletes).
const mergeKeyArb = fc.uint8Array({ minLength: 1, maxLength: 2, min: 0, max: 2 });
const mergeArb = fc.record({ t: fc.constant('merge' as const), k: mergeKeyArb, v: fc.uint8Array({ minLength: 0, maxLength: 6 }) });
const delRangeArb = fc.record({ t: fc.constant('delRange' as const), a: keyArb, b: keyArb });
const scanOptsArb: fc.Arbitrary<ScanOptions> = fc.record(
  { start: keyArb, end: keyArb, prefix: fc.uint8Array({ minLength: 1, maxLength: 2, min: 0, max: 4 }), reverse: fc.boolean() },
  { requiredKeys: [] },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 30, arbitrary: putArb },
  { weight: 20, arbitrary: mergeArb },
  { weight: 6, arbitrary: delArb },
  { weight: 3, arbitrary: delRangeArb },
  { weight: 10, arbitrary: fc.record({ t: fc.constant('get' as const), k: keyArb }) },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('scan' as const), o: scanOptsArb }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('batch' as const), ops: fc.array(fc.oneof({ weight: 5, arbitrary: putArb }, { weight: 4, arbitrary: mergeArb }, delArb, delRangeArb), { maxLength: 8 }) }) },
  { weight: 3, arbitrary: fc.constant({ t: 'flush' as const }) },
  { weight: 3, arbitrary: fc.constant({ t: 'compactOnce' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('compactRange' as const), a: keyArb, b: keyArb }, { requiredKeys: ['t'] }) },
  { weight: 1, arbitrary: fc.constant({ t: 'reopen' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'snapshot' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'snapshotCheck' as const }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('hold' as const), o: scanOptsArb }) },
  { weight: 2, arbitrary: fc.constant({ t: 'checkHeld' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'idle' as const }) },
  // Many puts at once, so that cases build several levels.
  { weight: 4, arbitrary: fc.record({ t: fc.constant('fill' as const), base: fc.uint8Array({ maxLength: 1, min: 0, max: 4 }), n: fc.integer({ min: 5, max: 40 }), seed: fc.nat(255) }) },
);

function fillOps(op: { base: Uint8Array; n: number; seed: number }): { t: 'put'; k: Uint8Array; v: Uint8Array }[] {
  const out: { t: 'put'; k: Uint8Array; v: Uint8Array }[] = [];
  for (let i = 0; i < op.n; i++) {
    const k = new Uint8Array(op.base.length + 2);
    k.set(op.base, 0);
    k[op.base.length] = (i * 7 + op.seed) % 5;
    k[op.base.length + 1] = (i + op.seed) % 5;
    out.push({ t: 'put', k, v: Uint8Array.of(op.seed, i, 1, 2, 3, 4, 5, 6) });
  }
  return out;
}

function applyModel(m: Model, op: Op): void {
  if (op.t === 'put') m.set(toHex(op.k), { key: op.k.slice(), value: op.v.slice() });
  else if (op.t === 'merge') {
    const old = m.get(toHex(op.k))?.value ?? new Uint8Array(0);
    const v = new Uint8Array(old.length + op.v.length);
    v.set(old, 0);
    v.set(op.v, old.length);
    m.set(toHex(op.k), { key: op.k.slice(), value: v });
  }
  else if (op.t === 'del') m.delete(toHex(op.k));
  else if (op.t === 'fill') for (const p of fillOps(op)) applyModel(m, p);
  else if (op.t === 'delRange') {
    for (const [h, e] of [...m]) if (compareBytes(e.key, op.a) >= 0 && compareBytes(e.key, op.b) < 0) m.delete(h);
  }
}

function modelScan(m: Model, o: ScanOptions): [string, string][] {
  let lo = o.start;
  let hi = o.end;
  if (o.prefix !== undefined) {
    if (lo === undefined || compareBytes(lo, o.prefix) < 0) lo = o.prefix;
    const s = prefixSuccessor(o.prefix);
    if (s !== undefined && (hi === undefined || compareBytes(s, hi) < 0)) hi = s;
  }
  const out = [...m.values()]
    .filter((e) => (lo === undefined || compareBytes(e.key, lo) >= 0) && (hi === undefined || compareBytes(e.key, hi) < 0))
    .sort((a, b) => compareBytes(a.key, b.key))
    .map((e): [string, string] => [toHex(e.key), toHex(e.value)]);
  return o.reverse === true ? out.reverse() : out;
}

function drain(it: LsmIterator): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of it) out.push([toHex(k), toHex(v)]);
  return out;
}

function smallOptions(dir: string, useWorker: boolean, autoCompaction: boolean, compression: LsmOptions['compression'] = 'none'): LsmOptions {
  return {
    dir,
    useWorker,
    autoCompaction,
    memtableBytes: 1500,
    targetFileBytes: 700,
    levelBaseBytes: 2000,
    levelMultiplier: 2,
    l0CompactionTrigger: 2,
    numLevels: 4,
    blockSize: 128,
    restartInterval: 4,
    blockCacheBytes: 64 * 1024,
    maxOpenFiles: 8,
    compression,
  };
}

async function runCase(ops: Op[], useWorker: boolean, autoCompaction: boolean, compression: LsmOptions['compression'] = 'none'): Promise<void> {
  const root = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'weir-lsm-model-'));
  let dirN = 0;
  const dir = join(root, 'main');
  const opts = smallOptions(dir, useWorker, autoCompaction, compression);
  let db: LsmStore = await openLsm(opts);
  const model: Model = new Map();
  const held: { it: LsmIterator; expected: [string, string][] }[] = [];
  const snaps: { s: LsmSnapshot; expected: Model }[] = [];
  const checkSnapshot = async (): Promise<void> => {
    const p = snaps.shift();
    if (p === undefined) return;
    const files = await p.s.ready();
    const restoreDir = join(root, `restore-${dirN++}`);
    const restored = await openLsmFromSnapshot({ ...smallOptions(restoreDir, false, true), files: new Map(files.files.map((f) => [f.name, f.path])), manifest: files.manifest });
    try {
      assert.deepEqual(drain(restored.scan()), modelScan(p.expected, {}), 'restored snapshot differs from the model at snapshot time');
      for (const e of p.expected.values()) assert.deepEqual(restored.get(e.key), e.value);
      // The restored store is writable, and its new files do not collide with the originals.
      restored.put(Uint8Array.of(9), Uint8Array.of(1));
      await restored.flush();
      const names = new Set(files.files.map((f) => f.name));
      assert.ok(restored.liveFiles().some((f) => !names.has(f.name)));
    } finally {
      await restored.close();
      p.s.release();
    }
  };
  try {
    for (const op of ops) {
      switch (op.t) {
        case 'put':
          db.put(op.k, op.v);
          break;
        case 'merge':
          db.merge(op.k, op.v);
          break;
        case 'del':
          db.delete(op.k);
          break;
        case 'fill':
          for (const p of fillOps(op)) db.put(p.k, p.v);
          break;
        case 'delRange':
          db.deleteRange(op.a, op.b);
          break;
        case 'get': {
          const got = db.get(op.k);
          const want = model.get(toHex(op.k))?.value;
          assert.deepEqual(got === undefined ? undefined : toHex(got), want === undefined ? undefined : toHex(want), `get ${toHex(op.k)}`);
          break;
        }
        case 'scan':
          assert.deepEqual(drain(db.scan(op.o)), modelScan(model, op.o), `scan ${JSON.stringify(op.o)}`);
          break;
        case 'batch': {
          const b = db.batch();
          for (const x of op.ops) {
            if (x.t === 'put') b.put(x.k, x.v);
            else if (x.t === 'merge') b.merge(x.k, x.v);
            else if (x.t === 'del') b.delete(x.k);
            else b.deleteRange(x.a, x.b);
          }
          assert.equal(b.count, op.ops.length);
          db.write(b);
          for (const x of op.ops) applyModel(model, x);
          break;
        }
        case 'flush':
          await db.flush();
          break;
        case 'compactOnce':
          await db.compactOnce();
          break;
        case 'compactRange':
          await db.compactRange(op.a, op.b);
          break;
        case 'idle':
          await db.waitForIdle();
          break;
        case 'reopen':
          for (const h of held.splice(0)) assert.deepEqual(drain(h.it), h.expected, 'held iterator before reopen');
          for (let i = snaps.length; i > 0; i--) await checkSnapshot();
          await db.close();
          db = await openLsm(opts);
          break;
        case 'snapshot':
          snaps.push({ s: db.snapshot(), expected: new Map(model) });
          break;
        case 'snapshotCheck':
          await checkSnapshot();
          break;
        case 'hold':
          held.push({ it: db.scan(op.o), expected: modelScan(model, op.o) });
          break;
        case 'checkHeld': {
          const h = held.shift();
          if (h !== undefined) assert.deepEqual(drain(h.it), h.expected, 'held iterator saw later writes');
          break;
        }
      }
      applyModel(model, op);
    }
    for (const h of held.splice(0)) assert.deepEqual(drain(h.it), h.expected, 'held iterator at end');
    for (let i = snaps.length; i > 0; i--) await checkSnapshot();
    assert.deepEqual(drain(db.scan()), modelScan(model, {}), 'final scan');
    await db.compactRange();
    assert.deepEqual(drain(db.scan({ reverse: true })), modelScan(model, { reverse: true }), 'final reverse scan after compactRange');
    await db.close();
    db = await openLsm(opts);
    assert.deepEqual(drain(db.scan()), modelScan(model, {}), 'scan after final reopen');
    const st = db.stats();
    assert.equal(st.pinnedSnapshots, 0);
    assert.equal(st.obsoleteFilesHeld, 0);
  } finally {
    for (const h of held) h.it.close();
    for (const p of snaps) p.s.release();
    await db.close().catch(() => {});
    rmSync(root, { recursive: true, force: true });
  }
}

test('LsmStore matches a sorted-map model (inline jobs)', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArb, { minLength: 1, maxLength: 100, size: 'max' }), fc.boolean(), fc.constantFrom('none' as const, 'lz4' as const, 'snappy' as const),
      async (ops, auto, compression) => runCase(ops, false, auto, compression),
    ),
    { numRuns: Number(process.env.WEIR_LSM_RUNS ?? 1000), endOnFailure: process.env.WEIR_LSM_NO_SHRINK === '1' },
  );
});

test('LsmStore matches a sorted-map model (worker thread jobs)', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 100, size: 'max' }), async (ops) => runCase(ops, true, true)),
    { numRuns: Number(process.env.WEIR_LSM_WORKER_RUNS ?? 30), endOnFailure: process.env.WEIR_LSM_NO_SHRINK === '1' },
  );
});

/**
 * The lsm backend's timers live in its store (src/state/lsm-timers.ts): checked against a
 * model through fired, deleted and re-registered timers, incremental checkpoints, restores
 * at parallelism 1 and 2, and a checkpoint from before the change (timers in the meta
 * file, testdata/meta-timers-lsm-checkpoint) that must restore and keep its timers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { createLsmBackend } from '../../src/state/lsm-backend.ts';
import { parseTimerKey, timerKey } from '../../src/state/lsm-timers.ts';
import { decodeMeta, readVerified } from '../../src/state/snapshot-meta.ts';
import { keyGroupRangeForSubtask } from '../../src/state/key-groups.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import type { KeyedStateBackend } from '../../src/state/index.ts';
import type { KeyedStateHandle } from '../../src/state/handles.ts';
import type { CheckpointStorage } from '../../src/storage/checkpoint-storage.ts';
import { makeEnv } from './keyed-state-contract.ts';

const open = (o: Parameters<typeof createLsmBackend>[0]) => createLsmBackend({ ...o, timers: 'store', lsmOptions: { useWorker: false, autoCompaction: false, memtableBytes: 64 * 1024 } });
const openMetaTimers = (o: Parameters<typeof createLsmBackend>[0]) => createLsmBackend({ ...o, lsmOptions: { useWorker: false, autoCompaction: false, memtableBytes: 64 * 1024 } });

async function checkpoint(b: KeyedStateBackend, id: number): Promise<KeyedStateHandle> {
  const h = await b.snapshot({ jobPath: 'job', checkpointId: id, kind: 'checkpoint' }).done;
  b.notifyCheckpointComplete(id);
  return h;
}

async function metaOf(storage: CheckpointStorage, h: KeyedStateHandle) {
  const f = h.privateFiles.find((p) => p.name === 'meta')!;
  return decodeMeta(await readVerified(storage, f.path, f.size, f.checksum), f.path);
}

/** Every timer of `b` (polled to the end, so `b` is spent), as "domain key ts ns" lines. */
function drain(b: KeyedStateBackend): string[] {
  const out: string[] = [];
  for (const domain of ['event', 'processing'] as const) {
    for (const t of b.pollTimers(domain, Number.POSITIVE_INFINITY)) out.push(`${domain} ${String(t.key)} ${t.timestamp} ${JSON.stringify(t.namespace ?? null)}`);
  }
  return out.sort();
}

test('lsm timers: store key round trip, and byte order = (domain, timestamp) order', () => {
  const ts = fc.oneof(fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), fc.double({ noNaN: true, noDefaultInfinity: true }));
  fc.assert(fc.property(ts, ts, fc.boolean(), fc.uint8Array({ minLength: 2, maxLength: 12 }), (a, b, proc, keyNs) => {
    const domain = proc ? 'processing' : 'event';
    const ka = timerKey(7, 3, domain, a, keyNs);
    const kb = timerKey(7, 3, domain, b, keyNs);
    const pa = parseTimerKey(ka);
    assert.equal(pa.timestamp, a + 0);
    assert.equal(pa.keyGroup, 7);
    assert.equal(pa.domain, domain);
    assert.deepEqual(pa.keyNs, keyNs);
    const byteOrder = Buffer.compare(ka, kb);
    assert.equal(byteOrder, Math.sign(a - b) || 0, `${a} vs ${b}`);
  }), { numRuns: 2000 });
  assert.ok(Buffer.compare(timerKey(0, 1, 'event', 1e15, Uint8Array.of(1, 0)), timerKey(0, 1, 'processing', -1e15, Uint8Array.of(1, 0))) < 0, 'event timers sort before processing timers');
});

test('lsm timers: in the store, not the meta file; fired and deleted ones stay gone; incremental; restore at 1 and 2 = the model', async () => {
  const maxP = 64;
  const env = await makeEnv(open, maxP);
  try {
    const b = await env.open();
    const model = new Set<string>();
    const line = (domain: string, k: number, ts: number, ns: unknown) => `${domain} ${k} ${ts} ${JSON.stringify(ns ?? null)}`;
    const keys = 3000;
    for (let k = 0; k < keys; k++) {
      b.setCurrentKey(k);
      b.registerTimer('event', 1000 + k);
      model.add(line('event', k, 1000 + k, undefined));
      if (k % 3 === 0) {
        b.registerTimer('processing', -k, { w: k });
        model.add(line('processing', k, -k, { w: k }));
      }
    }
    const h1 = await checkpoint(b, 1);
    const m1 = await metaOf(env.storage, h1);
    assert.equal(m1.formatVersion, 2);
    assert.deepEqual(m1.timers, [], 'no timer in the meta file');
    assert.ok(m1.states.some((s) => s.kind === 'timers'), 'the timer state is in the state list');

    // Fire the earliest 500 event timers, delete 100 more, register 50 new ones.
    const fired = b.pollTimers('event', 1000 + 499);
    assert.equal(fired.length, 500);
    for (const t of fired) model.delete(line('event', t.key as number, t.timestamp, undefined));
    for (let k = 600; k < 700; k++) {
      b.setCurrentKey(k);
      b.deleteTimer('event', 1000 + k);
      model.delete(line('event', k, 1000 + k, undefined));
    }
    b.setCurrentKey(5);
    b.deleteTimer('event', 123_456); // no such timer: nothing changes
    for (let k = 0; k < 50; k++) {
      b.setCurrentKey(k);
      b.registerTimer('event', 50_000 + k, `n${k}`);
      model.add(line('event', k, 50_000 + k, `n${k}`));
    }
    const h2 = await checkpoint(b, 2);
    assert.deepEqual((await metaOf(env.storage, h2)).timers, []);
    assert.ok(h2.sharedFiles.some((f) => f.reused), 'checkpoint 2 reuses checkpoint 1\'s sstables');
    assert.ok(h2.incrementalSize < h1.incrementalSize / 3, `checkpoint 2 uploads only the timer changes: ${h2.incrementalSize} B vs ${h1.incrementalSize} B`);

    const one = await env.open({ restoreFrom: [h2] });
    assert.deepEqual(drain(one), [...model].sort(), 'restored at parallelism 1');
    const two = await Promise.all([0, 1].map((i) => env.open({ subtaskIndex: i, keyGroupRange: keyGroupRangeForSubtask(maxP, 2, i), restoreFrom: [h2] })));
    const halves = two.map(drain);
    assert.ok(halves[0]!.length > 0 && halves[1]!.length > 0, 'both subtasks got timers');
    assert.deepEqual([...halves[0]!, ...halves[1]!].sort(), [...model].sort(), 'restored at parallelism 2: each key group\'s timers once');
    assert.equal(model.size, keys - 600 + keys / 3 + 50);
  } finally {
    await env.cleanup();
  }
});

test('lsm timers: a timer that lives and dies between two checkpoints never reaches the store (session windows move theirs on every record)', async () => {
  const env = await makeEnv(open, 64);
  try {
    const b = await env.open();
    const keys = 2000;
    for (let k = 0; k < keys; k++) {
      b.setCurrentKey(k);
      b.registerTimer('event', 10_000 + k);
    }
    const h1 = await checkpoint(b, 1);
    // Every key's timer moves 20 times (delete, register later), then 500 of them fire.
    for (let step = 1; step <= 20; step++) {
      for (let k = 0; k < keys; k++) {
        b.setCurrentKey(k);
        b.deleteTimer('event', 10_000 + k + (step - 1) * 100_000);
        b.registerTimer('event', 10_000 + k + step * 100_000);
      }
    }
    const h2 = await checkpoint(b, 2);
    // The store gets one delete (the timer of checkpoint 1) and one put (the last one) per
    // key: about twice checkpoint 1's timer bytes, not 20 times.
    assert.ok(h2.incrementalSize < 3 * h1.incrementalSize, `checkpoint 2 uploaded ${h2.incrementalSize} B, checkpoint 1 ${h1.incrementalSize} B`);
    const r = await env.open({ restoreFrom: [h2] });
    const timers = r.pollTimers('event', Number.POSITIVE_INFINITY);
    assert.equal(timers.length, keys);
    assert.ok(timers.every((t) => t.timestamp === 10_000 + (t.key as number) + 20 * 100_000), 'only each key\'s last timer is there');
  } finally {
    await env.cleanup();
  }
});

test('lsm timers: a checkpoint from before timers moved into the store (timers in its meta file) restores, and its timers survive the next checkpoint', async () => {
  const fixture = join(import.meta.dirname, 'testdata', 'meta-timers-lsm-checkpoint');
  const root = await mkdtemp(join(tmpdir(), 'weir-metatimers-'));
  await cp(join(fixture, 'storage'), root, { recursive: true });
  const handle = JSON.parse(await readFile(join(fixture, 'handle.json'), 'utf8')) as KeyedStateHandle;
  const storage = new LocalStorage({ root });
  const oldMeta = await metaOf(storage, handle);
  assert.equal(oldMeta.formatVersion, 1);
  assert.equal(oldMeta.timers.length, 90, 'the fixture lists its timers in the meta file');
  const env = await makeEnv((o) => createLsmBackend({ ...o, storage, timers: 'store', lsmOptions: { useWorker: false } }), handle.maxParallelism);
  // What make-meta-timers-checkpoint.ts wrote: key k (0..59) has the value k * 10, an event
  // timer at 1000 + k and, for odd k, a processing timer at k in the namespace { w: k }.
  const expected: string[] = [];
  for (let k = 0; k < 60; k++) {
    expected.push(`event ${k} ${1000 + k} null`);
    if (k % 2 === 1) expected.push(`processing ${k} ${k} ${JSON.stringify({ w: k })}`);
  }
  expected.sort();
  try {
    const b = await env.open({ restoreFrom: [handle] });
    b.setCurrentKey(7);
    assert.equal(b.getValueState<number>('v').value(), 70);
    const h = await checkpoint(b, 2);
    assert.deepEqual((await metaOf(storage, h)).timers, [], 'the new checkpoint keeps them in the store');
    assert.deepEqual(drain(b), expected, 'restored from the meta file');
    const again = await env.open({ restoreFrom: [h] });
    assert.deepEqual(drain(again), expected, 'restored from the next checkpoint\'s store');
  } finally {
    await env.cleanup();
    await rm(root, { recursive: true, force: true });
  }
});

test('lsm timers: the default lists them in the meta file; a checkpoint of either mode restores into the other, and no fired timer comes back', async () => {
  const env = await makeEnv(open, 64);
  const metaEnv = await makeEnv(openMetaTimers, 64);
  try {
    const store = await env.open();
    for (let k = 0; k < 100; k++) {
      store.setCurrentKey(k);
      store.registerTimer('event', 1000 + k);
    }
    const h1 = await checkpoint(store, 1);
    assert.equal((await metaOf(env.storage, h1)).formatVersion, 2);
    // 'meta' mode restores the store's timers, fires half of them, and lists the rest in its meta.
    const meta = await metaEnv.open({ storage: env.storage, restoreFrom: [h1] });
    assert.equal(meta.pollTimers('event', 1000 + 49).length, 50);
    const h2 = await checkpoint(meta, 2);
    const m2 = await metaOf(env.storage, h2);
    assert.equal(m2.formatVersion, 1);
    assert.equal(m2.timers.length, 50, 'the default lists the live timers in the meta file');
    // Back in 'store' mode: exactly the 50 live ones (the store entries checkpoint 1 held
    // were deleted when 'meta' mode restored them, so the fired ones do not come back).
    const again = await env.open({ restoreFrom: [h2] });
    const left = again.pollTimers('event', Number.POSITIVE_INFINITY);
    assert.deepEqual(left.map((t) => t.timestamp), Array.from({ length: 50 }, (_, i) => 1050 + i));
  } finally {
    await env.cleanup();
    await metaEnv.cleanup();
  }
});

test('lsm timers: a user state may not take a name reserved for weir\'s internal states', async () => {
  const env = await makeEnv(open);
  try {
    const b = await env.open();
    b.setCurrentKey(1);
    assert.throws(() => b.getValueState('\u0000timers'), /reserved/);
  } finally {
    await env.cleanup();
  }
});

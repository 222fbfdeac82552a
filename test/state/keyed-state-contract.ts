/**
 * The KeyedStateBackend contract (DESIGN.md §3.4): one suite, run against every
 * backend (heap-backend.test.ts, lsm-backend.test.ts). Covers state semantics,
 * namespaces, timers, snapshot isolation, snapshot → restore, and rescaling 1 → 2 → 1.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KeyedStateBackend, KeyedStateHandle } from '../../src/state/types.ts';
import type { BackendOptions } from '../../src/state/backend-base.ts';
import { keyGroupRangeForSubtask, keyGroupOf } from '../../src/state/key-groups.ts';
import { float64KeySerializer, int32KeySerializer, msgpackSerializer, stringKeySerializer } from '../../src/state/serializers.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { CheckpointDeclinedError, StateError } from '../../src/util/errors.ts';
import { ManualClock } from '../../src/util/clock.ts';
import { compareBytes } from '../../src/util/bytes.ts';

export type BackendFactory = (opts: BackendOptions) => Promise<KeyedStateBackend>;

export interface Env {
  storage: MemoryStorage;
  dirs: string[];
  open(overrides?: Partial<BackendOptions>): Promise<KeyedStateBackend>;
  cleanup(): Promise<void>;
}

export async function makeEnv(create: BackendFactory, maxParallelism = 128): Promise<Env> {
  const storage = new MemoryStorage();
  const dirs: string[] = [];
  const opened: KeyedStateBackend[] = [];
  return {
    storage,
    dirs,
    async open(overrides = {}) {
      const dir = await mkdtemp(join(tmpdir(), 'weir-state-'));
      dirs.push(dir);
      const b = await create({
        operatorId: 'op',
        subtaskIndex: 0,
        maxParallelism,
        keyGroupRange: { start: 0, end: maxParallelism - 1 },
        localDir: dir,
        storage,
        clock: new ManualClock(),
        ...overrides,
      });
      opened.push(b);
      return b;
    },
    async cleanup() {
      for (const b of opened) await b.dispose().catch(() => undefined);
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    },
  };
}

/** Keys (numbers) whose key group falls in the range of subtask `index` of `p`. */
export function keysOfSubtask(count: number, maxP: number, p: number, index: number): number[] {
  const r = keyGroupRangeForSubtask(maxP, p, index);
  const out: number[] = [];
  for (let k = 0; out.length < count && k < count * p * 20; k++) {
    const kg = keyGroupOf(msgpackSerializer.serialize(k), maxP);
    if (kg >= r.start && kg <= r.end) out.push(k);
  }
  return out;
}

/** Writes a recognisable state for key k into every state kind. */
export function writeKey(b: KeyedStateBackend, k: number, round = 0): void {
  b.setCurrentKey(k);
  b.setCurrentNamespace(undefined);
  b.getValueState<number>('v').update(k * 10 + round);
  b.getListState<string>('l').add(`k${k}-r${round}`);
  b.getMapState<number, string>('m', int32KeySerializer).put(k % 7, `m${k}`);
  b.getMapState<number, string>('m', int32KeySerializer).put(-(k % 5) | 0, `n${k}`);
  b.getReducingState<number>('r', (a, c) => a + c).add(k);
  b.getAggregatingState<number, { s: number; n: number }, number>('a', {
    createAccumulator: () => ({ s: 0, n: 0 }),
    add: (v, acc) => ({ s: acc.s + v, n: acc.n + 1 }),
    getResult: (acc) => acc.s / acc.n,
  }).add(k);
  b.setCurrentNamespace({ window: k % 3 });
  b.getValueState<string>('v').update(`ns-${k}`);
  b.setCurrentNamespace(undefined);
}

export function checkKey(b: KeyedStateBackend, k: number, rounds = 1): void {
  b.setCurrentKey(k);
  b.setCurrentNamespace(undefined);
  const last = rounds - 1;
  assert.equal(b.getValueState<number>('v').value(), k * 10 + last, `value of ${k}`);
  assert.deepEqual(b.getListState<string>('l').get(), Array.from({ length: rounds }, (_, r) => `k${k}-r${r}`), `list of ${k}`);
  const m = b.getMapState<number, string>('m', int32KeySerializer);
  const expected = new Map<number, string>([[k % 7, `m${k}`], [-(k % 5) | 0, `n${k}`]]);
  assert.deepEqual([...m.entries()], [...expected.entries()].sort((x, y) => x[0] - y[0]), `map of ${k}`);
  assert.equal(b.getReducingState<number>('r', (a, c) => a + c).get(), k * rounds);
  b.setCurrentNamespace({ window: k % 3 });
  assert.equal(b.getValueState<string>('v').value(), `ns-${k}`);
  b.setCurrentNamespace(undefined);
}

async function snapshotDone(b: KeyedStateBackend, checkpointId: number, jobPath = 'job'): Promise<KeyedStateHandle> {
  const s = b.snapshot({ jobPath, checkpointId, kind: 'checkpoint' });
  assert.ok(s.syncMillis >= 0);
  return s.done;
}

export function runKeyedStateContract(name: string, create: BackendFactory): void {
  describe(`KeyedStateBackend contract: ${name}`, () => {
    test('value, list, reducing, aggregating state: per key, update/clear semantics', async () => {
      const env = await makeEnv(create);
      try {
        const b = await env.open();
        const v = b.getValueState<{ n: number }>('v');
        const l = b.getListState<number>('l');
        const r = b.getReducingState<number>('r', (a, c) => Math.max(a, c));
        const a = b.getAggregatingState<number, [number, number], number>('a', {
          createAccumulator: () => [0, 0],
          add: (x, acc) => [acc[0] + x, acc[1] + 1],
          getResult: (acc) => acc[0] / acc[1],
        });
        b.setCurrentKey('alice');
        assert.equal(v.value(), undefined);
        assert.deepEqual(l.get(), []);
        assert.equal(r.get(), undefined);
        assert.equal(a.get(), undefined);
        v.update({ n: 1 });
        l.add(1);
        l.addAll([2, 3]);
        r.add(5);
        r.add(3);
        a.add(2);
        a.add(4);
        b.setCurrentKey('bob');
        assert.equal(v.value(), undefined, 'state is per key');
        assert.deepEqual(l.get(), []);
        v.update({ n: 2 });
        b.setCurrentKey('alice');
        assert.deepEqual(v.value(), { n: 1 });
        assert.deepEqual(l.get(), [1, 2, 3]);
        assert.equal(r.get(), 5);
        assert.equal(a.get(), 3);
        l.update([9]);
        assert.deepEqual(l.get(), [9]);
        l.update([]);
        assert.deepEqual(l.get(), []);
        v.clear();
        r.clear();
        a.clear();
        assert.equal(v.value(), undefined);
        assert.equal(r.get(), undefined);
        assert.equal(a.get(), undefined);
        b.setCurrentKey('bob');
        assert.deepEqual(v.value(), { n: 2 });
        // The same name returns the same state; another kind under that name is an error.
        assert.throws(() => b.getListState('v'), StateError);
        assert.ok(b.approximateSize() > 0);
      } finally {
        await env.cleanup();
      }
    });

    test('map state: get/put/has/remove/clear, ordered iteration, no leaks between keys that prefix each other', async () => {
      const env = await makeEnv(create);
      try {
        const b = await env.open();
        const m = b.getMapState<number, string>('m', float64KeySerializer);
        const s = b.getMapState<string, number>('s', stringKeySerializer);
        b.setCurrentKey('ab');
        assert.ok(m.isEmpty());
        for (const x of [3.5, -1, 0, 1e9, -2.25, 2]) m.put(x, `v${x}`);
        assert.deepEqual([...m.keys()], [-2.25, -1, 0, 2, 3.5, 1e9]);
        assert.equal(m.get(2), 'v2');
        assert.ok(m.has(-1));
        assert.ok(!m.has(7));
        m.remove(-1);
        assert.ok(!m.has(-1));
        assert.deepEqual([...m.values()], ['v-2.25', 'v0', 'v2', 'v3.5', 'v1000000000']);
        s.put('b', 2);
        s.put('a', 1);
        s.put('ab', 3);
        assert.deepEqual([...s.entries()], [['a', 1], ['ab', 3], ['b', 2]]);
        b.setCurrentKey('abc');
        assert.ok(m.isEmpty(), 'key "abc" sees nothing of key "ab"');
        assert.deepEqual([...s.entries()], []);
        m.put(1, 'x');
        b.setCurrentKey('a');
        assert.ok(m.isEmpty());
        b.setCurrentKey('ab');
        assert.equal([...m.keys()].length, 5);
        // Iteration is a point-in-time view: writing while iterating is allowed.
        for (const k of m.keys()) m.put(k + 100, 'later');
        assert.equal([...m.keys()].length, 10);
        m.clear();
        assert.ok(m.isEmpty());
        assert.deepEqual([...m.entries()], []);
        b.setCurrentKey('abc');
        assert.deepEqual([...m.entries()], [[1, 'x']]);
      } finally {
        await env.cleanup();
      }
    });

    test('namespaces scope state within a key; no current key or a key outside the range is a StateError', async () => {
      const env = await makeEnv(create);
      try {
        const b = await env.open();
        const v = b.getValueState<number>('v');
        assert.throws(() => v.value(), StateError);
        b.setCurrentKey(1);
        v.update(0);
        b.setCurrentNamespace({ start: 0, end: 10 });
        assert.equal(v.value(), undefined);
        v.update(10);
        b.setCurrentNamespace({ start: 10, end: 20 });
        v.update(20);
        b.setCurrentNamespace({ start: 0, end: 10 });
        assert.equal(v.value(), 10);
        b.setCurrentNamespace(undefined);
        assert.equal(v.value(), 0);
        const env2 = await makeEnv(create);
        try {
          const half = await env2.open({ keyGroupRange: keyGroupRangeForSubtask(128, 2, 0) });
          const outside = keysOfSubtask(1, 128, 2, 1)[0]!;
          assert.throws(() => half.setCurrentKey(outside), StateError);
        } finally {
          await env2.cleanup();
        }
      } finally {
        await env.cleanup();
      }
    });

    test('timers: dedup, delete, poll in timestamp order across keys and key groups, per domain', async () => {
      const env = await makeEnv(create);
      try {
        const b = await env.open();
        for (let k = 0; k < 50; k++) {
          b.setCurrentKey(k);
          b.registerTimer('event', 1000 - k * 10);
          b.registerTimer('event', 1000 - k * 10); // duplicate
          b.registerTimer('processing', k, { w: k });
        }
        b.setCurrentKey(3);
        b.deleteTimer('event', 970);
        b.deleteTimer('processing', 3, { w: 3 });
        assert.equal(b.nextTimer('event'), 510);
        assert.equal(b.nextTimer('processing'), 0);
        const fired = b.pollTimers('event', 600);
        assert.deepEqual(fired.map((t) => t.timestamp), [510, 520, 530, 540, 550, 560, 570, 580, 590, 600]);
        assert.deepEqual(fired.map((t) => t.key), [49, 48, 47, 46, 45, 44, 43, 42, 41, 40]);
        const rest = b.pollTimers('event', 10_000);
        assert.equal(rest.length, 39, '50 - 10 polled - 1 deleted');
        assert.ok(!rest.some((t) => t.timestamp === 970));
        assert.equal(b.nextTimer('event'), undefined);
        const p = b.pollTimers('processing', 5);
        assert.deepEqual(p.map((t) => [t.timestamp, t.key, t.namespace]), [[0, 0, { w: 0 }], [1, 1, { w: 1 }], [2, 2, { w: 2 }], [4, 4, { w: 4 }], [5, 5, { w: 5 }]]);
      } finally {
        await env.cleanup();
      }
    });

    test('snapshot → restore round trip: every state kind, namespaces and timers come back', async () => {
      const env = await makeEnv(create);
      try {
        const b = await env.open();
        for (let k = 0; k < 300; k++) writeKey(b, k);
        for (let k = 0; k < 20; k++) {
          b.setCurrentKey(k);
          b.registerTimer('event', 100 + k, k % 2 === 0 ? undefined : { window: k });
        }
        const handle = await snapshotDone(b, 1);
        b.notifyCheckpointComplete(1);
        // Writes after the snapshot are not in it.
        writeKey(b, 5, 1);
        assert.equal(handle.format, b.kind);
        assert.equal(handle.checkpointId, 1);
        assert.ok(handle.fullSize > 0);
        assert.ok(handle.states.some((s) => s.name === 'm' && s.kind === 'map'));
        let progressCalls = 0;
        let lastProgress: [number, number] = [0, 0];
        const r = await env.open({
          restoreFrom: [handle],
          onRestoreProgress: (d, t) => {
            progressCalls++;
            lastProgress = [d, t];
          },
        });
        assert.ok(progressCalls > 0);
        assert.equal(lastProgress[0], lastProgress[1]);
        for (let k = 0; k < 300; k++) checkKey(r, k);
        const timers = r.pollTimers('event', 1000);
        assert.deepEqual(timers.map((t) => t.timestamp), Array.from({ length: 20 }, (_, k) => 100 + k));
        assert.deepEqual(timers.map((t) => t.key), Array.from({ length: 20 }, (_, k) => k));
        assert.deepEqual(timers[3]!.namespace, { window: 3 });
        assert.equal(timers[4]!.namespace, undefined);
        // New states registered after restore do not collide with restored ids.
        r.setCurrentKey(1);
        r.getValueState<string>('new').update('fresh');
        assert.equal(r.getValueState<number>('v').value(), 10);
      } finally {
        await env.cleanup();
      }
    });

    test('a snapshot is the state at snapshot(): later writes, deletes and clears are not in it', async () => {
      const env = await makeEnv(create);
      try {
        const b = await env.open();
        for (let k = 0; k < 100; k++) writeKey(b, k);
        const s = b.snapshot({ jobPath: 'job', checkpointId: 1, kind: 'checkpoint' });
        // Mutate everything before the async part runs.
        for (let k = 0; k < 100; k++) {
          b.setCurrentKey(k);
          b.getValueState<number>('v').update(-1);
          b.getListState<string>('l').clear();
          b.getMapState<number, string>('m', int32KeySerializer).clear();
          b.getMapState<number, string>('m', int32KeySerializer).put(99, 'late');
        }
        const handle = await s.done;
        const r = await env.open({ restoreFrom: [handle] });
        for (let k = 0; k < 100; k++) checkKey(r, k);
        b.setCurrentKey(3);
        assert.equal(b.getValueState<number>('v').value(), -1);
        assert.deepEqual([...b.getMapState<number, string>('m', int32KeySerializer).entries()], [[99, 'late']]);
      } finally {
        await env.cleanup();
      }
    });

    test('rescale 1 → 2 → 1: every key\'s state and timers intact', async () => {
      const maxP = 64;
      const env = await makeEnv(create, maxP);
      try {
        const one = await env.open();
        const keys = Array.from({ length: 400 }, (_, i) => i);
        for (const k of keys) {
          writeKey(one, k);
          one.setCurrentKey(k);
          one.registerTimer('event', 1000 + k);
        }
        const h1 = await snapshotDone(one, 1);
        one.notifyCheckpointComplete(1);

        const two = await Promise.all([0, 1].map((i) => env.open({ subtaskIndex: i, keyGroupRange: keyGroupRangeForSubtask(maxP, 2, i), restoreFrom: [h1] })));
        const owned = [0, 1].map((i) => keys.filter((k) => {
          const kg = keyGroupOf(msgpackSerializer.serialize(k), maxP);
          const r = keyGroupRangeForSubtask(maxP, 2, i);
          return kg >= r.start && kg <= r.end;
        }));
        assert.equal(owned[0]!.length + owned[1]!.length, keys.length);
        assert.ok(owned[0]!.length > 0 && owned[1]!.length > 0);
        const handles2: KeyedStateHandle[] = [];
        for (let i = 0; i < 2; i++) {
          const b = two[i]!;
          for (const k of owned[i]!) checkKey(b, k);
          // Only its own timers came back.
          assert.equal(b.pollTimers('event', 0).length, 0);
          assert.equal(b.nextTimer('event'), 1000 + owned[i]![0]!);
          // A second round of writes at parallelism 2.
          for (const k of owned[i]!) writeKey(b, k, 1);
          handles2.push(await snapshotDone(b, 2));
          b.notifyCheckpointComplete(2);
        }
        const back = await env.open({ restoreFrom: handles2 });
        for (const k of keys) {
          back.setCurrentKey(k);
          assert.equal(back.getValueState<number>('v').value(), k * 10 + 1);
          assert.deepEqual(back.getListState<string>('l').get(), [`k${k}-r0`, `k${k}-r1`]);
          assert.equal(back.getReducingState<number>('r', (a, c) => a + c).get(), 2 * k);
          back.setCurrentNamespace({ window: k % 3 });
          assert.equal(back.getValueState<string>('v').value(), `ns-${k}`);
          back.setCurrentNamespace(undefined);
        }
        const timers = back.pollTimers('event', 10_000);
        assert.deepEqual(timers.map((t) => t.key), keys);
      } finally {
        await env.cleanup();
      }
    });

    test('restore merges handles whose state ids differ (states registered in another order)', async () => {
      const maxP = 32;
      const env = await makeEnv(create, maxP);
      try {
        const parts: KeyedStateHandle[] = [];
        for (let i = 0; i < 2; i++) {
          const b = await env.open({ subtaskIndex: i, keyGroupRange: keyGroupRangeForSubtask(maxP, 2, i) });
          const names = i === 0 ? ['x', 'y'] : ['y', 'x'];
          for (const k of keysOfSubtask(30, maxP, 2, i)) {
            b.setCurrentKey(k);
            for (const n of names) b.getValueState<string>(n).update(`${n}${k}`);
          }
          parts.push(await snapshotDone(b, 7));
        }
        assert.notDeepEqual(parts[0]!.states, parts[1]!.states);
        const r = await env.open({ restoreFrom: parts });
        for (let i = 0; i < 2; i++) {
          for (const k of keysOfSubtask(30, maxP, 2, i)) {
            r.setCurrentKey(k);
            assert.equal(r.getValueState<string>('x').value(), `x${k}`);
            assert.equal(r.getValueState<string>('y').value(), `y${k}`);
          }
        }
      } finally {
        await env.cleanup();
      }
    });

    test('model check: random operations, snapshots and restores agree with a plain Map model', async () => {
      type Op =
        | { t: 'set'; k: number; ns: number; v: number }
        | { t: 'del'; k: number; ns: number }
        | { t: 'mput'; k: number; uk: string; v: number }
        | { t: 'mdel'; k: number; uk: string }
        | { t: 'mclear'; k: number }
        | { t: 'ladd'; k: number; v: number }
        | { t: 'restore' };
      const key = fc.integer({ min: 0, max: 4 });
      const uk = fc.constantFrom('', 'a', 'ab', 'b', 'é', '\u{1F600}', 'z');
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ t: fc.constant('set' as const), k: key, ns: fc.integer({ min: 0, max: 2 }), v: fc.integer() }),
        fc.record({ t: fc.constant('del' as const), k: key, ns: fc.integer({ min: 0, max: 2 }) }),
        fc.record({ t: fc.constant('mput' as const), k: key, uk, v: fc.integer() }),
        fc.record({ t: fc.constant('mdel' as const), k: key, uk }),
        fc.record({ t: fc.constant('mclear' as const), k: key }),
        fc.record({ t: fc.constant('ladd' as const), k: key, v: fc.integer({ min: 0, max: 9 }) }),
        fc.constant({ t: 'restore' as const }),
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 60, size: 'max' }), async (ops) => {
          const env = await makeEnv(create, 16);
          try {
            let b = await env.open();
            const values = new Map<string, number>();
            const maps = new Map<number, Map<string, number>>();
            const lists = new Map<number, number[]>();
            let chk = 0;
            const verify = (): void => {
              for (let k = 0; k <= 4; k++) {
                b.setCurrentKey(k);
                for (let ns = 0; ns <= 2; ns++) {
                  b.setCurrentNamespace(ns === 0 ? undefined : ns);
                  assert.equal(b.getValueState<number>('v').value(), values.get(`${k}/${ns}`));
                }
                b.setCurrentNamespace(undefined);
                // Entries iterate in UTF-8 byte order of the user key.
                const expected = [...(maps.get(k) ?? new Map<string, number>()).entries()]
                  .sort((x, y) => compareBytes(stringKeySerializer.serialize(x[0]), stringKeySerializer.serialize(y[0])));
                const actual = [...b.getMapState<string, number>('m', stringKeySerializer).entries()];
                assert.deepEqual(actual, expected);
                assert.equal(b.getMapState<string, number>('m', stringKeySerializer).isEmpty(), expected.length === 0);
                assert.deepEqual(b.getListState<number>('l').get(), lists.get(k) ?? []);
              }
            };
            for (const o of ops) {
              if (o.t === 'restore') {
                const h = await b.snapshot({ jobPath: 'job', checkpointId: ++chk, kind: 'checkpoint' }).done;
                b.notifyCheckpointComplete(chk);
                await b.dispose();
                b = await env.open({ restoreFrom: [h] });
                verify();
                continue;
              }
              b.setCurrentKey(o.k);
              if (o.t === 'set' || o.t === 'del') {
                b.setCurrentNamespace(o.ns === 0 ? undefined : o.ns);
                if (o.t === 'set') {
                  b.getValueState<number>('v').update(o.v);
                  values.set(`${o.k}/${o.ns}`, o.v);
                } else {
                  b.getValueState<number>('v').clear();
                  values.delete(`${o.k}/${o.ns}`);
                }
                b.setCurrentNamespace(undefined);
              } else if (o.t === 'mput') {
                b.getMapState<string, number>('m', stringKeySerializer).put(o.uk, o.v);
                if (!maps.has(o.k)) maps.set(o.k, new Map());
                maps.get(o.k)!.set(o.uk, o.v);
              } else if (o.t === 'mdel') {
                b.getMapState<string, number>('m', stringKeySerializer).remove(o.uk);
                maps.get(o.k)?.delete(o.uk);
              } else if (o.t === 'mclear') {
                b.getMapState<string, number>('m', stringKeySerializer).clear();
                maps.delete(o.k);
              } else {
                b.getListState<number>('l').add(o.v);
                lists.set(o.k, [...(lists.get(o.k) ?? []), o.v]);
              }
            }
            verify();
          } finally {
            await env.cleanup();
          }
        }),
        { numRuns: 12 },
      );
    });

    test('a checkpoint aborted while its snapshot is in flight rejects and leaves nothing in storage', async () => {
      const env = await makeEnv(create);
      try {
        const b = await env.open();
        for (let k = 0; k < 50; k++) writeKey(b, k);
        const h1 = await b.snapshot({ jobPath: 'job', checkpointId: 1, kind: 'checkpoint' }).done;
        b.notifyCheckpointComplete(1);
        const before = (await env.storage.list('job/')).map((o) => o.path).sort();
        for (let k = 50; k < 80; k++) writeKey(b, k);
        const s2 = b.snapshot({ jobPath: 'job', checkpointId: 2, kind: 'checkpoint' });
        b.notifyCheckpointAborted(2);
        await assert.rejects(s2.done, (err: unknown) => err instanceof CheckpointDeclinedError && err.checkpointId === 2);
        assert.deepEqual((await env.storage.list('job/')).map((o) => o.path).sort(), before);
        // The next checkpoint is fine and restores everything.
        const h3 = await b.snapshot({ jobPath: 'job', checkpointId: 3, kind: 'checkpoint' }).done;
        assert.ok(h3.fullSize >= h1.fullSize);
        const r = await env.open({ restoreFrom: [h3] });
        for (let k = 0; k < 80; k++) checkKey(r, k);
      } finally {
        await env.cleanup();
      }
    });

    test('an empty backend snapshots and restores (no data, only registered states)', async () => {
      const env = await makeEnv(create);
      try {
        const b = await env.open();
        b.getValueState<number>('declared-only');
        const h = await b.snapshot({ jobPath: 'job', checkpointId: 1, kind: 'checkpoint' }).done;
        assert.deepEqual(h.states.map((x) => x.name), ['declared-only']);
        const r = await env.open({ restoreFrom: [h] });
        r.setCurrentKey('anyone');
        assert.equal(r.getValueState<number>('declared-only').value(), undefined);
        assert.throws(() => r.getListState('declared-only'), StateError);
      } finally {
        await env.cleanup();
      }
    });
  });
}

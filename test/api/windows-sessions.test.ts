/**
 * Session windows: a record that extends a session does not copy the session's contents
 * (a long session costs O(n), not O(n²)); reduce and aggregate-with-merge keep one
 * accumulator per session; bridging records merge contents; sessions restored from the
 * older layout (elements listed under the window) still fire with every element; and for
 * any stream whose disorder stays within the watermark bound, every function kind gives
 * the sessions a direct computation gives, on heap and on lsm state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { StreamEnvironment, CollectSink, EventTimeSessionWindows, WatermarkStrategy, type Source, type SourceReader } from '../../src/index.ts';
import { WindowOperator, type WindowFunctionSpec } from '../../src/runtime/operators/window.ts';
import { createKeyedStateBackend, type KeyedStateBackend, type ListState } from '../../src/state/index.ts';
import { MemoryStorage } from '../../src/storage/index.ts';
import { systemClock } from '../../src/util/clock.ts';
import type { AggregateFunction } from '../../src/state/types.ts';

interface Ev {
  key: number;
  ts: number;
  v: number;
}

/** A WindowOperator on a heap backend whose list states count the elements they hand out. */
async function openOperator(gap: number, fn: WindowFunctionSpec) {
  const dir = mkdtempSync(join(tmpdir(), 'weir-sessions-'));
  const backend = await createKeyedStateBackend('heap', {
    operatorId: 'w', subtaskIndex: 0, maxParallelism: 128, keyGroupRange: { start: 0, end: 127 },
    localDir: dir, storage: new MemoryStorage({ name: 'w' }), clock: systemClock,
  });
  const reads = { elements: 0 };
  const counting: KeyedStateBackend = new Proxy(backend, {
    get(target, prop, receiver) {
      if (prop === 'getListState') {
        return (name: string) => {
          const inner = target.getListState(name);
          const wrapped: ListState<unknown> = {
            get: () => {
              const xs = inner.get();
              reads.elements += xs.length;
              return xs;
            },
            add: (v) => inner.add(v),
            addAll: (vs) => inner.addAll(vs),
            update: (vs) => inner.update(vs),
            clear: () => inner.clear(),
          };
          return wrapped;
        };
      }
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const out: unknown[] = [];
  let watermark = Number.NEGATIVE_INFINITY;
  const op = new WindowOperator({ kind: 'session', gap }, fn, (e: Ev) => e.key, 0, undefined);
  op.open({
    operatorId: 'w', name: 'w', subtaskIndex: 0, parallelism: 1, maxParallelism: 128, clock: systemClock,
    output: { collect: (v) => out.push(v), collectSide: () => undefined, emitWatermark: () => undefined, emitIdle: () => undefined },
    keyed: counting, restoredOperatorState: [], restored: false, checkpointingEnabled: false, metrics: { recordsIn: 0, recordsOut: 0 },
    registerProcessingTimer: () => undefined, currentWatermark: () => watermark,
  });
  return {
    op, out, reads, backend,
    watermark(ts: number) {
      watermark = ts;
      op.processWatermark(ts);
    },
    async close() {
      await backend.dispose();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const countAndSum: AggregateFunction<Ev, [number, number], [number, number]> = {
  createAccumulator: () => [0, 0],
  add: (e, acc) => [acc[0] + 1, acc[1] + e.v],
  getResult: (acc) => acc,
  merge: (a, b) => [a[0] + b[0], a[1] + b[1]],
};

test('one long session: each element is read once (at the firing), not copied on every record that extends it', async () => {
  const n = 4000;
  const h = await openOperator(10, { kind: 'process', process: (key, w, elements, out) => out.collect([key, w.start, w.end, elements.length]) });
  try {
    for (let i = 0; i < n; i++) h.op.processElement({ key: 1, ts: i, v: 1 }, i);
    h.watermark(n + 100);
    assert.deepEqual(h.out, [[1, 0, n - 1 + 10, n]]);
    // Copying the contents on every extension reads n²/2 = 8,000,000 elements.
    assert.ok(h.reads.elements <= 2 * n, `read ${h.reads.elements} elements for a session of ${n}`);
  } finally {
    await h.close();
  }
});

test('session aggregate with merge and reduce keep one accumulator: no element list at all', async () => {
  for (const fn of [
    { kind: 'aggregate', aggregate: countAndSum } as const,
    { kind: 'reduce', reduce: (a: Ev, b: Ev): Ev => ({ key: a.key, ts: Math.max(a.ts, b.ts), v: a.v + b.v }) } as const,
  ]) {
    const h = await openOperator(10, fn);
    try {
      // two sessions of key 1 that a later record bridges, and one of key 2
      for (let i = 0; i < 100; i++) h.op.processElement({ key: 1, ts: i, v: 1 }, i);
      for (let i = 200; i < 300; i++) h.op.processElement({ key: 1, ts: i, v: 2 }, i);
      h.op.processElement({ key: 2, ts: 50, v: 7 }, 50);
      for (let t = 105; t < 200; t += 8) h.op.processElement({ key: 1, ts: t, v: 0 }, t); // bridges [0,109] and [200,309]
      h.watermark(1000);
      const out = h.out.map((r) => (fn.kind === 'aggregate' ? r : [(r as Ev).v]));
      if (fn.kind === 'aggregate') assert.deepEqual(out.sort(), [[100 + 100 + 12, 100 + 200], [1, 7]].sort());
      else assert.deepEqual(out.sort(), [[300], [7]].sort());
      assert.equal(h.reads.elements, 0);
    } finally {
      await h.close();
    }
  }
});

test('a session restored from the older layout (elements under the window, [start, end] entry) fires with every element', async () => {
  const h = await openOperator(10, { kind: 'aggregate', aggregate: countAndSum });
  try {
    const b = h.backend;
    b.setCurrentKey(1);
    b.setCurrentNamespace('sessions');
    b.getValueState<number[][]>('window-sessions').update([[0, 15]]);
    b.setCurrentNamespace([0, 15]);
    b.getListState<Ev>('window-contents').addAll([{ key: 1, ts: 0, v: 1 }, { key: 1, ts: 5, v: 2 }]);
    b.registerTimer('event', 14, [0, 15]);
    h.op.processElement({ key: 1, ts: 12, v: 4 }, 12); // extends it to [0, 22]
    h.watermark(100);
    assert.deepEqual(h.out, [[3, 7]]);
  } finally {
    await h.close();
  }
});

function listSource(items: readonly Ev[]): Source<Ev> {
  return {
    name: 'list',
    maxParallelism: 1,
    createReader(): SourceReader<Ev> {
      let next = 0;
      return {
        poll(out, max) {
          if (next >= items.length) return 'end';
          for (let n = 0; n < max && next < items.length; n++) out.collect(items[next++]!);
          return 'more';
        },
        snapshotState: () => [next],
      };
    },
  };
}

/** Sessions by a direct computation: per key, sorted timestamps, a new session when one is more than `gap` after the last. */
function expectedSessions(events: readonly Ev[], gap: number): string[] {
  const byKey = new Map<number, Ev[]>();
  for (const e of events) byKey.set(e.key, [...(byKey.get(e.key) ?? []), e]);
  const out: string[] = [];
  for (const [key, es] of byKey) {
    es.sort((a, b) => a.ts - b.ts);
    let start = es[0]!.ts;
    let last = start;
    let count = 0;
    let sum = 0;
    for (const e of es) {
      if (e.ts > last + gap) {
        out.push(`${key}[${start},${last + gap}):${count}/${sum}`);
        start = e.ts;
        count = 0;
        sum = 0;
      }
      last = e.ts;
      count++;
      sum += e.v;
    }
    out.push(`${key}[${start},${last + gap}):${count}/${sum}`);
  }
  return out.sort();
}

type Kind = 'process' | 'reduce' | 'aggregate-merge' | 'aggregate-no-merge';

async function runSessions(events: readonly Ev[], gap: number, disorder: number, kind: Kind, backend: 'heap' | 'lsm', parallelism: number): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-sessions-job-'));
  try {
    const env = new StreamEnvironment({ parallelism, stateBackend: backend, stateDir: join(dir, 'state'), checkpoints: join(dir, 'cp') });
    const sink = new CollectSink<string>();
    // A bound above the disorder: no session fires before every record that belongs to it arrived.
    const timed = env
      .fromSource(listSource(events))
      .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Ev>(disorder + 2).withTimestampAssigner((e) => e.ts).withEmitEveryRecords(3));
    const windowed = timed.keyBy((e) => e.key).window(EventTimeSessionWindows.withGap(gap));
    const show = (key: number, w: { start: number; end: number }, count: number, sum: number) => `${key}[${w.start},${w.end}):${count}/${sum}`;
    const noMerge: AggregateFunction<Ev, [number, number], [number, number]> = {
      createAccumulator: () => [0, 0], add: (e, acc) => [acc[0] + 1, acc[1] + e.v], getResult: (acc) => acc,
    };
    const stream =
      kind === 'process'
        ? windowed.process<string>((key, w, es, out) => out.collect(show(key, w, es.length, es.reduce((a, e) => a + e.v, 0))))
        : kind === 'reduce'
          ? timed
              .map((e) => ({ ...e, ts: 1 })) // the ts field becomes a count (the record keeps its event timestamp)
              .keyBy((e) => e.key)
              .window(EventTimeSessionWindows.withGap(gap))
              .reduce<string>((a, b) => ({ key: a.key, ts: a.ts + b.ts, v: a.v + b.v }), (key, w, r, out) => out.collect(show(key, w, r.ts, r.v)))
          : windowed.aggregate<[number, number], [number, number], string>(kind === 'aggregate-merge' ? countAndSum : noMerge, (key, w, r, out) => out.collect(show(key, w, r[0], r[1])));
    stream.sinkTo(sink);
    await env.execute('sessions');
    return [...sink.values].sort();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const DISORDER = 6;

function eventsArb() {
  return fc
    .array(fc.record({ key: fc.integer({ min: 0, max: 2 }), step: fc.integer({ min: 0, max: 25 }), jitter: fc.integer({ min: 0, max: DISORDER }), v: fc.integer({ min: 1, max: 9 }) }), { minLength: 1, maxLength: 80 })
    .map((spec) => {
      let base = DISORDER;
      return spec.map((s) => {
        base += s.step;
        return { key: s.key, ts: base - s.jitter, v: s.v };
      });
    });
}

test('sessions of every function kind match a direct computation when disorder <= the watermark bound (heap, parallelism 1-2)', async () => {
  await fc.assert(
    fc.asyncProperty(eventsArb(), fc.integer({ min: 1, max: 20 }), fc.constantFrom<Kind>('process', 'reduce', 'aggregate-merge', 'aggregate-no-merge'), fc.integer({ min: 1, max: 2 }),
      async (events, gap, kind, parallelism) => {
        assert.deepEqual(await runSessions(events, gap, DISORDER, kind, 'heap', parallelism), expectedSessions(events, gap));
      }),
    { numRuns: 40 },
  );
});

test('sessions on lsm state: bridging records and out-of-order input, every function kind', async () => {
  const events = fc.sample(eventsArb(), { numRuns: 1, seed: 14 })[0]!;
  const t = Math.max(...events.map((e) => e.ts)) + 100;
  // gap 15: t → [t, t+15], t+30 → [t+30, t+45]; t+15 arrives last and bridges them into one session
  const bridged: Ev[] = [...events, { key: 0, ts: t, v: 1 }, { key: 0, ts: t + 30, v: 2 }, { key: 0, ts: t + 15, v: 3 }];
  for (const kind of ['process', 'reduce', 'aggregate-merge', 'aggregate-no-merge'] as const) {
    assert.deepEqual(await runSessions(bridged, 15, 30, kind, 'lsm', 1), expectedSessions(bridged, 15), kind);
  }
});

/**
 * Two-input API: connect + keyed co-process functions (shared keyed state and timers),
 * co-map, window joins and co-groups, interval joins — each against a plain computation;
 * and exactly-once across a failure and restore from a checkpoint, heap and lsm.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  StreamEnvironment, GeneratorSource, CollectSink, FileSink, WatermarkStrategy, TumblingEventTimeWindows, SlidingEventTimeWindows,
  type JobHandle, type KeyedCoProcessFunction,
} from '../../src/index.ts';
import { checkExactCounts, committedLines, tempDir, trickleAfter } from '../runtime/helpers.ts';

interface L {
  k: number;
  t: number;
  i: number;
}
interface R {
  key: number;
  time: number;
  j: number;
}

const lefts = (n: number): L[] => Array.from({ length: n }, (_, i) => ({ k: (i * 7) % 13, t: i * 10, i }));
const rights = (n: number): R[] => Array.from({ length: n }, (_, j) => ({ key: (j * 5) % 13, time: j * 17 + 3, j }));

function sources(env: StreamEnvironment, nl: number, nr: number, parallelism = 2) {
  const ls = lefts(nl);
  const rs = rights(nr);
  const a = env
    .fromSource(new GeneratorSource({ generate: (i) => ls[i]!, count: nl, splits: 1 }))
    .setParallelism(1)
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<L>().withTimestampAssigner((v) => v.t));
  const b = env
    .fromSource(new GeneratorSource({ generate: (j) => rs[j]!, count: nr, splits: 1 }))
    .setParallelism(1)
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<R>().withTimestampAssigner((v) => v.time));
  void parallelism;
  return { a, b, ls, rs };
}

const sortJson = <T>(xs: readonly T[]): string[] => xs.map((x) => JSON.stringify(x)).sort();

test('keyed co-process: both inputs share the key\'s state and timers', async () => {
  const env = new StreamEnvironment({ parallelism: 2 });
  const { a, b, ls, rs } = sources(env, 400, 300);
  const sink = new CollectSink<{ key: number; fromLeft: number; fromRight: number; total: number; at: 'timer' }>();
  a.connect(b)
    .keyBy((l) => l.k, (r) => r.key)
    .process<{ key: number; fromLeft: number; fromRight: number; total: number; at: 'timer' }>({
      processElement1(l, ctx) {
        const s = ctx.getValueState<number>('left');
        s.update((s.value() ?? 0) + 1);
        const sum = ctx.getValueState<number>('sum');
        sum.update((sum.value() ?? 0) + l.i);
        ctx.timerService().registerEventTimeTimer(1_000_000);
      },
      processElement2(r, ctx) {
        const s = ctx.getValueState<number>('right');
        s.update((s.value() ?? 0) + 1);
        const sum = ctx.getValueState<number>('sum');
        sum.update((sum.value() ?? 0) + r.j);
        ctx.timerService().registerEventTimeTimer(1_000_000);
      },
      onTimer(_ts, ctx, out) {
        out.collect({
          key: ctx.getCurrentKey(),
          fromLeft: ctx.getValueState<number>('left').value() ?? 0,
          fromRight: ctx.getValueState<number>('right').value() ?? 0,
          total: ctx.getValueState<number>('sum').value() ?? 0,
          at: 'timer',
        });
      },
    } satisfies KeyedCoProcessFunction<number, L, R, unknown>)
    .sinkTo(sink);
  await env.execute('co-process');
  const want = new Map<number, { key: number; fromLeft: number; fromRight: number; total: number; at: 'timer' }>();
  const get = (key: number) => want.get(key) ?? (want.set(key, { key, fromLeft: 0, fromRight: 0, total: 0, at: 'timer' }), want.get(key)!);
  for (const l of ls) {
    const w = get(l.k);
    w.fromLeft++;
    w.total += l.i;
  }
  for (const r of rs) {
    const w = get(r.key);
    w.fromRight++;
    w.total += r.j;
  }
  assert.equal(sink.values.length, 13);
  assert.deepEqual(sortJson(sink.values), sortJson([...want.values()]));
});

test('co-map and co-flatMap: one output stream from both inputs', async () => {
  const env = new StreamEnvironment({ parallelism: 2 });
  const { a, b, ls, rs } = sources(env, 50, 40);
  const sink = new CollectSink<string>();
  a.connect(b).map((l) => `L${l.i}`, (r) => `R${r.j}`).sinkTo(sink);
  const sink2 = new CollectSink<number>();
  a.connect(b).flatMap<number>((l, out) => { if (l.i % 2 === 0) out.collect(l.i); }, (r, out) => { out.collect(r.j); out.collect(-r.j - 1); }).sinkTo(sink2);
  await env.execute('co-map');
  assert.deepEqual([...sink.values].sort(), [...ls.map((l) => `L${l.i}`), ...rs.map((r) => `R${r.j}`)].sort());
  assert.deepEqual([...sink2.values].sort((x, y) => x - y), [...ls.filter((l) => l.i % 2 === 0).map((l) => l.i), ...rs.flatMap((r) => [r.j, -r.j - 1])].sort((x, y) => x - y));
});

for (const [label, assigner, windowsOf] of [
  ['tumbling', TumblingEventTimeWindows.of(500), (t: number) => [Math.floor(t / 500) * 500]],
  ['sliding', SlidingEventTimeWindows.of(600, 200), (t: number) => { const s: number[] = []; for (let st = Math.floor(t / 200) * 200; st > t - 600; st -= 200) s.push(st); return s; }],
] as const) {
  test(`window join and co-group (${label}) equal a nested-loop join per window`, async () => {
    const env = new StreamEnvironment({ parallelism: 2 });
    const { a, b, ls, rs } = sources(env, 300, 200);
    const joined = new CollectSink<[number, number, number]>();
    a.join(b).where((l) => l.k).equalTo((r) => r.key).window(assigner).apply((l, r, w) => [l.i, r.j, w.start] as [number, number, number]).sinkTo(joined);
    const grouped = new CollectSink<[number, number, number, number]>();
    a.coGroup(b).where((l) => l.k).equalTo((r) => r.key).window(assigner)
      .applyGroups<[number, number, number, number]>((key, w, ll, rr, out) => out.collect([key, w.start, ll.length, rr.length]))
      .sinkTo(grouped);
    await env.execute('window-join');
    const want: [number, number, number][] = [];
    const groups = new Map<string, [number, number, number, number]>();
    for (const l of ls) for (const ws of windowsOf(l.t)) {
      const g = groups.get(`${l.k}/${ws}`) ?? [l.k, ws, 0, 0];
      g[2]++;
      groups.set(`${l.k}/${ws}`, g);
      for (const r of rs) if (r.key === l.k && windowsOf(r.time).includes(ws)) want.push([l.i, r.j, ws]);
    }
    for (const r of rs) for (const ws of windowsOf(r.time)) {
      const g = groups.get(`${r.key}/${ws}`) ?? [r.key, ws, 0, 0];
      g[3]++;
      groups.set(`${r.key}/${ws}`, g);
    }
    assert.ok(want.length > 100, `the test joins something (${want.length})`);
    assert.deepEqual(sortJson(joined.values), sortJson(want));
    assert.deepEqual(sortJson(grouped.values), sortJson([...groups.values()]));
  });
}

test('interval join equals the brute-force join l + lower <= r <= l + upper', async () => {
  for (const [lower, upper] of [[-100, 50], [0, 0], [20, 300], [-300, -20]] as const) {
    const env = new StreamEnvironment({ parallelism: 2 });
    const { a, b, ls, rs } = sources(env, 300, 200);
    const sink = new CollectSink<[number, number]>();
    a.keyBy((l) => l.k).intervalJoin(b.keyBy((r) => r.key)).between(lower, upper)
      .process<[number, number]>((l, r, out, times) => {
        assert.equal(times.left, l.t);
        assert.equal(times.right, r.time);
        out.collect([l.i, r.j]);
      })
      .sinkTo(sink);
    await env.execute('interval-join');
    const want: [number, number][] = [];
    for (const l of ls) for (const r of rs) if (l.k === r.key && r.time >= l.t + lower && r.time <= l.t + upper) want.push([l.i, r.j]);
    assert.ok(want.length > 0 || (lower === 0 && upper === 0), `bounds ${lower},${upper} join something`);
    assert.deepEqual(sortJson(sink.values), sortJson(want), `bounds ${lower},${upper}`);
  }
});

interface Count {
  key: number;
  count: number;
}

for (const backend of ['heap', 'lsm'] as const) {
  test(`connect + co-process and interval join: exactly once across a failure and restore (${backend})`, { timeout: 300_000 }, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const N = 20_000;
      let thrown = 0;
      const box: { handle?: JobHandle } = {};
      const env = new StreamEnvironment({
        parallelism: 2, checkpoints: join(dir, 'cp'), stateDir: join(dir, 'state'), checkpointInterval: 30, stateBackend: backend,
        restartStrategy: { kind: 'fixed-delay', attempts: 2, delayMs: 10 },
      });
      const release = () => thrown > 0;
      const ts = <T>(f: (v: T) => number) => WatermarkStrategy.forMonotonousTimestamps<T>().withTimestampAssigner(f);
      const a = env.fromSource(trickleAfter(new GeneratorSource({ generate: (i) => ({ k: i % 31, t: i, i }), count: N, splits: 2 }), N / 8, release))
        .assignTimestampsAndWatermarks(ts<L>((v) => v.t));
      const b = env.fromSource(trickleAfter(new GeneratorSource({ generate: (j) => ({ key: j % 31, time: j, j }), count: N, splits: 2 }), N / 8, release))
        .assignTimestampsAndWatermarks(ts<R>((v) => v.time));
      // count per key over both inputs, in one keyed state shared by the two inputs
      a.connect(b)
        .keyBy((l) => l.k, (r) => r.key)
        .process<Count>({
          processElement1(l, ctx, out) {
            if (thrown === 0 && (box.handle?.progress().metrics.checkpointsCompleted ?? 0) > 0 && l.i > N / 8) {
              thrown++;
              throw new Error(`boom at ${l.i}`);
            }
            const s = ctx.getValueState<number>('n');
            const c = (s.value() ?? 0) + 1;
            s.update(c);
            out.collect({ key: l.k, count: c });
          },
          processElement2(r, ctx, out) {
            const s = ctx.getValueState<number>('n');
            const c = (s.value() ?? 0) + 1;
            s.update(c);
            out.collect({ key: r.key, count: c });
          },
        })
        .sinkTo(new FileSink<Count>({ directory: join(dir, 'out') }));
      // interval join with buffered state: left i matches rights j in [i - 3, i + 2] of the same key (j ≡ i mod 31: only j = i)
      a.keyBy((l) => l.i % 1000).intervalJoin(b.keyBy((r) => r.j % 1000)).between(-3, 2)
        .process<[number, number]>((l, r, out) => out.collect([l.i, r.j]))
        .sinkTo(new FileSink<[number, number]>({ directory: join(dir, 'joined') }));
      box.handle = await env.start('two-input-restart');
      const result = await box.handle.done;
      assert.equal(thrown, 1, 'the failure happened');
      assert.equal(result.metrics.restarts, 1);
      const want = new Map<number, number>();
      for (let i = 0; i < N; i++) want.set(i % 31, (want.get(i % 31) ?? 0) + 2);
      assert.equal(checkExactCounts(committedLines<Count>(join(dir, 'out')), want), undefined);
      const pairs = committedLines<[number, number]>(join(dir, 'joined'));
      assert.equal(pairs.length, N, 'each left joins exactly its one right, once');
      assert.deepEqual(pairs.map(([l, r]) => l - r).filter((d) => d !== 0), []);
      assert.equal(new Set(pairs.map(([l]) => l)).size, N);
    } finally {
      cleanup();
    }
  });
}

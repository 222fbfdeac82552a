/**
 * Keyed process functions through the public API: event-time timers fire when the
 * watermark passes them (per key, in timestamp order, with the key and timestamp in the
 * context), processing-time timers fire from the clock, bad records go to a side
 * output, and union feeds one keyed operator from two sources.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  StreamEnvironment, CollectSink, GeneratorSource, OutputTag, WatermarkStrategy,
  type KeyedProcessFunction, type Source, type SourceReader, type ValueState,
} from '../../src/index.ts';

interface Ev {
  key: string;
  ts: number;
}

function listSource<T>(items: readonly T[]): Source<T> {
  return {
    name: 'list',
    maxParallelism: 1,
    createReader(): SourceReader<T> {
      let next = 0;
      return {
        poll(out) {
          if (next >= items.length) return 'end';
          out.collect(items[next++]!);
          return 'more';
        },
        snapshotState: () => [next],
      };
    },
  };
}

test('event-time timers fire when the watermark passes them; bad records go to a side output', async () => {
  const env = new StreamEnvironment({ parallelism: 2 });
  const bad = new OutputTag<string>('bad');
  const fired = new CollectSink<string>();
  const badSink = new CollectSink<string>();
  const events: (Ev | null)[] = [{ key: 'a', ts: 10 }, { key: 'b', ts: 12 }, null, { key: 'a', ts: 30 }, { key: 'b', ts: 50 }, { key: 'a', ts: 100 }];
  const processed = env
    .fromSource(listSource(events))
    .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Ev | null>().withTimestampAssigner((e) => e?.ts ?? 0).withEmitEveryRecords(1))
    .setParallelism(1)
    .keyBy((e) => e?.key ?? '')
    .process<string>({
      processElement(e, ctx, out) {
        if (e === null) {
          ctx.output(bad, 'null record');
          return;
        }
        const seen = ctx.getListState<number>('seen');
        seen.add(e.ts);
        // Fires 15 ms of event time after each record.
        ctx.timerService().registerEventTimeTimer(e.ts + 15);
        out.collect(`in ${e.key}@${e.ts} wm=${ctx.timerService().currentWatermark()}`);
      },
      onTimer(ts, ctx, out) {
        assert.equal(ctx.timeDomain(), 'event');
        assert.equal(ctx.timestamp(), ts);
        out.collect(`timer ${String(ctx.getCurrentKey())}@${ts} seen=${ctx.getListState<number>('seen').get().join(',')}`);
      },
    });
  processed.sinkTo(fired);
  processed.getSideOutput(bad).sinkTo(badSink);
  await env.execute('timers');
  const timers = fired.values.filter((v) => v.startsWith('timer'));
  assert.deepEqual(timers.sort(), ['timer a@115 seen=10,30,100', 'timer a@25 seen=10,30', 'timer a@45 seen=10,30', 'timer b@27 seen=12', 'timer b@65 seen=12,50'].sort());
  // a@25 fires when the watermark passes 25 (it becomes 29 right after the record of ts 30), before a@100 is processed.
  const order = fired.values.filter((v) => v.includes(' a@'));
  assert.ok(order.indexOf('timer a@25 seen=10,30') < order.indexOf('in a@100 wm=49'), order.join(' | '));
  assert.deepEqual(badSink.values, ['null record']);
});

test('processing-time timers fire from the clock', async () => {
  // A rate-limited input keeps the job running (0.2 s) past the 20 ms timers. Heap state:
  // the lsm backend's open (store, worker thread) can take longer than the whole input.
  const env2 = new StreamEnvironment({ parallelism: 1, stateBackend: 'heap' });
  const sink2 = new CollectSink<string>();
  env2
    .fromSource(new GeneratorSource({ generate: (i) => (i < 2 ? ['x', 'y'][i]! : 'pad'), count: 400, ratePerSecond: 2000 }))
    .keyBy((s) => s)
    .process<string>({
      processElement(s, ctx) {
        if (s === 'pad') return;
        ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 20);
        ctx.getValueState<string>('v').update(s.toUpperCase());
      },
      onTimer(_ts, ctx, out) {
        assert.equal(ctx.timeDomain(), 'processing');
        out.collect(`${String(ctx.getCurrentKey())}:${ctx.getValueState<string>('v').value()}`);
      },
    })
    .sinkTo(sink2);
  await env2.execute('ptimers2');
  assert.deepEqual(sink2.values.sort(), ['x:X', 'y:Y']);
});

test('union feeds one keyed operator from two sources (aligned barriers, exactly the union of the records)', async () => {
  const env = new StreamEnvironment({ parallelism: 2, checkpoints: 'memory://union', checkpointInterval: 5 });
  const a = env.fromSource(new GeneratorSource({ generate: (i) => `a${i % 10}`, count: 5000, name: 'a' }));
  const b = env.fromSource(new GeneratorSource({ generate: (i) => `b${i % 10}`, count: 3000, name: 'b' }));
  const sink = new CollectSink<[string, number]>();
  a.union(b)
    .keyBy((k) => k.slice(0, 1))
    .process<[string, number]>({
      processElement(k, ctx, out) {
        const s = ctx.getValueState<number>('n');
        const n = (s.value() ?? 0) + 1;
        s.update(n);
        out.collect([k.slice(0, 1), n]);
      },
    })
    .sinkTo(sink);
  const result = await env.execute('union');
  const max = new Map<string, number>();
  for (const [k, n] of sink.values) max.set(k, Math.max(max.get(k) ?? 0, n));
  assert.deepEqual(Object.fromEntries(max), { a: 5000, b: 3000 });
  assert.ok(result.metrics.checkpointsCompleted >= 1);
});

test('each subtask gets its own process function instance (state handles kept on `this` or made by a factory)', async () => {
  const env = new StreamEnvironment({ parallelism: 3 });
  const viaThis = new CollectSink<[number, number]>();
  const viaFactory = new CollectSink<[number, number]>();
  const src = env.fromSource(new GeneratorSource({ generate: (i) => i % 30, count: 3000 }));
  src
    .keyBy((k) => k)
    .process<[number, number]>({
      count: undefined as unknown as ValueState<number>,
      open(ctx) {
        this.count = ctx.getValueState<number>('n');
      },
      processElement(k, _ctx, out) {
        const n = (this.count.value() ?? 0) + 1;
        this.count.update(n);
        out.collect([k, n]);
      },
    } as KeyedProcessFunction<number, number, [number, number]> & { count: ValueState<number> })
    .sinkTo(viaThis);
  src
    .keyBy((k) => k)
    .process<[number, number]>(() => {
      let count!: ValueState<number>;
      return {
        open(ctx) {
          count = ctx.getValueState<number>('n');
        },
        processElement(k, _ctx, out) {
          const n = (count.value() ?? 0) + 1;
          count.update(n);
          out.collect([k, n]);
        },
      };
    })
    .sinkTo(viaFactory);
  await env.execute('instances');
  for (const sink of [viaThis, viaFactory]) {
    const max = new Map<number, number>();
    for (const [k, n] of sink.values) max.set(k, Math.max(max.get(k) ?? 0, n));
    assert.equal(max.size, 30);
    assert.ok([...max.values()].every((n) => n === 100));
  }
});

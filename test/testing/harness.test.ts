/**
 * weir/testing: the KeyedProcessFunction harness (records, watermarks, processing time,
 * state and timers, on both backends) and runAndCollect on a bounded input.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OutputTag, TumblingEventTimeWindows, WatermarkStrategy, type KeyedProcessFunction } from '../../src/index.ts';
import { KeyedProcessFunctionHarness, runAndCollect, valuesSource } from '../../src/testing/index.ts';

interface Ev {
  k: string;
  n: number;
}

const big = new OutputTag<Ev>('big');

/** Sums per key in ValueState, remembers values in MapState, emits the sum on an event-time timer and a ping on a processing-time timer. */
const fn: KeyedProcessFunction<string, Ev, string> = {
  processElement(ev, ctx, out) {
    const sum = ctx.getValueState<number>('sum');
    sum.update((sum.value() ?? 0) + ev.n);
    ctx.getMapState<number, boolean>('seen').put(ev.n, true);
    ctx.timerService().registerEventTimeTimer(100);
    ctx.timerService().registerProcessingTimeTimer(ctx.timerService().currentProcessingTime() + 10);
    if (ev.n >= 10) ctx.output(big, ev);
    out.collect(`in ${ev.k}`);
  },
  onTimer(ts, ctx, out) {
    const what = (ctx as { timeDomain(): string }).timeDomain();
    out.collect(`${what} ${ctx.getCurrentKey()}@${ts} sum=${ctx.getValueState<number>('sum').value()}`);
  },
};

for (const stateBackend of ['heap', 'lsm'] as const) {
  test(`harness (${stateBackend}): output, side output, state, both timer domains`, async () => {
    const h = await KeyedProcessFunctionHarness.open(fn, (e: Ev) => e.k, { stateBackend, processingTime: 1000 });
    try {
      await h.processElement({ k: 'a', n: 1 }, 5);
      await h.processElement({ k: 'b', n: 20 }, 6);
      await h.processElement({ k: 'a', n: 2 }, 7);
      assert.deepEqual(h.output(), ['in a', 'in b', 'in a']);
      assert.deepEqual(h.outputWithTimestamps()[1], { value: 'in b', timestamp: 6 });
      assert.deepEqual(h.sideOutput(big), [{ k: 'b', n: 20 }]);
      assert.equal(h.valueState<number>('a', 'sum'), 3);
      assert.deepEqual(h.withKey('a', (s) => [...s.getMapState<number, boolean>('seen').keys()].sort()), [1, 2]);
      assert.deepEqual(h.eventTimers().sort((x, y) => x.key.localeCompare(y.key)), [{ key: 'a', timestamp: 100 }, { key: 'b', timestamp: 100 }]);
      assert.deepEqual(h.processingTimers().map((t) => t.timestamp), [1010, 1010]);
      h.clearOutput();

      await h.setProcessingTime(1009);
      assert.deepEqual(h.output(), []);
      await h.setProcessingTime(1010);
      assert.deepEqual(h.output().sort(), ['processing a@1010 sum=3', 'processing b@1010 sum=20']);
      assert.deepEqual(h.processingTimers(), []);
      h.clearOutput();

      await h.processWatermark(99);
      assert.deepEqual(h.output(), []);
      await h.processWatermark(100);
      assert.deepEqual(h.output().sort(), ['event a@100 sum=3', 'event b@100 sum=20']);
      assert.deepEqual(h.eventTimers(), []);
      assert.deepEqual(h.watermarks(), [99, 100]);
      await assert.rejects(h.setProcessingTime(5), RangeError);
    } finally {
      await h.close();
    }
  });
}

test('runAndCollect: a keyed window pipeline on a bounded input, lsm state', async () => {
  const input: Ev[] = [{ k: 'a', n: 1 }, { k: 'b', n: 2 }, { k: 'a', n: 3 }, { k: 'a', n: 4 }];
  const out = await runAndCollect(
    (env) =>
      env
        .fromSource(valuesSource(input, { timestamp: (_e, i) => i * 400 }))
        .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<Ev>())
        .keyBy((e) => e.k)
        .window(TumblingEventTimeWindows.of(1000))
        .reduce((x, y) => ({ k: x.k, n: x.n + y.n })),
    { stateBackend: 'lsm' },
  );
  assert.deepEqual(out.sort((x, y) => x.k.localeCompare(y.k) || x.n - y.n), [{ k: 'a', n: 4 }, { k: 'a', n: 4 }, { k: 'b', n: 2 }]);
});

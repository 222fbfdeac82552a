/**
 * Watermark idleness: a union of two inputs, one of which goes quiet. Without
 * idleness the quiet input holds event time back, so a window fires only at the end of
 * input; with `withIdleness`, the quiet input is marked idle and the window fires while
 * the job is still running.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  StreamEnvironment, CollectSink, TumblingEventTimeWindows, WatermarkStrategy, type Source, type SourceReader,
} from '../../src/index.ts';

interface Ev {
  ts: number;
}

/** Emits `events`, then stays quiet (no records, not ended) until `mayEnd()` and (`quietMs` passed or `done()`), then ends. */
function quietSource(name: string, events: readonly Ev[], quietMs: number, mayEnd: () => boolean, onEnd: () => void, done: () => boolean = () => false): Source<Ev> {
  return {
    name,
    maxParallelism: 1,
    createReader(ctx): SourceReader<Ev> {
      let next = 0;
      let quietSince: number | undefined;
      return {
        poll(out) {
          if (next < events.length) {
            out.collect(events[next++]!);
            return 'more';
          }
          quietSince ??= ctx.clock.monotonic();
          if ((ctx.clock.monotonic() - quietSince < quietMs && !done()) || !mayEnd()) return ctx.clock.sleep(10);
          onEnd();
          return 'end';
        },
        snapshotState: () => [next],
      };
    },
  };
}

async function run(idleness: number | undefined): Promise<{ firedBeforeEnd: boolean; results: string[] }> {
  const env = new StreamEnvironment({ parallelism: 1 });
  let ended = false;
  let firedBeforeEnd = false;
  const sink = new CollectSink<string>();
  const plain = WatermarkStrategy.forMonotonousTimestamps<Ev>().withTimestampAssigner((e) => e.ts).withEmitEveryRecords(1);
  // Only the quiet input may be marked idle (if every input is idle, event time stands still, as in Flink).
  const quietStrategy = idleness === undefined ? plain : plain.withIdleness(idleness);
  // "busy" sends events up to ts 25, then is quiet until a window fired (at most 10 s) —
  // or, without idleness, for 1 s; "quiet" sends one event at ts 1, then nothing until busy ended.
  let fired = false;
  const busy = env.fromSource(quietSource('busy', [1, 5, 12, 25].map((ts) => ({ ts })), idleness === undefined ? 1000 : 10_000, () => true, () => (ended = true), () => fired));
  const quiet = env.fromSource(quietSource('quiet', [{ ts: 1 }], 0, () => ended, () => undefined));
  busy
    .assignTimestampsAndWatermarks(plain)
    .union(quiet.assignTimestampsAndWatermarks(quietStrategy))
    .keyBy(() => 'k')
    .window(TumblingEventTimeWindows.of(10))
    .process<string>((_k, w, els, out) => {
      if (!ended) firedBeforeEnd = true;
      fired = true;
      out.collect(`[${w.start},${w.end})=${els.length}`);
    })
    .sinkTo(sink);
  await env.execute(`idleness-${idleness ?? 'off'}`);
  return { firedBeforeEnd, results: sink.values };
}

test('an idle input stops holding back event time (withIdleness)', { timeout: 120_000 }, async () => {
  const withIdle = await run(100);
  assert.ok(withIdle.firedBeforeEnd, 'with idleness, [0,10) fires while the busy input is still running');
  assert.deepEqual(withIdle.results.sort(), ['[0,10)=3', '[10,20)=1', '[20,30)=1'].sort());
  const without = await run(undefined);
  assert.equal(without.firedBeforeEnd, false, 'without idleness the quiet input holds the watermark at its last timestamp');
  assert.deepEqual(without.results.sort(), ['[0,10)=3', '[10,20)=1', '[20,30)=1'].sort());
});

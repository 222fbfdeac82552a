/**
 * Property: for any stream whose disorder stays within the watermark bound, tumbling
 * window sums computed by the job equal a direct computation (every window of every
 * key exactly once, nothing late), at parallelism 1 to 3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { StreamEnvironment, CollectSink, TumblingEventTimeWindows, WatermarkStrategy, type Source, type SourceReader } from '../../src/index.ts';

interface Ev {
  key: number;
  ts: number;
  v: number;
}

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

const BOUND = 20;

test('tumbling window sums match a direct computation when disorder <= the watermark bound', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.record({ key: fc.integer({ min: 0, max: 4 }), step: fc.integer({ min: 0, max: 7 }), jitter: fc.integer({ min: 0, max: BOUND }), v: fc.integer({ min: 1, max: 9 }) }), { minLength: 1, maxLength: 120 }),
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 5, max: 30 }),
      async (spec, parallelism, size) => {
        // Base time rises; each event is up to BOUND behind it (bounded disorder).
        let base = BOUND;
        const events: Ev[] = spec.map((s) => {
          base += s.step;
          return { key: s.key, ts: base - s.jitter, v: s.v };
        });
        const expected = new Map<string, number>();
        for (const e of events) {
          const start = e.ts - (e.ts % size);
          const k = `${e.key}@${start}`;
          expected.set(k, (expected.get(k) ?? 0) + e.v);
        }
        const env = new StreamEnvironment({ parallelism, stateBackend: 'heap' }); // many runs: the in-memory backend keeps it fast (lsm has its own tests)
        const sink = new CollectSink<[string, number]>();
        env
          .fromSource(listSource(events))
          .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Ev>(BOUND).withTimestampAssigner((e) => e.ts).withEmitEveryRecords(3))
          .setParallelism(1)
          .keyBy((e) => e.key)
          .window(TumblingEventTimeWindows.of(size))
          .aggregate<number, number, [string, number]>(
            { createAccumulator: () => 0, add: (e, acc) => acc + e.v, getResult: (acc) => acc },
            (key, w, sum, out) => out.collect([`${key}@${w.start}`, sum]),
          )
          .sinkTo(sink);
        await env.execute('prop');
        const got = new Map<string, number>();
        for (const [k, sum] of sink.values) {
          assert.ok(!got.has(k), `window ${k} fired twice`);
          got.set(k, sum);
        }
        assert.deepEqual(got, expected);
      },
    ),
    { numRuns: 40, seed: 4242 },
  );
});

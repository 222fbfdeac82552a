/**
 * Event-time windows through the public API: tumbling windows with allowed lateness
 * (late records within it re-fire the window; later ones go to the late side output),
 * sliding windows, and session windows that merge.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  StreamEnvironment, CollectSink, EventTimeSessionWindows, OutputTag, SlidingEventTimeWindows, TumblingEventTimeWindows,
  WatermarkStrategy, type Source, type SourceReader,
} from '../../src/index.ts';

interface Ev {
  key: string;
  ts: number;
  v: number;
}

/** Emits the given events in order, one per poll, so watermarks advance between them. */
function listSource(events: readonly Ev[]): Source<Ev> {
  return {
    name: 'list',
    maxParallelism: 1,
    createReader(ctx): SourceReader<Ev> {
      let next = (ctx.restoredState?.[0] as number | undefined) ?? 0;
      return {
        poll(out) {
          if (next >= events.length) return 'end';
          out.collect(events[next++]!);
          return 'more';
        },
        snapshotState: () => [next],
      };
    },
  };
}

function env(): StreamEnvironment {
  return new StreamEnvironment({ parallelism: 2 });
}

const strategy = WatermarkStrategy.forBoundedOutOfOrderness<Ev>(0).withTimestampAssigner((e) => e.ts).withEmitEveryRecords(1);

test('tumbling windows: on-time results, re-firing within allowed lateness, late records to the side output', async () => {
  const e = env();
  const late = new OutputTag<Ev>('late');
  const ev = (key: string, ts: number, v = ts): Ev => ({ key, ts, v });
  const events = [ev('a', 1), ev('a', 2), ev('b', 5), ev('a', 12), ev('a', 3), ev('a', 25), ev('a', 4), ev('b', 26), ev('a', 26)];
  const results = new CollectSink<string>();
  const lateSink = new CollectSink<Ev>();
  const windowed = e
    .fromSource(listSource(events))
    .assignTimestampsAndWatermarks(strategy)
    .setParallelism(1)
    .keyBy((x) => x.key)
    .window(TumblingEventTimeWindows.of(10))
    .allowedLateness(5)
    .sideOutputLateData(late)
    .reduce<string>((x, y) => ({ key: x.key, ts: Math.max(x.ts, y.ts), v: x.v + y.v }), (key, w, r, out) => out.collect(`${key}[${w.start},${w.end})=${r.v}`));
  windowed.sinkTo(results);
  windowed.getSideOutput(late).sinkTo(lateSink);
  await e.execute('tumbling');
  // Watermark after 12 is 11: [0,10) fires with 1+2 (a) and 5 (b). 3 is behind the
  // watermark but within lateness (9 + 5 > 11): [0,10) re-fires with 6. After 25 (wm 24)
  // [0,10) is cleaned up and [10,20) fires; 4 is then too late. At the end: [20,30).
  assert.deepEqual([...results.values].sort(), ['a[0,10)=3', 'a[0,10)=6', 'a[10,20)=12', 'a[20,30)=51', 'b[0,10)=5', 'b[20,30)=26'].sort());
  assert.deepEqual(lateSink.values, [ev('a', 4)]);
  // Results carry the window's max timestamp.
  const i = results.values.indexOf('a[10,20)=12');
  assert.equal(results.timestamps[i], 19);
});

test('sliding windows assign each record to size/slide windows', async () => {
  const e = env();
  const events = [1, 4, 6, 11].map((ts) => ({ key: 'k', ts, v: 1 }));
  const sink = new CollectSink<string>();
  e.fromSource(listSource(events))
    .assignTimestampsAndWatermarks(strategy)
    .setParallelism(1)
    .keyBy((x) => x.key)
    .window(SlidingEventTimeWindows.of(10, 5))
    .aggregate<number, number, string>(
      { createAccumulator: () => 0, add: (x, acc) => acc + x.v, getResult: (acc) => acc },
      (_k, w, n, out) => out.collect(`[${w.start},${w.end})=${n}`),
    )
    .sinkTo(sink);
  await e.execute('sliding');
  assert.deepEqual(sink.values.sort(), ['[-5,5)=2', '[0,10)=3', '[5,15)=2', '[10,20)=1'].sort());
});

test('session windows merge when a record bridges two sessions', async () => {
  const e = env();
  const ev = (key: string, ts: number): Ev => ({ key, ts, v: ts });
  // gap 10: a:1 → [1,11), a:20 → [20,30), a:10 → [10,20) touches both → one session [1,30).
  // a:100 starts a new session; b:5 is its own.
  const events = [ev('a', 1), ev('a', 20), ev('b', 5), ev('a', 10), ev('a', 100)];
  const sink = new CollectSink<string>();
  e.fromSource(listSource(events))
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Ev>(50).withTimestampAssigner((x) => x.ts).withEmitEveryRecords(1))
    .setParallelism(1)
    .keyBy((x) => x.key)
    .window(EventTimeSessionWindows.withGap(10))
    .process<string>((key, w, elements, out) => out.collect(`${key}[${w.start},${w.end}):${elements.map((x) => x.ts).sort((p, q) => p - q).join(',')}`))
    .sinkTo(sink);
  await e.execute('sessions');
  assert.deepEqual(sink.values.sort(), ['a[1,30):1,10,20', 'a[100,110):100', 'b[5,15):5'].sort());
});

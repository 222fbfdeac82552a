/** NexmarkSource: every event exactly once across a restore at another parallelism, in event order per subtask. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NexmarkGenerator, NexmarkSource, type NexmarkEvent, type SourceReader } from '../../src/index.ts';
import { systemClock } from '../../src/util/clock.ts';

const ctx = (i: number, p: number, restoredState?: unknown[]) => ({ subtaskIndex: i, parallelism: p, clock: systemClock, restoredState });

function drain(reader: SourceReader<NexmarkEvent>, into: { e: NexmarkEvent; ts: number | undefined }[], max = Infinity): void {
  for (let guard = 0; guard < 100_000 && into.length < max; guard++) {
    const r = reader.poll({ collect: (e, ts) => into.push({ e, ts }) }, Math.min(100, max - into.length));
    if (r === 'end') return;
    assert.equal(r, 'more');
  }
}

test('nexmark source: the generator\'s events, each once, across a restore from 2 to 3 subtasks; timestamps never go back within a subtask', () => {
  const count = 2000;
  const src = new NexmarkSource({ maxEvents: count, splits: 5 });
  const gen = new NexmarkGenerator({ maxEvents: count });
  const seen: { e: NexmarkEvent; ts: number | undefined }[] = [];
  const states: unknown[] = [];
  for (let i = 0; i < 2; i++) {
    const r = src.createReader(ctx(i, 2));
    const mine: { e: NexmarkEvent; ts: number | undefined }[] = [];
    drain(r, mine, 300);
    assert.equal(mine.length, 300);
    seen.push(...mine);
    states.push(...r.snapshotState(1));
  }
  for (let i = 0; i < 3; i++) {
    const mine: { e: NexmarkEvent; ts: number | undefined }[] = [];
    drain(src.createReader(ctx(i, 3, states.filter((_, k) => k % 3 === i))), mine);
    for (let k = 1; k < mine.length; k++) assert.ok(mine[k]!.ts! >= mine[k - 1]!.ts!, `subtask ${i}: timestamps in order`);
    seen.push(...mine);
  }
  assert.equal(seen.length, count);
  const expected = Array.from({ length: count }, (_, n) => gen.event(n));
  const key = (e: NexmarkEvent): string => JSON.stringify(e);
  assert.deepEqual(seen.map((s) => key(s.e)).sort(), expected.map(key).sort());
  for (const s of seen) {
    const e = s.e;
    assert.equal(s.ts, e.type === 'person' ? e.person.dateTime : e.type === 'auction' ? e.auction.dateTime : e.bid.dateTime);
  }
});

test('nexmark source: the same events on every run (deterministic from the event number)', () => {
  const a: { e: NexmarkEvent; ts: number | undefined }[] = [];
  const b: { e: NexmarkEvent; ts: number | undefined }[] = [];
  drain(new NexmarkSource({ maxEvents: 500 }).createReader(ctx(0, 1)), a);
  drain(new NexmarkSource({ maxEvents: 500 }).createReader(ctx(0, 1)), b);
  assert.equal(a.length, 500);
  assert.deepEqual(a, b);
  // in order: one subtask owns all splits and emits event numbers 0, 1, 2, …
  const gen = new NexmarkGenerator();
  assert.deepEqual(a.map((x) => x.e), Array.from({ length: 500 }, (_, n) => gen.event(n)));
});

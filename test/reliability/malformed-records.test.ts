/**
 * Bad input: `DataStream.parse(fn, { onMalformed })` is the malformed-record policy.
 *  - a side-output tag: malformed records become BadRecords (record, error, position) on
 *    that side output, are counted, and the job goes on with the good ones;
 *  - 'fail': the job fails with MalformedRecordError naming the record and its position,
 *    and after restarts from a checkpoint the position is the same (it is operator state,
 *    not a per-attempt counter).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CollectSink, JobFailedError, MalformedRecordError, OutputTag, StreamEnvironment, type BadRecord, type Source,
} from '../../src/index.ts';

/** One split, in order, replayable: record i = line(i); 50 records per poll with a 1 ms pause between polls. */
function linesSource(count: number, line: (i: number) => string): Source<string> {
  return {
    name: 'lines',
    maxParallelism: 1,
    createReader(ctx) {
      let next = (ctx.restoredState?.[0] as number | undefined) ?? 0;
      let pause = false;
      return {
        poll(out) {
          if (next >= count) return 'end';
          if (pause) {
            pause = false;
            return ctx.clock.sleep(1);
          }
          for (let n = 0; n < 50 && next < count; n++) out.collect(line(next++));
          pause = true;
          return 'more';
        },
        snapshotState: () => [next],
      };
    },
  };
}

function parseNumber(s: string): number {
  const n = Number(s);
  if (s.trim() === '' || !Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(s)}`);
  return n;
}

const line = (i: number): string => (i % 97 === 13 ? `bad-${i}` : String(i));

test('malformed records go to a side output with their position; the good ones go on', async () => {
  const env = new StreamEnvironment({ parallelism: 1 });
  const badTag = new OutputTag<BadRecord<string>>('malformed');
  const good = new CollectSink<number>();
  const bad = new CollectSink<BadRecord<string>>();
  const parsed = env.fromSource(linesSource(1000, line)).parse(parseNumber, { onMalformed: badTag });
  parsed.sinkTo(good);
  parsed.getSideOutput(badTag).sinkTo(bad);
  await env.execute('malformed-side');
  const badIdx = [...Array(1000).keys()].filter((i) => i % 97 === 13);
  assert.deepEqual(bad.values.map((b) => b.record), badIdx.map((i) => `bad-${i}`));
  assert.deepEqual(bad.values.map((b) => b.position.index), badIdx);
  assert.match(bad.values[0]!.error, /not a number: "bad-13"/);
  assert.equal(good.values.length, 1000 - badIdx.length);
  assert.ok(!good.values.some((v) => Number.isNaN(v)));
});

test("'fail' fails the job naming the record's position, the same after restarts from checkpoints", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-malformed-'));
  try {
    const env = new StreamEnvironment({
      parallelism: 1,
      stateBackend: 'heap',
      checkpoints: join(dir, 'cp'),
      stateDir: join(dir, 'state'),
      checkpointInterval: '20ms',
      restartStrategy: { kind: 'fixed-delay', attempts: 2, delayMs: 10 },
    });
    // 3000 records at <= 50k/s: several checkpoints complete before the bad record at 2500.
    env.fromSource(linesSource(3000, (i) => (i === 2500 ? 'oops' : String(i)))).parse(parseNumber).sinkTo(new CollectSink<number>());
    const err = await env.execute('malformed-fail').then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof JobFailedError, String(err));
    let cause: unknown = err;
    while (cause instanceof Error && !(cause instanceof MalformedRecordError)) cause = cause.cause;
    assert.ok(cause instanceof MalformedRecordError, `cause chain of ${String(err)}`);
    assert.equal(cause.position.index, 2500);
    assert.equal(cause.position.subtask, 0);
    assert.match(cause.message, /input record #2500: not a number: "oops" \(record: "oops"\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

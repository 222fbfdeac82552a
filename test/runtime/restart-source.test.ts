/**
 * An in-process restart restores the newest checkpoint THIS execution completed, else
 * where the execution started — never a checkpoint that merely sits in storage (a
 * previous run's, when the job was started without --resume; or a corrupt one that
 * --resume fell back past).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CollectSink, StreamEnvironment, type Source } from '../../src/index.ts';

function letters(count: number): Source<string> {
  return {
    name: 'letters',
    maxParallelism: 1,
    createReader(ctx) {
      let next = (ctx.restoredState?.[0] as number | undefined) ?? 0;
      return {
        poll(out) {
          if (next >= count) return 'end';
          for (let n = 0; n < 20 && next < count; n++, next++) out.collect('a');
          return 'more';
        },
        snapshotState: () => [next],
      };
    },
  };
}

function job(dir: string, failFirstRecord: { armed: boolean }): { env: StreamEnvironment; sink: CollectSink<number> } {
  const env = new StreamEnvironment({
    parallelism: 1, stateBackend: 'heap', checkpoints: join(dir, 'cp'), stateDir: join(dir, 'state'),
    checkpointInterval: '10ms', restartStrategy: { kind: 'fixed-delay', attempts: 1, delayMs: 1 },
  });
  const sink = new CollectSink<number>();
  env.fromSource(letters(2000)).uid('src')
    .map((w) => {
      if (failFirstRecord.armed) {
        failFirstRecord.armed = false;
        throw new Error('injected failure before any checkpoint of this run');
      }
      return w;
    }).uid('fail')
    .keyBy((w) => w)
    .process<number>({
      processElement(_w, ctx, out) {
        const c = ctx.getValueState<number>('count');
        const n = (c.value() ?? 0) + 1;
        c.update(n);
        out.collect(n);
      },
    }).uid('count')
    .sinkTo(sink);
  return { env, sink };
}

test('a restart before this run completed a checkpoint starts from the beginning, not from a previous run\'s checkpoint', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-restart-src-'));
  try {
    const first = job(dir, { armed: false });
    await first.env.execute('letters');
    assert.equal(first.sink.values.at(-1), 2000);
    // Second run of the same job started fresh (--fresh; without it or --resume it would be
    // refused): fails on its first record, restarts once.
    const second = job(dir, { armed: true });
    second.env.configure({ fresh: true });
    await second.env.execute('letters');
    assert.deepEqual(second.sink.values, Array.from({ length: 2000 }, (_, i) => i + 1));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

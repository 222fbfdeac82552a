/**
 * Failure and restart: a user function that throws makes the whole job restart from the
 * latest completed checkpoint (fixed-delay strategy); the committed output is the same
 * as a run without failure. With the 'none' strategy the job fails with JobFailedError.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StreamEnvironment, GeneratorSource, FileSink, JobFailedError, type JobHandle } from '../../src/index.ts';
import { checkExactCounts, committedLines, tempDir, trickleAfter } from './helpers.ts';

interface Count {
  key: number;
  count: number;
}

function buildJob(env: StreamEnvironment, out: string, count: number, maybeThrow: (i: number) => void, release?: () => boolean): void {
  const gen = new GeneratorSource({ generate: (i) => i, count });
  env
    .fromSource(release ? trickleAfter(gen, count / 4, release) : gen)
    .map((i) => {
      maybeThrow(i);
      return i % 97;
    })
    .keyBy((k) => k)
    .process<Count>({
      processElement(key, ctx, o) {
        const s = ctx.getValueState<number>('n');
        const c = (s.value() ?? 0) + 1;
        s.update(c);
        o.collect({ key, count: c });
      },
    })
    .sinkTo(new FileSink<Count>({ directory: out }));
}

function expected(count: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < count; i++) m.set(i % 97, (m.get(i % 97) ?? 0) + 1);
  return m;
}

for (const backend of ['heap', 'lsm'] as const) {
  test(`a throwing user function restarts the job from the latest checkpoint, output exactly once (${backend})`, { timeout: 300_000 }, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'out');
      const env = new StreamEnvironment({
        parallelism: 2, checkpoints: join(dir, 'cp'), stateDir: join(dir, 'state'), checkpointInterval: 30, stateBackend: backend,
        restartStrategy: { kind: 'fixed-delay', attempts: 2, delayMs: 10 },
      });
      // After a quarter of the input the source trickles until the failure happened, so a
      // checkpoint has completed before it (on any machine).
      const N = 60_000;
      let thrown = 0;
      const box: { handle?: JobHandle } = {};
      buildJob(env, out, N, (i) => {
        // Throw once, after at least one checkpoint completed (so the restart restores state).
        if (thrown === 0 && (box.handle?.progress().metrics.checkpointsCompleted ?? 0) > 0) {
          thrown++;
          throw new Error(`boom at ${i}`);
        }
      }, () => thrown > 0);
      box.handle = await env.start('restart');
      const result = await box.handle.done;
      assert.equal(thrown, 1);
      assert.equal(result.metrics.restarts, 1);
      assert.equal(checkExactCounts(committedLines<Count>(out), expected(N)), undefined);
    } finally {
      cleanup();
    }
  });
}

test('with the none strategy a failure ends the job with JobFailedError naming the cause', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const env = new StreamEnvironment({ checkpoints: join(dir, 'cp'), checkpointInterval: 20, restartStrategy: { kind: 'none' } });
    buildJob(env, join(dir, 'out'), 5_000, (i) => {
      if (i === 1234) throw new Error('bad record 1234');
    });
    await assert.rejects(env.execute('fail'), (err: unknown) => err instanceof JobFailedError && /bad record 1234/.test(err.message));
  } finally {
    cleanup();
  }
});

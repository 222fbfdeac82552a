/**
 * Resume at a different parallelism: a job runs at parallelism 2 until it has
 * completed checkpoints, then dies; a new environment resumes the latest checkpoint
 * at parallelism 3 (or 1). Keyed state moves by key groups, generator splits and the
 * file sink's pending transactions are dealt to the new subtasks, and the committed
 * output is still exactly counts 1..n per key.
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

const KEYS = 211;
const N = 30_000;

function build(env: StreamEnvironment, out: string, trickle: boolean, failWhen: () => boolean): void {
  const gen = new GeneratorSource({ generate: (i) => i, count: N, splits: 12 });
  env
    // The first run trickles after a sixth of the input until it fails (after 2 checkpoints).
    .fromSource(trickle ? trickleAfter(gen, N / 12, () => false) : gen)
    .uid('gen')
    .map((i) => {
      if (failWhen()) throw new Error('stop here');
      return (i * 7919) % KEYS;
    })
    .uid('key-of')
    .keyBy((k) => k)
    .process<Count>({
      processElement(key, ctx, o) {
        const s = ctx.getValueState<number>('n');
        const c = (s.value() ?? 0) + 1;
        s.update(c);
        o.collect({ key, count: c });
      },
    })
    .uid('count')
    .sinkTo(new FileSink<Count>({ directory: out }))
    .uid('sink');
}

for (const [backend, to] of [['heap', 3], ['lsm', 3], ['heap', 1]] as const) {
  test(`resume a parallelism-2 checkpoint at parallelism ${to} (${backend})`, { timeout: 300_000 }, async () => {
    const { dir, cleanup } = tempDir();
    try {
      const out = join(dir, 'out');
      const common = { checkpoints: join(dir, 'cp'), stateDir: join(dir, 'state'), stateBackend: backend, maxParallelism: 64 } as const;
      const first = new StreamEnvironment({ ...common, parallelism: 2, checkpointInterval: 20, restartStrategy: { kind: 'none' } });
      const box: { handle?: JobHandle } = {};
      build(first, out, true, () => (box.handle?.progress().metrics.checkpointsCompleted ?? 0) >= 2);
      const handle = (box.handle = await first.start('rescale'));
      await assert.rejects(handle.done, JobFailedError);
      const before = handle.progress().metrics.recordsIn;
      assert.ok(before < N, 'the first run must stop before the end of the input');

      const second = new StreamEnvironment({ ...common, parallelism: to, checkpointInterval: 50, resume: 'latest' });
      build(second, out, false, () => false);
      const result = await second.execute('rescale');
      assert.ok(result.restoredFrom !== undefined && result.restoredFrom >= 2);
      assert.ok(result.metrics.recordsIn < N, `the resumed run replays only what follows the checkpoint (read ${result.metrics.recordsIn})`);
      const expected = new Map<number, number>();
      for (let i = 0; i < N; i++) expected.set((i * 7919) % KEYS, (expected.get((i * 7919) % KEYS) ?? 0) + 1);
      assert.equal(checkExactCounts(committedLines<Count>(out), expected), undefined);
    } finally {
      cleanup();
    }
  });
}

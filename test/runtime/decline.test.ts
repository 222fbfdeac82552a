/**
 * A snapshot that fails declines its checkpoint: the coordinator aborts it, the job
 * goes on without a restart, and later checkpoints complete. Both the synchronous part
 * (snapshot() throws at the barrier) and the asynchronous part (`done` rejects).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StreamEnvironment, GeneratorSource, CollectSink } from '../../src/index.ts';
import { createKeyedStateBackend } from '../../src/state/index.ts';
import type { KeyedStateBackend, SnapshotInProgress } from '../../src/state/types.ts';
import { tempDir } from './helpers.ts';

for (const where of ['sync', 'async'] as const) {
  test(`a failing ${where} snapshot part declines the checkpoint; the job goes on`, { timeout: 300_000 }, async () => {
    const { dir, cleanup } = tempDir();
    try {
      let failures = 0;
      const env = new StreamEnvironment({
        parallelism: 2, checkpoints: join(dir, 'cp'), checkpointInterval: 20, restartStrategy: { kind: 'none' },
        createBackend: async (opts, kind) => {
          const b: KeyedStateBackend = await createKeyedStateBackend(kind, opts);
          const snapshot = b.snapshot.bind(b);
          b.snapshot = (target): SnapshotInProgress => {
            // The first checkpoint of subtask 0 fails.
            if (opts.subtaskIndex === 0 && target.checkpointId === 1) {
              failures++;
              if (where === 'sync') throw new Error('disk on fire (sync)');
              const s = snapshot(target);
              void s.done.catch(() => undefined);
              return { syncMillis: s.syncMillis, done: Promise.reject(new Error('disk on fire (async)')) };
            }
            return snapshot(target);
          };
          return b;
        },
      });
      const sink = new CollectSink<[number, number]>();
      env
        .fromSource(new GeneratorSource({ generate: (i) => i % 10, count: 4000, ratePerSecond: 8000 }))
        .keyBy((k) => k)
        .process<[number, number]>({
          processElement(k, ctx, out) {
            const s = ctx.getValueState<number>('n');
            const n = (s.value() ?? 0) + 1;
            s.update(n);
            out.collect([k, n]);
          },
        })
        .sinkTo(sink);
      const result = await env.execute('decline');
      assert.equal(failures, 1);
      assert.equal(result.metrics.restarts, 0);
      assert.ok(result.metrics.checkpointsFailed >= 1, 'checkpoint 1 was aborted');
      assert.ok(result.metrics.checkpointsCompleted >= 1, 'later checkpoints completed');
      const max = new Map<number, number>();
      for (const [k, n] of sink.values) max.set(k, Math.max(max.get(k) ?? 0, n));
      assert.deepEqual([...max.values()], Array.from({ length: 10 }, () => 400));
    } finally {
      cleanup();
    }
  });
}

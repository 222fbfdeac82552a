/**
 * Concurrency: a long randomized run of the real CheckpointCoordinator with up to 3
 * checkpoints in flight, slow uploads (acks delayed at random, so they arrive out of order), declines,
 * aborts by newer completions, failed `_metadata` writes, late acknowledgements of
 * aborted checkpoints and changing local file sets (incremental reuse). After EVERY step:
 * every file referenced by a completed `_metadata` in storage exists (nothing referenced
 * is ever deleted); at every quiet point and at the end, storage holds nothing that no
 * `_metadata` references (nothing leaked). Bounded: 1500 steps, seeds 1..5.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointCoordinator } from '../../src/checkpoint/coordinator.ts';
import { findOrphans, scanJob } from '../../src/checkpoint/job-scan.ts';
import { referencedPaths } from '../../src/checkpoint/metadata.ts';
import type { SubtaskState } from '../../src/checkpoint/types.ts';
import { FaultInjectingStorage, seededRandom } from '../../src/storage/fault-injecting-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { ManualClock } from '../../src/util/clock.ts';
import { SyntheticIncrementalSubtask } from '../checkpoint/support/synthetic-incremental-subtask.ts';

const JOB = 'job';
const METRICS = { syncMillis: 1, asyncMillis: 1, alignmentMillis: 0 };

async function checkNothingReferencedMissing(storage: FaultInjectingStorage, step: number): Promise<void> {
  const scan = await scanJob(storage.inner, JOB);
  assert.deepEqual(scan.unreadable, [], `step ${step}: unreadable _metadata`);
  const present = new Set(scan.objects.map((o) => o.path));
  for (const m of scan.metadata) {
    for (const p of referencedPaths(m)) assert.ok(present.has(p), `step ${step}: ${p} referenced by checkpoint ${m.checkpointId} was deleted`);
  }
}

async function orphans(storage: FaultInjectingStorage): Promise<string[]> {
  return findOrphans(await scanJob(storage.inner, JOB)).map((o) => o.path);
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`randomized concurrent checkpoints: nothing referenced deleted, nothing leaked (seed ${seed})`, { timeout: 60_000 }, async () => {
    const random = seededRandom(seed);
    const storage = new FaultInjectingStorage(new MemoryStorage(), { seed });
    const subtasks = [0, 1].map((i) => new SyntheticIncrementalSubtask(storage, 'op', i));
    let gen = 0;
    for (const s of subtasks) await s.setLocalFiles(['a.sst', 'b.sst']);
    const coordinator = await CheckpointCoordinator.create({
      job: JOB, storage, clock: new ManualClock(1_000_000),
      participant: {
        triggerCheckpoint: () => true,
        notifyCheckpointComplete: (id) => { for (const s of subtasks) s.notifyCheckpointComplete(id); },
        notifyCheckpointAborted: (id) => { for (const s of subtasks) s.notifyCheckpointAborted(id); },
      },
      expectedTasks: subtasks.map((_, i) => ({ operatorId: 'op', subtaskIndex: i })),
      interval: 0, timeout: 1_000_000, maxParallelism: 128, maxConcurrent: 3, retained: 2,
      operators: [{ operatorId: 'op', parallelism: 2 }],
    });
    const triggered: number[] = [];
    const inFlight = new Set<Promise<unknown>>();
    const track = (p: Promise<unknown>): void => {
      const t = p.catch(() => undefined).finally(() => inFlight.delete(t));
      inFlight.add(t);
    };
    let completed = 0;
    let faultsQueued = 0;
    const ack = (id: number, i: number): void => {
      const delay = Math.floor(random() * 4);
      track((async () => {
        await new Promise((res) => setTimeout(res, delay)); // a slow upload: acks arrive out of order
        const h = await subtasks[i]!.snapshot(JOB, id, 'checkpoint');
        const state: SubtaskState = { operatorId: 'op', subtaskIndex: i, keyed: { ...h, keyGroupRange: { start: i * 64, end: i * 64 + 63 } } };
        coordinator.acknowledge(id, state, METRICS);
      })());
    };
    for (let step = 0; step < 1500; step++) {
      const r = random();
      if (r < 0.25) {
        // Not tracked: it settles only when the checkpoint completes or is aborted.
        void coordinator.triggerCheckpoint('checkpoint').then(() => completed++, () => undefined);
        await new Promise((res) => setImmediate(res));
        for (const h of coordinator.history()) if (!triggered.includes(h.checkpointId)) triggered.push(h.checkpointId);
      } else if (r < 0.65 && triggered.length > 0) {
        // ack one of the recent checkpoints (possibly late: already aborted or completed)
        const recent = triggered.slice(-4);
        const id = recent[Math.floor(random() * recent.length)]!;
        ack(id, Math.floor(random() * 2));
      } else if (r < 0.69 && triggered.length > 0) {
        const id = triggered[Math.floor(random() * triggered.length)]!;
        coordinator.decline(id, 'op', Math.floor(random() * 2), 'random decline');
      } else if (r < 0.74) {
        if (faultsQueued > storage.counters().programmed) continue; // one injected _metadata failure at a time
        faultsQueued++;
        storage.failNext('write', /_metadata$/, new Error('injected _metadata write failure'), random() < 0.5 ? 'before' : 'after');
      } else if (r < 0.9) {
        // the local LSM changes: one file replaced (a flush or compaction)
        const s = subtasks[Math.floor(random() * 2)]!;
        const files = s.localFiles();
        const drop = files[Math.floor(random() * files.length)];
        await s.setLocalFiles([...files.filter((f) => f !== drop), `n${++gen}.sst`]);
      } else {
        await Promise.allSettled([...inFlight]);
        await coordinator.whenIdle();
      }
      await new Promise((res) => setImmediate(res));
      await checkNothingReferencedMissing(storage, step);
    }
    await Promise.allSettled([...inFlight]);
    await coordinator.stop();
    await Promise.allSettled([...inFlight]);
    await coordinator.whenIdle();
    await checkNothingReferencedMissing(storage, 1500);
    assert.ok(completed >= 20, `only ${completed} checkpoints completed`);
    assert.deepEqual(await orphans(storage), [], 'files leaked (referenced by no _metadata)');
  });
}

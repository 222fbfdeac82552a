/**
 * Units behind the ownership traces (issue 9): the checkpoint id counter
 * (checkpoint-id-counter.ts, defect 5), which checkpoints a run owns (restore-claim.ts,
 * defects 1 and 2), and the store's pin on the restored checkpoint.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StorageCheckpointIdCounter } from '../../src/checkpoint/checkpoint-id-counter.ts';
import { ownedCheckpointIds } from '../../src/checkpoint/restore-claim.ts';
import type { CheckpointMetadata } from '../../src/checkpoint/types.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { systemClock } from '../../src/util/clock.ts';

test('checkpoint id counter: never reuses an id, across a crash (gap of at most a block) and a clean close (no gap)', async () => {
  const storage = new MemoryStorage();
  const open = () => StorageCheckpointIdCounter.open({ storage, job: 'wc', clock: systemClock, block: 4 });
  const handed: number[] = [];
  const take = async (c: StorageCheckpointIdCounter, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      let id = c.next();
      for (let k = 0; id === undefined && k < 100; k++) {
        await new Promise((r) => setImmediate(r)); // the reservation is being extended
        id = c.next();
      }
      assert.ok(id !== undefined, 'the counter never extended its reservation');
      handed.push(id);
    }
  };
  const a = await open();
  await take(a, 7); // 1..7, reservation extended in the background
  // crash: no close(). The next process starts at or above the durable reservation.
  const b = await open();
  assert.ok(b.peek() > 7, `after a crash the next id ${b.peek()} must be above 7`);
  await take(b, 3);
  await b.close();
  const c = await open();
  assert.equal(c.peek(), handed.at(-1)! + 1, 'after a clean close the ids continue without a gap');
  await c.advanceTo(50); // ids found in storage from before
  await take(c, 2);
  assert.deepEqual(handed.slice(-2), [50, 51]);
  assert.equal(new Set(handed).size, handed.length, `an id was handed out twice: ${handed.join(', ')}`);
  for (let i = 1; i < handed.length; i++) assert.ok(handed[i]! > handed[i - 1]!);
});

function meta(id: number, runId: string | undefined, restoredFrom?: number, kind: 'checkpoint' | 'savepoint' = 'checkpoint'): CheckpointMetadata {
  return {
    formatVersion: 1, job: 'wc', checkpointId: id, kind, triggerTime: 0, completeTime: 0, maxParallelism: 128,
    operators: [], subtasks: [], fullSize: 0, checkpointedSize: 0,
    ...(runId !== undefined ? { runId } : {}), ...(restoredFrom !== undefined ? { restoredFrom } : {}),
  };
}

test('ownership: a run owns its own checkpoints and the restored one\'s lineage, never newer ones or another fresh run\'s', () => {
  // run a (fresh): 1 2 3; run b resumed 1: 4 5; run c fresh: 6; legacy files without run ids: none here
  const all = [meta(1, 'a'), meta(2, 'a'), meta(3, 'a'), meta(4, 'b', 1), meta(5, 'b', 1), meta(6, 'c')];
  const ids = (s: Set<number>): number[] => [...s].sort((x, y) => x - y);
  assert.deepEqual(ids(ownedCheckpointIds(all, { runId: 'd', restoredFrom: 3 })), [1, 2, 3], 'resume latest of a: a\'s lineage');
  assert.deepEqual(ids(ownedCheckpointIds(all, { runId: 'd', restoredFrom: 1 })), [1], 'resume chk-1: 2 and 3 are a future it stepped back from');
  assert.deepEqual(ids(ownedCheckpointIds(all, { runId: 'd', restoredFrom: 5 })), [1, 4, 5], 'b\'s lineage goes through a\'s chk-1 only');
  assert.deepEqual(ids(ownedCheckpointIds(all, { runId: 'd', restoredFrom: 6 })), [6], 'a fresh run\'s lineage holds nothing older');
  assert.deepEqual(ids(ownedCheckpointIds(all, { runId: 'd' })), [], 'a fresh start owns nothing');
  assert.deepEqual(ids(ownedCheckpointIds(all, { runId: 'b' })), [4, 5], 'a run always owns what it completed');
  // files from before run ids: one legacy run
  const legacy = [meta(1, undefined), meta(2, undefined), meta(3, undefined)];
  assert.deepEqual(ids(ownedCheckpointIds(legacy, { runId: 'e', restoredFrom: 2 })), [1, 2]);
  // a savepoint as restore point: its run's older checkpoints, never the savepoint itself (never subsumed)
  const withSp = [meta(1, 'a'), meta(2, 'a', undefined, 'savepoint'), meta(3, 'a')];
  assert.deepEqual(ids(ownedCheckpointIds(withSp, { runId: 'f', restoredFrom: 2 })), [1]);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planRestore } from '../../src/checkpoint/restore-plan.ts';
import { METADATA_FORMAT_VERSION } from '../../src/checkpoint/types.ts';
import type { CheckpointMetadata, SubtaskState } from '../../src/checkpoint/types.ts';
import { keyGroupRangeForSubtask } from '../../src/state/key-groups.ts';
import { ConfigError } from '../../src/util/errors.ts';

function checkpoint(maxP: number, oldP: number, opItems: (i: number) => unknown[] = (i) => [`s${i}a`, `s${i}b`]): CheckpointMetadata {
  const subtasks: SubtaskState[] = Array.from({ length: oldP }, (_, i) => ({
    operatorId: 'op',
    subtaskIndex: i,
    keyed: {
      format: 'lsm', mode: 'incremental', backendId: `b${i}`, operatorId: 'op', subtaskIndex: i,
      keyGroupRange: keyGroupRangeForSubtask(maxP, oldP, i), maxParallelism: maxP, checkpointId: 7,
      sharedFiles: [], privateFiles: [], fullSize: 0, incrementalSize: 0, states: [],
    },
    operatorState: [
      { name: 'offsets', mode: 'split', items: opItems(i) },
      { name: 'txns', mode: 'union', items: [`t${i}`] },
    ],
  }));
  return {
    formatVersion: METADATA_FORMAT_VERSION, job: 'j', checkpointId: 7, kind: 'checkpoint', triggerTime: 0, completeTime: 0,
    maxParallelism: maxP, operators: [{ operatorId: 'op', parallelism: oldP }], subtasks, fullSize: 0, checkpointedSize: 0,
  };
}

test('key-group ranges follow Flink (maxP 128, p 3): [0,42] [43,85] [86,127]', () => {
  const plan = planRestore(checkpoint(128, 2), { op: 3 });
  assert.deepEqual(plan.operators[0]!.subtasks.map((s) => [s.keyGroupRange.start, s.keyGroupRange.end]), [[0, 42], [43, 85], [86, 127]]);
  // subtask 1 [43,85] straddles old [0,63] and [64,127]
  assert.deepEqual(plan.operators[0]!.subtasks[1]!.keyedHandles.map((h) => h.subtaskIndex), [0, 1]);
  assert.equal(plan.operators[0]!.subtasks[1]!.sameRange, false);
});

test('property: every key group is assigned exactly once and its handle goes with it; same parallelism is the identity', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 512 }), fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (maxP, a, b) => {
      const oldP = Math.min(a, maxP);
      const newP = Math.min(b, maxP);
      const meta = checkpoint(maxP, oldP, (i) => Array.from({ length: i % 3 }, (_, k) => `${i}.${k}`));
      const plan = planRestore(meta, new Map([['op', newP]]));
      const subtasks = plan.operators[0]!.subtasks;
      const owner = new Array<number>(maxP).fill(-1);
      for (const s of subtasks) {
        for (let g = s.keyGroupRange.start; g <= s.keyGroupRange.end; g++) {
          assert.equal(owner[g], -1, `key group ${g} assigned twice`);
          owner[g] = s.subtaskIndex;
          const oldOwner = meta.subtasks.find((o) => g >= o.keyed!.keyGroupRange.start && g <= o.keyed!.keyGroupRange.end)!;
          assert.ok(s.keyedHandles.includes(oldOwner.keyed!), `key group ${g}: its handle is missing`);
        }
        for (const h of s.keyedHandles) {
          assert.ok(h.keyGroupRange.start <= s.keyGroupRange.end && h.keyGroupRange.end >= s.keyGroupRange.start, 'handle does not intersect');
        }
      }
      assert.ok(owner.every((o) => o >= 0), 'a key group is unassigned');
      // split items are conserved; union items go everywhere
      const before = meta.subtasks.flatMap((s) => s.operatorState![0]!.items).sort();
      const after = subtasks.flatMap((s) => s.operatorState.find((e) => e.name === 'offsets')!.items).sort();
      assert.deepEqual(after, before);
      for (const s of subtasks) assert.equal(s.operatorState.find((e) => e.name === 'txns')!.items.length, oldP);
      if (oldP === newP) {
        subtasks.forEach((s, i) => {
          assert.deepEqual(s.keyedHandles, [meta.subtasks[i]!.keyed]);
          assert.ok(s.sameRange);
          assert.deepEqual(s.operatorState.find((e) => e.name === 'offsets')!.items, meta.subtasks[i]!.operatorState![0]!.items);
        });
      }
    }),
    { numRuns: 300, seed: 7 },
  );
});

test('refuses another maxParallelism, dropped state without allowNonRestoredState; new operators start empty', () => {
  const meta = checkpoint(128, 2);
  assert.throws(() => planRestore(meta, { op: 2 }, { maxParallelism: 256 }), ConfigError);
  assert.throws(() => planRestore(meta, { other: 1 }), (e: unknown) => e instanceof ConfigError && /allowNonRestoredState/.test(e.message));
  const plan = planRestore(meta, { other: 2 }, { allowNonRestoredState: true });
  assert.equal(plan.operators[0]!.oldParallelism, undefined);
  assert.deepEqual(plan.operators[0]!.subtasks.map((s) => s.keyedHandles.length), [0, 0]);
  assert.throws(() => planRestore(meta, { op: 129 }), ConfigError);
});

test('split state is dealt round-robin when parallelism changes', () => {
  const plan = planRestore(checkpoint(128, 2), { op: 3 });
  assert.deepEqual(plan.operators[0]!.subtasks.map((s) => s.operatorState.find((e) => e.name === 'offsets')!.items), [['s0a', 's1b'], ['s0b'], ['s1a']]);
});

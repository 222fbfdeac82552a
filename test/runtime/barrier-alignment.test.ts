/**
 * Exactly-once barrier alignment at a task with two input channels: after barrier n
 * arrives on one input, that input's later records wait until barrier n arrived on the
 * other input too; the snapshot sees exactly the records before the barriers, then the
 * held records are processed and the barrier goes downstream once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/util/clock.ts';
import { LocalChannel } from '../../src/runtime/channel.ts';
import { Barrier, END } from '../../src/runtime/elements.ts';
import { buildExecutionPlan } from '../../src/runtime/execution-plan.ts';
import type { JobGraph } from '../../src/runtime/job-graph.ts';
import { RecordWriter } from '../../src/runtime/record-writer.ts';
import { Task, type TaskServices } from '../../src/runtime/task/task.ts';
import { TurnBudget } from '../../src/runtime/turn-budget.ts';
import { StatelessOperator, type OperatorSnapshot } from '../../src/runtime/operator.ts';
import { msgpackSerializer } from '../../src/state/serializers.ts';
import type { SubtaskState } from '../../src/checkpoint/types.ts';

class Recorder extends StatelessOperator {
  seen: unknown[] = [];
  snapshots: { id: number; seen: unknown[] }[] = [];
  processElement(value: unknown): void {
    this.seen.push(value);
    this.out.collect(value, undefined);
  }
  override snapshotState(checkpointId: number): OperatorSnapshot {
    this.snapshots.push({ id: checkpointId, seen: [...this.seen] });
    return { operatorState: [{ name: 'seen', mode: 'split', items: [this.seen.length] }] };
  }
}

function setup() {
  const recorder = new Recorder();
  // Two sources (not run here: the test plays their part) feeding one two-input operator.
  const graph: JobGraph = {
    name: 't',
    maxParallelism: 8,
    nodes: [
      { index: 0, operatorId: 'a', name: 'a', parallelism: 1, inputs: [], source: { name: 'a', createReader: () => { throw new Error('unused'); } } },
      { index: 1, operatorId: 'b', name: 'b', parallelism: 1, inputs: [], source: { name: 'b', createReader: () => { throw new Error('unused'); } } },
      { index: 2, operatorId: 'r', name: 'r', parallelism: 1, inputs: [{ from: 0, partitioning: 'forward' }, { from: 1, partitioning: 'forward' }], createOperator: () => recorder },
    ],
  };
  const plan = buildExecutionPlan(graph);
  const in0 = new LocalChannel('a→r', 100);
  const in1 = new LocalChannel('b→r', 100);
  const downstream = new LocalChannel('r→out', 100);
  const acks: { id: number; states: SubtaskState[] }[] = [];
  const clock = new ManualClock(1000);
  const services: TaskServices = {
    clock,
    jobPath: 't',
    maxParallelism: 8,
    checkpointingEnabled: true,
    batchSize: 64,
    metrics: { recordsIn: 0, recordsOut: 0 },
    turns: new TurnBudget(clock),
    createBackend: () => Promise.reject(new Error('no keyed state here')),
    restoredOperatorState: () => undefined,
    acknowledge: (id, states) => acks.push({ id, states }),
    decline: (id, reason) => assert.fail(`declined ${id}: ${reason}`),
    sourceFinished: () => undefined,
  };
  const writer = new RecordWriter([downstream], 'forward', 8, undefined, msgpackSerializer);
  const task = new Task(plan.chains[2]!, 0, [in0, in1], new Map([[2, [{ tag: undefined, writer }]]]), services);
  return { task, recorder, in0, in1, downstream, acks };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

function drainAll(ch: LocalChannel): unknown[] {
  const out: unknown[] = [];
  ch.drain((v) => (out.push(v), true), 1000);
  return out;
}

test('a two-input task blocks the input that delivered the barrier until both have it', async () => {
  const { task, recorder, in0, in1, downstream, acks } = setup();
  const run = task.run();
  const barrier = new Barrier(1, 0, 'checkpoint');
  in0.pushRecord('a1', undefined);
  in0.pushRecord('a2', undefined);
  in0.pushControl(barrier);
  in0.pushRecord('a3-after', undefined);
  in1.pushRecord('b1', undefined);
  for (let i = 0; i < 5; i++) await tick();
  // a3 is held back: it belongs to checkpoint 2's side of the barrier.
  assert.deepEqual(new Set(recorder.seen), new Set(['a1', 'a2', 'b1']));
  assert.equal(recorder.snapshots.length, 0);
  in1.pushRecord('b2', undefined);
  in1.pushControl(barrier);
  in1.pushRecord('b3-after', undefined);
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(recorder.snapshots.length, 1);
  assert.deepEqual(new Set(recorder.snapshots[0]!.seen), new Set(['a1', 'a2', 'b1', 'b2']), 'the snapshot holds exactly the records before the barriers');
  assert.deepEqual(new Set(recorder.seen), new Set(['a1', 'a2', 'b1', 'b2', 'a3-after', 'b3-after']));
  for (let i = 0; i < 5; i++) await tick();
  assert.equal(acks.length, 1);
  assert.equal(acks[0]!.id, 1);
  assert.deepEqual(acks[0]!.states[0]!.operatorState, [{ name: 'seen', mode: 'split', items: [4] }]);
  // Downstream: the four pre-barrier records, one barrier, then the rest.
  const out = drainAll(downstream);
  const barrierAt = out.findIndex((v) => v instanceof Barrier);
  assert.equal(out.filter((v) => v instanceof Barrier).length, 1);
  assert.deepEqual(new Set(out.slice(0, barrierAt)), new Set(['a1', 'a2', 'b1', 'b2']));
  assert.deepEqual(new Set(out.slice(barrierAt + 1)), new Set(['a3-after', 'b3-after']));
  in0.pushControl(END);
  in1.pushControl(END);
  await run;
});

test('a newer barrier overtaking an unfinished alignment declines the older checkpoint', async () => {
  const { task, recorder, in0, in1, acks } = setup();
  const declined: number[] = [];
  (task as unknown as { services: TaskServices }).services.decline = (id) => declined.push(id);
  const run = task.run();
  in0.pushControl(new Barrier(1, 0, 'checkpoint'));
  in0.pushRecord('x', undefined);
  await tick();
  // Checkpoint 1 was aborted upstream of input 1: its barrier never comes; barrier 2 does.
  in1.pushControl(new Barrier(2, 0, 'checkpoint'));
  in0.pushControl(new Barrier(2, 0, 'checkpoint'));
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(declined, [1]);
  assert.deepEqual(recorder.snapshots.map((s) => s.id), [2]);
  for (let i = 0; i < 5; i++) await tick();
  assert.deepEqual(acks.map((a) => a.id), [2]);
  in0.pushControl(END);
  in1.pushControl(END);
  await run;
});

/**
 * Runs a checkpoint scenario trace (testdata/*.trace, format described at the top of
 * seed-example.trace) through the real CheckpointCoordinator, CompletedCheckpointStore
 * and SharedStateRegistry, against any CheckpointStorage, with any TraceSubtask
 * implementation: SyntheticIncrementalSubtask today; the lsm backend can be plugged in
 * through `makeSubtask` to replay the same trace (DESIGN.md §3.5).
 *
 * Steps (see testdata/*.trace):
 *   local <names…>        the subtask's live local files (TraceSubtask.setLocalFiles)
 *   checkpoint N          trigger N, snapshot, acknowledge, wait: must complete
 *   trigger N [savepoint] only trigger (the subtask does nothing yet)
 *   snapshot N            the subtask takes its snapshot of N now (uploads happen here)
 *   ack N                 deliver that snapshot to the coordinator (late if N was aborted)
 *   decline N [reason]    the subtask declines N
 *   timeout               the clock passes the checkpoint timeout
 *   await                 let the coordinator's completion and cleanup work finish
 * Expectations (exact): completed <ids…>, aborted <ids…>, uploaded/reused <names…> (of the
 * last snapshot), registry <key:count…>, stored <names…> (shared/ in storage), retained <ids…>
 * (also checks chk-N/_metadata and taskowned/). A mismatch throws an AssertionError naming
 * the trace line.
 */
import assert from 'node:assert/strict';
import { CheckpointCoordinator } from '../../../src/checkpoint/coordinator.ts';
import type { CheckpointEvent } from '../../../src/checkpoint/coordinator.ts';
import type { CheckpointParticipant } from '../../../src/checkpoint/types.ts';
import type { KeyedStateHandle } from '../../../src/state/handles.ts';
import type { CheckpointStorage } from '../../../src/storage/checkpoint-storage.ts';
import { ManualClock } from '../../../src/util/clock.ts';
import type { TraceSubtask } from './synthetic-incremental-subtask.ts';

export interface TraceStep {
  readonly line: number;
  readonly op: string;
  readonly args: readonly string[];
}

export interface ParsedTrace {
  readonly config: Readonly<Record<string, string>>;
  readonly steps: readonly TraceStep[];
}

export function parseTrace(text: string): ParsedTrace {
  const config: Record<string, string> = {};
  const steps: TraceStep[] = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const [op, ...args] = line.split(/\s+/);
    if (op === 'config') {
      for (const a of args) {
        const [k, v] = a.split('=');
        if (k === undefined || v === undefined) throw new Error(`trace line ${i + 1}: bad config ${a}`);
        config[k] = v;
      }
      continue;
    }
    steps.push({ line: i + 1, op: op!, args });
  }
  return { config, steps };
}

export interface TraceRun {
  readonly coordinator: CheckpointCoordinator;
  readonly subtask: TraceSubtask;
  readonly events: CheckpointEvent[];
  /** Every handle acknowledged, by checkpoint id. */
  readonly handles: Map<number, KeyedStateHandle>;
}

export async function runIncrementalTrace(options: {
  readonly trace: string;
  readonly storage: CheckpointStorage;
  readonly job: string;
  readonly makeSubtask: (operatorId: string, subtaskIndex: number) => TraceSubtask;
}): Promise<TraceRun> {
  const { config, steps } = parseTrace(options.trace);
  const operatorId = config['operator'] ?? 'op-0';
  const subtaskIndex = Number(config['subtask'] ?? '0');
  const retained = Number(config['retained'] ?? '1');
  const maxConcurrent = Number(config['maxConcurrent'] ?? '1');
  const timeout = 60_000;
  const subtask = options.makeSubtask(operatorId, subtaskIndex);
  const clock = new ManualClock(1_700_000_000_000);
  const events: CheckpointEvent[] = [];
  const handles = new Map<number, KeyedStateHandle>();
  /** Snapshots taken but not yet delivered to the coordinator. */
  const held = new Map<number, KeyedStateHandle>();
  const kinds = new Map<number, 'checkpoint' | 'savepoint'>();
  const outcomes = new Map<number, 'pending' | 'completed' | 'aborted'>();
  const participant: CheckpointParticipant = {
    triggerCheckpoint: (id, _ts, kind) => {
      kinds.set(id, kind);
      return true;
    },
    notifyCheckpointComplete: (id) => subtask.notifyCheckpointComplete(id),
    notifyCheckpointAborted: (id) => subtask.notifyCheckpointAborted(id),
  };
  const coordinator = await CheckpointCoordinator.create({
    job: options.job,
    storage: options.storage,
    clock,
    participant,
    expectedTasks: [{ operatorId, subtaskIndex }],
    interval: 0,
    timeout,
    maxConcurrent,
    retained,
    maxParallelism: 128,
    operators: [{ operatorId, parallelism: subtaskIndex + 1 }],
    onEvent: (e) => events.push(e),
  });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    await coordinator.whenIdle();
  };
  const trigger = (at: string, id: number, kind: 'checkpoint' | 'savepoint'): Promise<unknown> => {
    assert.equal(coordinator.peekNextCheckpointId(), id, `${at}: next checkpoint id`);
    outcomes.set(id, 'pending');
    return coordinator.triggerCheckpoint(kind).then(
      () => outcomes.set(id, 'completed'),
      () => outcomes.set(id, 'aborted'),
    );
  };
  const snapshot = async (at: string, id: number): Promise<void> => {
    const kind = kinds.get(id);
    assert.ok(kind, `${at}: checkpoint ${id} was not triggered`);
    const keyed = await subtask.snapshot(options.job, id, kind);
    handles.set(id, keyed);
    held.set(id, keyed);
    last = keyed;
  };
  const ack = (at: string, id: number): void => {
    const keyed = held.get(id);
    assert.ok(keyed, `${at}: no snapshot of ${id} to acknowledge`);
    held.delete(id);
    coordinator.acknowledge(id, { operatorId, subtaskIndex, keyed }, { syncMillis: 1, asyncMillis: 2, alignmentMillis: 0 });
  };

  let last: KeyedStateHandle | undefined;
  const words = (args: readonly string[]): string[] => [...args].sort();
  for (const step of steps) {
    const at = `trace line ${step.line} (${step.op} ${step.args.join(' ')})`;
    const id = Number(step.args[0]);
    switch (step.op) {
      case 'local':
        await subtask.setLocalFiles(step.args);
        break;
      case 'checkpoint': {
        // trigger + snapshot + ack + wait: one checkpoint from start to end
        const done = trigger(at, id, 'checkpoint');
        await snapshot(at, id);
        ack(at, id);
        await done;
        await settle();
        assert.equal(outcomes.get(id), 'completed', `${at}: checkpoint ${id} did not complete`);
        break;
      }
      case 'trigger':
        void trigger(at, id, step.args[1] === 'savepoint' ? 'savepoint' : 'checkpoint');
        break;
      case 'snapshot':
        await snapshot(at, id);
        break;
      case 'ack':
        ack(at, id);
        break;
      case 'decline':
        coordinator.decline(id, operatorId, subtaskIndex, step.args.slice(1).join(' ') || 'declined by the trace');
        break;
      case 'timeout':
        clock.advance(timeout);
        break;
      case 'await':
        await settle();
        break;
      case 'completed':
      case 'aborted':
        await settle();
        assert.deepEqual(
          [...outcomes].filter(([, o]) => o === step.op).map(([i]) => String(i)),
          step.args,
          at,
        );
        break;
      case 'uploaded':
        assert.deepEqual(words(last!.sharedFiles.filter((f) => !f.reused).map((f) => f.localName)), words(step.args), at);
        break;
      case 'reused':
        assert.deepEqual(words(last!.sharedFiles.filter((f) => f.reused).map((f) => f.localName)), words(step.args), at);
        break;
      case 'registry': {
        const actual = coordinator.registry.entries().map((e) => `${e.key}:${e.refCount}`);
        assert.deepEqual(words(actual), words(step.args), at);
        break;
      }
      case 'stored': {
        const byPath = new Map<string, string>();
        for (const h of handles.values()) for (const f of h.sharedFiles) byPath.set(f.path, f.localName);
        const listed = await options.storage.list(`${options.job}/shared/`);
        const names = listed.map((o) => byPath.get(o.path) ?? `<unknown ${o.path}>`);
        assert.deepEqual(words(names), words(step.args), at);
        break;
      }
      case 'retained': {
        const ids = coordinator.store.checkpoints().map((m) => String(m.checkpointId));
        assert.deepEqual(ids, step.args, at);
        const metadataFiles = (await options.storage.list(`${options.job}/`))
          .map((o) => /^[^/]+\/chk-(\d+)\/_metadata$/.exec(o.path)?.[1])
          .filter((x): x is string => x !== undefined);
        assert.deepEqual(words(metadataFiles), words(step.args), `${at}: chk-N/_metadata in storage`);
        // private files: exactly those of the retained checkpoints and the savepoints
        const privates = coordinator.store.all().flatMap((m) => m.subtasks.flatMap((s) => s.keyed?.privateFiles.map((f) => f.path) ?? []));
        const listed = (await options.storage.list(`${options.job}/taskowned/`)).map((o) => o.path);
        assert.deepEqual(words(listed), words(privates), `${at}: taskowned/`);
        break;
      }
      default:
        throw new Error(`${at}: unknown step`);
    }
  }
  assert.equal(held.size, 0, `snapshots never acknowledged: ${[...held.keys()].join(', ')}`);
  return { coordinator, subtask, events, handles };
}

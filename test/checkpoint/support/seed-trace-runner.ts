/**
 * Runs a checkpoint scenario trace (testdata/*.trace, format described at the top of
 * seed-example.trace) through the real CheckpointCoordinator, CompletedCheckpointStore
 * and SharedStateRegistry, against any CheckpointStorage, with any TraceSubtask
 * implementation: SyntheticIncrementalSubtask today; the lsm backend can be plugged in
 * through `makeSubtask` to replay the same trace (DESIGN.md §3.5).
 *
 * After every `checkpoint` step the expectations that follow it are checked; a mismatch
 * throws an AssertionError naming the trace line.
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
  const subtask = options.makeSubtask(operatorId, subtaskIndex);
  const clock = new ManualClock(1_700_000_000_000);
  const events: CheckpointEvent[] = [];
  const handles = new Map<number, KeyedStateHandle>();
  const holder: { c?: CheckpointCoordinator } = {};
  const participant: CheckpointParticipant = {
    triggerCheckpoint(id, _ts, kind) {
      subtask
        .snapshot(options.job, id, kind)
        .then((keyed) => {
          handles.set(id, keyed);
          holder.c!.acknowledge(id, { operatorId, subtaskIndex, keyed }, { syncMillis: 1, asyncMillis: 2, alignmentMillis: 0 });
        })
        .catch((err: unknown) => holder.c!.decline(id, operatorId, subtaskIndex, String(err)));
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
    timeout: 60_000,
    retained,
    maxParallelism: 128,
    operators: [{ operatorId, parallelism: subtaskIndex + 1 }],
    onEvent: (e) => events.push(e),
  });
  holder.c = coordinator;

  let last: KeyedStateHandle | undefined;
  const words = (args: readonly string[]): string[] => [...args].sort();
  for (const step of steps) {
    const at = `trace line ${step.line} (${step.op} ${step.args.join(' ')})`;
    switch (step.op) {
      case 'local':
        await subtask.setLocalFiles(step.args);
        break;
      case 'checkpoint': {
        const id = Number(step.args[0]);
        assert.equal(coordinator.peekNextCheckpointId(), id, `${at}: next checkpoint id`);
        await coordinator.triggerCheckpoint('checkpoint');
        await coordinator.whenIdle();
        last = handles.get(id);
        assert.ok(last, `${at}: no handle acknowledged`);
        break;
      }
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
        // private files: exactly those of the retained checkpoints
        const privates = coordinator.store.checkpoints().flatMap((m) => m.subtasks.flatMap((s) => s.keyed?.privateFiles.map((f) => f.path) ?? []));
        const listed = (await options.storage.list(`${options.job}/taskowned/`)).map((o) => o.path);
        assert.deepEqual(words(listed), words(privates), `${at}: taskowned/`);
        break;
      }
      default:
        throw new Error(`${at}: unknown step`);
    }
  }
  return { coordinator, subtask, events, handles };
}

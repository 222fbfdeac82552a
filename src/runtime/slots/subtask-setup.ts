/**
 * What every subtask gets when an attempt starts, computed the same way on the main
 * thread and in a worker: its part of the restored checkpoint (src/checkpoint's
 * planner: key-group ranges and operator state, so a checkpoint taken with N workers or
 * subtasks restores on M) and its state backend's options.
 */
import type { CheckpointStorage } from '../../storage/checkpoint-storage.ts';
import { keyGroupRangeForSubtask } from '../../state/key-groups.ts';
import type { Serializer, StateBackendOptions } from '../../state/types.ts';
import type { CheckpointMetadata, OperatorStateEntry } from '../../checkpoint/types.ts';
import { planRestore, type SubtaskRestorePlan } from '../../checkpoint/restore-plan.ts';
import type { JobGraph, JobNode } from '../job-graph.ts';

export interface RestoreAssignment {
  /** Undefined: fresh start (no checkpoint restored). */
  operatorState(operatorId: string, subtaskIndex: number): readonly OperatorStateEntry[] | undefined;
  keyedHandles(node: JobNode, subtaskIndex: number): StateBackendOptions['restoreFrom'];
}

export function assignRestore(graph: JobGraph, restore: CheckpointMetadata | undefined): RestoreAssignment {
  const restores = new Map<string, SubtaskRestorePlan>();
  if (restore) {
    const plan = planRestore(restore, new Map(graph.nodes.map((n) => [n.operatorId, n.parallelism])), { maxParallelism: graph.maxParallelism });
    for (const op of plan.operators) for (const s of op.subtasks) restores.set(`${s.operatorId}#${s.subtaskIndex}`, s);
  }
  return {
    operatorState: (operatorId, subtaskIndex) => (restore ? (restores.get(`${operatorId}#${subtaskIndex}`)?.operatorState ?? []) : undefined),
    keyedHandles: (node, subtaskIndex) => (restore ? (restores.get(`${node.operatorId}#${subtaskIndex}`)?.keyedHandles ?? []) : []),
  };
}

export interface BackendPlace {
  readonly stateDir: string;
  readonly jobPath: string;
  readonly attempt: number;
  readonly storage: CheckpointStorage;
  readonly keySerializer: Serializer<unknown>;
  /** The run's id, in every upload's name (src/storage/job-layout.ts); without one (a backend used alone) the backend makes its own. */
  readonly runId?: string;
}

export function backendOptions(place: BackendPlace, graph: JobGraph, node: JobNode, subtaskIndex: number, restore: RestoreAssignment): StateBackendOptions {
  const maxP = graph.maxParallelism;
  return {
    operatorId: node.operatorId,
    subtaskIndex,
    maxParallelism: maxP,
    keyGroupRange: keyGroupRangeForSubtask(maxP, node.parallelism, subtaskIndex),
    keySerializer: place.keySerializer,
    localDir: `${place.stateDir}/${place.jobPath}/attempt-${place.attempt}/${node.operatorId}-${subtaskIndex}`,
    storage: place.storage,
    ...(place.runId !== undefined ? { runId: place.runId } : {}),
    restoreFrom: restore.keyedHandles(node, subtaskIndex) ?? [],
  };
}

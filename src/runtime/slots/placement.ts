/**
 * Which worker (task slot) runs which subtask. Subtask i of every chain goes to worker
 * i mod W, Flink's slot sharing in its simplest form: a slot holds one subtask of each
 * chain, so a forward edge (i → i) never leaves its worker and stays in memory, and the
 * keyed state of a subtask lives with the worker that runs it.
 */
import type { ExecutionPlan } from '../execution-plan.ts';

export interface Placement {
  /** Workers that get at least one subtask (never more than the largest parallelism). */
  readonly workers: number;
  workerOf(chain: number, subtask: number): number;
}

export function placeSubtasks(plan: ExecutionPlan, requested: number): Placement {
  const maxP = Math.max(1, ...plan.chains.map((c) => c.parallelism));
  const workers = Math.max(1, Math.min(requested, maxP));
  return { workers, workerOf: (_chain, subtask) => subtask % workers };
}

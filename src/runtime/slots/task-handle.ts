/**
 * What the job (JobExecution) and the observers hold of a running subtask, wherever it
 * runs: a `Task` on this thread implements it directly; a subtask on a worker thread is
 * represented by a proxy (worker-pool.ts) that turns the calls into messages and the
 * worker's reports into `stats()` and the settling of `run()`.
 */
import type { Barrier } from '../elements.ts';
import type { ChainPlan } from '../execution-plan.ts';

/** Counters of one task, for the observability layer. */
export interface TaskStats {
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly backpressureMillis: number;
}

export interface TaskHandle {
  readonly name: string;
  readonly chain: ChainPlan;
  readonly subtaskIndex: number;
  /** The worker thread it runs on (undefined: the main thread). */
  readonly worker: number | undefined;
  /** Settles when the subtask ended (resolves) or failed (rejects). */
  run(): Promise<void>;
  triggerBarrier(barrier: Barrier): void;
  notifyCheckpointComplete(checkpointId: number): void;
  notifyCheckpointAborted(checkpointId: number): void;
  releaseEnd(): void;
  cancel(): void;
  stats(): TaskStats;
  isFinished(): boolean;
}

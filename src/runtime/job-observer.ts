/**
 * JobObserver: the read-only window the observability layer (src/web: REST API,
 * dashboard, Prometheus metrics, logs) has on a running job. The runtime and the
 * environment call these hooks at a few points; an observer only reads what it is
 * handed and must never throw into the job (a throwing hook is caught and ignored by
 * `notifyObserver`) nor keep a task waiting.
 *
 * Ownership: the objects passed (execution, coordinator, backends) still belong to the
 * job. An observer may call their read-only methods (history(), registry.entries(),
 * currentTasks(), TaskHandle.stats(), LsmStore.stats()/liveFiles()) from the event loop, never
 * anything that changes them.
 */
import type { CheckpointCoordinator, CheckpointEvent } from '../checkpoint/coordinator.ts';
import type { CheckpointMetadata, SubtaskCheckpointMetrics, SubtaskState } from '../checkpoint/types.ts';
import type { KeyedStateBackend } from '../state/types.ts';
import type { UserFunctionFailure } from '../util/errors.ts';
import type { ExecutionPlan } from './execution-plan.ts';
import type { TaskHandle } from './slots/task-handle.ts';
import type { WorkerInfo } from './slots/worker-pool.ts';

/** What an observer may read of the running job (JobExecution implements it). */
export interface ObservableExecution {
  readonly plan: ExecutionPlan;
  readonly metrics: { readonly recordsIn: number; readonly recordsOut: number; readonly restarts: number };
  /** The tasks of the current attempt (empty between attempts). */
  currentTasks(): readonly TaskHandle[];
  /** The worker threads of the current attempt (empty: every subtask on the main thread). */
  workers?(): readonly WorkerInfo[];
}

/** A state backend opened by a task: for a fresh start or a restore. */
export interface BackendOpened {
  readonly operatorId: string;
  readonly subtaskIndex: number;
  /** Attempt index (0 = first run, n = n-th restart). */
  readonly attempt: number;
  readonly localDir: string;
  /** Checkpoint id of the restored handles, undefined for an empty start. */
  readonly restoredFrom: number | undefined;
  /** Time from the call to the opened backend (download + open on a restore), ms. */
  readonly openMillis: number;
  /** The backend itself, or (subtask on a worker thread) a mirror of its counters updated by the worker's reports. */
  readonly backend: ObservedBackend;
}

/** What an observer may read of a state backend (an lsm backend also has `lsmStore()`: stats and live files). */
export type ObservedBackend = Pick<KeyedStateBackend, 'kind' | 'approximateSize'>;

/** What an observer learns of a failed attempt besides its message. */
export interface AttemptFailureInfo {
  /** True when the job restarts; false when this failure ends it. */
  readonly restarting: boolean;
  /** Name of the task whose failure ended the attempt. */
  readonly task?: string;
  /** The user function's failure, when one threw. */
  readonly failure?: UserFunctionFailure;
}

export interface JobObserver {
  /** The execution exists (before it runs). */
  executionCreated?(execution: ObservableExecution): void;
  /** A new attempt starts; `restoreFrom` is the checkpoint it restores (undefined: from the beginning). */
  attemptStarted?(attempt: number, restoreFrom: CheckpointMetadata | undefined): void;
  /**
   * An attempt failed: `info.restarting` says whether the job restarts (after the
   * strategy's delay, from the latest completed checkpoint) or ends failed; `info.failure`
   * is set when a function of the job threw (operator, subtask, record, location).
   */
  attemptFailed?(attempt: number, reason: string, info?: AttemptFailureInfo): void;
  /** Each attempt creates its own coordinator (it recovers the completed checkpoints from storage). */
  coordinatorCreated?(coordinator: CheckpointCoordinator): void;
  checkpointEvent?(event: CheckpointEvent): void;
  /** A task acknowledged a checkpoint: the state of each operator of its chain and the task's timings. */
  subtaskAcknowledged?(checkpointId: number, states: readonly SubtaskState[], metrics: SubtaskCheckpointMetrics): void;
  backendOpened?(info: BackendOpened): void;
  /** Progress of one subtask's restore downloads (bytes so far, bytes in total). */
  restoreProgress?(operatorId: string, subtaskIndex: number, downloadedBytes: number, totalBytes: number): void;
}

/** Calls one hook, swallowing what it throws: observing must never break the job. */
export function notifyObserver<K extends keyof JobObserver>(
  observer: JobObserver | undefined,
  hook: K,
  ...args: Parameters<NonNullable<JobObserver[K]>>
): void {
  const fn = observer?.[hook] as ((...a: unknown[]) => void) | undefined;
  if (fn === undefined) return;
  try {
    fn.apply(observer, args);
  } catch {
    // an observer's bug must not fail the job; it is the observer's to log
  }
}

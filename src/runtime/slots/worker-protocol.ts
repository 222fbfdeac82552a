/**
 * The messages between the main thread (worker-pool.ts) and a worker thread
 * (worker-entry.ts). Everything here is structured-cloneable data; records never travel
 * this way (they go worker to worker through remote-channel.ts's ports).
 */
import type { MessagePort } from 'node:worker_threads';
import type { KeyedStateBackend, Serializer, StateBackendOptions } from '../../state/types.ts';
import type { CheckpointStorage } from '../../storage/checkpoint-storage.ts';
import type { CheckpointMetadata, SubtaskCheckpointMetrics, SubtaskState } from '../../checkpoint/types.ts';
import type { JobGraph } from '../job-graph.ts';
import type { PartitionProgress } from '../partition-progress.ts';
import type { LinkStats } from './remote-channel.ts';
import type { CapturedValue } from './captured-values.ts';
import type { UserFunctionFailure } from '../../util/errors.ts';

/**
 * What a worker needs from the user's side to run its subtasks: the job graph built by
 * the job module's own code in this thread (functions cannot be sent between threads),
 * checkpoint storage, and the state backend factory. src/api implements it (the module
 * named by `WorkerInit.bootstrap`): the runtime does not know how a job is loaded.
 */
export interface WorkerJob {
  readonly graph: JobGraph;
  readonly storage: CheckpointStorage;
  readonly keySerializer: Serializer<unknown> | undefined;
  createBackend(opts: StateBackendOptions): Promise<KeyedStateBackend>;
  close(): Promise<void>;
}

/** The default export of the bootstrap module. */
export type WorkerBootstrap = (job: unknown) => Promise<WorkerJob>;

/** How the main thread asks for worker threads (JobExecutionOptions.workers). */
export interface WorkerSetup {
  /** Worker threads (task slots); subtask i of every chain runs on worker i mod count. */
  readonly count: number;
  /** URL of the module whose default export is a WorkerBootstrap. */
  readonly bootstrap: string;
  /** Handed to the bootstrap in each worker (structured-cloneable). */
  readonly job: unknown;
}

export interface WorkerInit {
  readonly worker: number;
  readonly workers: number;
  readonly attempt: number;
  readonly bootstrap: string;
  readonly job: unknown;
  /** The main thread's graph, to check the worker built the same one. */
  readonly signature: readonly string[];
  /** What the job's functions capture on the main thread (captured-values.ts); undefined: not checked. */
  readonly captured: readonly CapturedValue[] | undefined;
  readonly restore: CheckpointMetadata | undefined;
  readonly peers: readonly { readonly worker: number; readonly port: MessagePort }[];
  readonly jobPath: string;
  readonly stateDir: string;
  /** The run's id, in every upload's name (src/storage/job-layout.ts). */
  readonly runId: string | undefined;
  readonly checkpointingEnabled: boolean;
  readonly channelCapacity: number;
  readonly batchSize: number;
  readonly statsIntervalMs: number;
  /** A port into the main thread's storage I/O thread (local checkpoint storage), or undefined. */
  readonly ioPort: MessagePort | undefined;
}

export type ToWorker =
  | { readonly t: 'trigger'; readonly task: string; readonly id: number; readonly ts: number; readonly kind: 'checkpoint' | 'savepoint' }
  | { readonly t: 'complete'; readonly id: number }
  | { readonly t: 'aborted'; readonly id: number }
  | { readonly t: 'release'; readonly task: string }
  | { readonly t: 'cancel'; readonly task: string }
  | { readonly t: 'shutdown' };

export interface WorkerError {
  readonly message: string;
  readonly stack: string | undefined;
  /** A ConfigError: restarting will not help. */
  readonly config: boolean;
  /** A UserFunctionError's fields (the main thread rebuilds the error from them). */
  readonly user?: UserFunctionFailure;
}

/** One task's counters: key, records in, records out, backpressure ms, finished. */
export type TaskStatsRow = readonly [string, number, number, number, boolean];

/** A state backend's counters as the observers read them (backend-mirror.ts). */
export interface BackendReport {
  /** operatorId#subtaskIndex */
  readonly key: string;
  readonly approximateSize: number;
  /** An lsm backend's store stats (LsmStats) and live files. */
  readonly lsmStats: unknown;
  readonly liveFiles: readonly { readonly name: string; readonly size: number; readonly level: number; readonly entries: number }[];
}

export interface WorkerStats {
  readonly tasks: readonly TaskStatsRow[];
  readonly backends: readonly BackendReport[];
  /** Job metrics counted since the previous report (the main thread adds them up). */
  readonly recordsIn: number;
  readonly recordsOut: number;
  /** Event-loop utilisation of the worker since it started (0..1) and since the previous report. */
  readonly eluTotal: number;
  readonly eluRecent: number;
  readonly links: readonly LinkStats[];
  /** The worker thread's log-source partition rows (partitionProgress) at this report. */
  readonly partitions: readonly PartitionProgress[];
}

/**
 * How a worker thread's start went: `performance.now()` at each step (every thread of a
 * process counts from the process's time origin, so the main thread subtracts its spawn time).
 */
export interface WorkerStartReport {
  /** The worker's program and the runtime it imports were loaded. */
  readonly runtimeAt: number;
  /** The job module was loaded and the graph built (WorkerInit.bootstrap). */
  readonly jobAt: number;
  /** Subtasks, channels and task loops created: the worker is running. */
  readonly readyAt: number;
  /**
   * Modules this thread loaded through tsx's hooks (weir from the built package: only the
   * job's own files should); undefined when weir runs from its sources (all of them).
   */
  readonly loaderModules: number | undefined;
}

export type FromWorker =
  | { readonly t: 'ready'; readonly start: WorkerStartReport }
  | { readonly t: 'fatal'; readonly error: WorkerError }
  | { readonly t: 'ack'; readonly task: string; readonly id: number; readonly states: SubtaskState[]; readonly metrics: SubtaskCheckpointMetrics }
  | { readonly t: 'decline'; readonly task: string; readonly id: number; readonly reason: string }
  | { readonly t: 'sourceFinished'; readonly task: string }
  | { readonly t: 'ended'; readonly task: string; readonly error: WorkerError | undefined }
  | { readonly t: 'stats'; readonly stats: WorkerStats }
  | {
      readonly t: 'backendOpened'; readonly operatorId: string; readonly subtaskIndex: number; readonly kind: 'heap' | 'lsm';
      readonly localDir: string; readonly restoredFrom: number | undefined; readonly openMillis: number;
    }
  | { readonly t: 'restoreProgress'; readonly operatorId: string; readonly subtaskIndex: number; readonly done: number; readonly total: number }
  | { readonly t: 'closed' };

/** Nodes, parallelism and edges of a graph, one string per node (to compare two builds of one job). */
export function graphSignature(graph: JobGraph): string[] {
  return graph.nodes.map((n) =>
    `${n.operatorId} p=${n.parallelism}${n.source ? ' source' : ''}${n.keyed ? ' keyed' : ''} <- ${n.inputs.map((e) => `${e.from}:${e.partitioning}${e.sideTag !== undefined ? `:${e.sideTag}` : ''}`).join(',')}`,
  );
}

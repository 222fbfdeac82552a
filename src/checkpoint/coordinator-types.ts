/**
 * The coordinator's public shapes: options, events, per-checkpoint statistics. Kept apart
 * from coordinator.ts so the role modules (stats tracker, cleaner, …) can use them
 * without importing the coordinator.
 */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import type { Clock } from '../util/clock.ts';
import type { CheckpointIdCounter } from './checkpoint-id-counter.ts';
import type { RunIdentity } from './restore-claim.ts';
import type { CheckpointParticipant } from './types.ts';

export type CheckpointKind = 'checkpoint' | 'savepoint';

export interface TaskId {
  readonly operatorId: string;
  readonly subtaskIndex: number;
}

export interface CheckpointCoordinatorOptions {
  readonly job: string;
  readonly storage: CheckpointStorage;
  readonly clock: Clock;
  readonly participant: CheckpointParticipant;
  /** Every subtask that must acknowledge a checkpoint. */
  readonly expectedTasks: readonly TaskId[];
  /** Periodic trigger interval in ms; 0 = only on request. */
  readonly interval: number;
  /** A checkpoint not complete after this many ms is aborted. */
  readonly timeout: number;
  /** Checkpoints (not savepoints) in flight at once. Default 1. */
  readonly maxConcurrent?: number;
  /** Minimum ms between the end of one checkpoint and the periodic trigger of the next. Default 0. */
  readonly minPause?: number;
  /** Completed checkpoints to keep. Default 1. */
  readonly retained?: number;
  readonly maxParallelism: number;
  readonly operators: readonly { readonly operatorId: string; readonly parallelism: number }[];
  /** Listener for metrics / REST (must not throw; errors are swallowed). */
  readonly onEvent?: (event: CheckpointEvent) => void;
  /** Consecutive failed checkpoints tolerated; one more emits 'failure-threshold-exceeded'. Default: unlimited. */
  readonly tolerableFailures?: number;
  /** Delete orphans of the job's directory in create(). Default true. */
  readonly cleanupOrphansOnStart?: boolean;
  /** Entries kept in history(). Default 20. */
  readonly historySize?: number;
  /**
   * Lowest id this coordinator may hand out (ignored with `idCounter`, which a run shares
   * between the coordinators of its attempts).
   */
  readonly firstCheckpointId?: number;
  /** The run's checkpoint id counter (checkpoint-id-counter.ts). Default: in memory, above every id in storage. */
  readonly idCounter?: CheckpointIdCounter;
  /** The run using this coordinator: which recovered checkpoints it owns (restore-claim.ts). Unset: all. */
  readonly run?: RunIdentity;
  /**
   * Fencing check run before every `_metadata` is published (the job lease's verify()):
   * a rejection aborts the checkpoint and nothing is published.
   */
  readonly fence?: () => Promise<void>;
}

export interface CompletedCheckpointInfo {
  readonly checkpointId: number;
  readonly kind: CheckpointKind;
  readonly metadataPath: string;
  readonly triggerTime: number;
  readonly completeTime: number;
  readonly durationMillis: number;
  /** Bytes a restore downloads. */
  readonly fullSize: number;
  /** Bytes this checkpoint uploaded (new shared + private files). */
  readonly checkpointedSize: number;
}

export interface CheckpointStats {
  readonly checkpointId: number;
  readonly kind: CheckpointKind;
  readonly status: 'in_progress' | 'completed' | 'failed';
  readonly triggerTime: number;
  /** Trigger to completion or failure (ms); undefined while in progress. */
  readonly durationMillis: number | undefined;
  readonly ackedSubtasks: number;
  readonly totalSubtasks: number;
  readonly syncMaxMillis: number;
  readonly asyncMaxMillis: number;
  readonly alignmentMaxMillis: number;
  readonly fullSize: number;
  readonly checkpointedSize: number;
  readonly failureReason: string | undefined;
  /**
   * After the last acknowledgement (0 until completed): waiting for earlier completions
   * (and the subsumption the previous one started), the fencing check and the `_metadata`
   * write. Subsuming older checkpoints comes after the completion ('subsumed' event).
   */
  readonly publishMillis: number;
}

export type CheckpointEvent =
  | { readonly type: 'recovered'; readonly latestCheckpointId: number | undefined; readonly nextCheckpointId: number; readonly orphansDeleted: readonly string[]; readonly unreadable: readonly string[]; readonly subsumed: readonly number[] }
  | { readonly type: 'triggered'; readonly checkpointId: number; readonly kind: CheckpointKind; readonly triggerTime: number }
  | { readonly type: 'completed'; readonly info: CompletedCheckpointInfo; readonly stats: CheckpointStats }
  /** After checkpoint `checkpointId` completed: the older ones it subsumed are deleted; `subsumeMillis` from its publication. */
  | { readonly type: 'subsumed'; readonly checkpointId: number; readonly subsumed: readonly number[]; readonly subsumeMillis: number }
  | { readonly type: 'failed'; readonly checkpointId: number; readonly kind: CheckpointKind; readonly reason: string; readonly stats: CheckpointStats }
  | { readonly type: 'skipped'; readonly reason: string }
  | { readonly type: 'cleanup'; readonly checkpointId: number; readonly deleted: readonly string[]; readonly failed: readonly string[]; readonly late: boolean }
  | { readonly type: 'failure-threshold-exceeded'; readonly consecutiveFailures: number; readonly reason: string }
  | { readonly type: 'warning'; readonly checkpointId: number | undefined; readonly message: string };

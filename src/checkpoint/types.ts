/**
 * What the runtime and the checkpoint machinery exchange. The coordinator knows
 * tasks only through CheckpointParticipants; it never sees operators or user code.
 */
import type { KeyedStateHandle } from '../state/handles.ts';
import type { SnapshotPhases } from '../state/types.ts';

export type { KeyedStateHandle, SharedFileRef, PrivateFileRef, KeyGroupRange } from '../state/handles.ts';
export type { SnapshotPhases } from '../state/types.ts';

/**
 * Non-keyed operator state (source positions, sink transactions awaiting commit):
 * a list of small JSON-able items per subtask, stored inline in `_metadata`.
 * On restore with another parallelism: 'split' deals the items round-robin over the
 * new subtasks; 'union' gives every subtask all items of all old subtasks.
 */
export interface OperatorStateEntry {
  readonly name: string;
  readonly mode: 'split' | 'union';
  readonly items: readonly unknown[];
}

/** Everything one subtask of one operator contributes to a checkpoint. */
export interface SubtaskState {
  readonly operatorId: string;
  readonly subtaskIndex: number;
  readonly keyed?: KeyedStateHandle;
  readonly operatorState?: readonly OperatorStateEntry[];
}

/**
 * Per-subtask timings reported with the acknowledgement (for the REST API and metrics).
 * A subtask's part of a checkpoint, in order: start delay (trigger → first barrier
 * here), alignment (first → last barrier), sync part, async part (of which: wait for the
 * flush, serialize, upload — `state`), then the acknowledgement's trip to the coordinator.
 */
export interface SubtaskCheckpointMetrics {
  readonly syncMillis: number;
  readonly asyncMillis: number;
  readonly alignmentMillis: number;
  /** Trigger → the first barrier reached this subtask (wall clock, ms). */
  readonly startDelayMillis?: number;
  /** Wall-clock time (clock.now()) the subtask sent the acknowledgement (the receiver derives the ack latency). */
  readonly ackSentAt?: number;
  /** Phases of each keyed-state snapshot of the chain, by operator id. */
  readonly keyedPhases?: Readonly<Record<string, SnapshotPhases>>;
}

/** The runtime side of a job, as the coordinator drives it. */
export interface CheckpointParticipant {
  /** Injects barriers at the sources. Returns false if the job cannot checkpoint now (e.g. still restoring). */
  triggerCheckpoint(checkpointId: number, timestamp: number, kind: 'checkpoint' | 'savepoint'): boolean;
  notifyCheckpointComplete(checkpointId: number): void;
  notifyCheckpointAborted(checkpointId: number, reason: string): void;
}

export const METADATA_FORMAT_VERSION = 1;

/** The `_metadata` of a completed checkpoint (JSON). Written last: no `_metadata`, no checkpoint. */
export interface CheckpointMetadata {
  readonly formatVersion: number;
  readonly job: string;
  readonly checkpointId: number;
  readonly kind: 'checkpoint' | 'savepoint';
  readonly triggerTime: number;
  readonly completeTime: number;
  readonly maxParallelism: number;
  /** operatorId → parallelism at the time of the checkpoint. */
  readonly operators: readonly { readonly operatorId: string; readonly parallelism: number }[];
  readonly subtasks: readonly SubtaskState[];
  /** Sum of handles' fullSize and incrementalSize. */
  readonly fullSize: number;
  readonly checkpointedSize: number;
  /**
   * The run (one start of the job) that completed it; absent in files written before runs
   * had ids (treated as one run, ''). Ownership: see restore-claim.ts.
   */
  readonly runId?: string;
  /** The checkpoint that run restored from (absent: the run started fresh). */
  readonly restoredFrom?: number;
}

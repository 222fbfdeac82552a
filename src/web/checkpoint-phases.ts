/**
 * Where a checkpoint's time went, per subtask and for the whole checkpoint, as the REST
 * API's checkpoint details and the dashboard show it (docs/rest-api.md "Checkpoint
 * phases"). A subtask's part, in order:
 *
 *   trigger ─ start delay ─▶ first barrier ─ alignment ─▶ last barrier ─ sync ─▶ barrier
 *   forwarded ─ async: flush wait (queued, encode, write, install) | serialize, upload ─▶
 *   ack sent ─ ack latency ─▶ coordinator; after the last ack: finalize (`_metadata`).
 *
 * Pure functions over what the monitor remembers (acks and the record); no job objects.
 */
import type { SnapshotPhases, SubtaskCheckpointMetrics } from '../checkpoint/types.ts';

/** One subtask's timings that are not in its keyed phases (ms). */
export interface SubtaskTimings {
  readonly startDelayMillis: number;
  /** The acknowledgement's trip from the subtask to the coordinator (event loop, worker message). */
  readonly ackLatencyMillis: number;
  /** Trigger → the coordinator had this acknowledgement. */
  readonly endToEndMillis: number;
}

export function subtaskTimings(metrics: SubtaskCheckpointMetrics, triggerTime: number | undefined, receivedAt: number): SubtaskTimings {
  return {
    startDelayMillis: metrics.startDelayMillis ?? 0,
    ackLatencyMillis: metrics.ackSentAt === undefined ? 0 : Math.max(0, receivedAt - metrics.ackSentAt),
    endToEndMillis: triggerTime === undefined ? 0 : Math.max(0, receivedAt - triggerTime),
  };
}

/** What an acknowledgement row holds for phases (SubtaskAck in job-monitor.ts). */
export interface PhaseSource extends SubtaskTimings {
  readonly operatorId: string;
  readonly subtaskIndex: number;
  readonly ackTime: number;
  readonly syncMillis: number;
  readonly asyncMillis: number;
  readonly alignmentMillis: number;
  readonly phases: SnapshotPhases | undefined;
}

/** A checkpoint's phases: the slowest subtask's time in each phase; bytes and files summed over subtasks. */
export interface CheckpointPhases {
  readonly startDelayMillis: number;
  readonly alignmentMillis: number;
  readonly syncMillis: number;
  readonly asyncMillis: number;
  readonly flushWaitMillis: number;
  readonly flushQueuedMillis: number;
  readonly flushEncodeMillis: number;
  readonly flushWriteMillis: number;
  readonly flushInstallMillis: number;
  readonly serializeMillis: number;
  readonly uploadMillis: number;
  readonly ackLatencyMillis: number;
  /**
   * Last acknowledgement → completed, 0 until completed; of it: `publishMillis` (earlier
   * completions, fencing check, `_metadata` write). `subsumeMillis` (deleting the
   * checkpoints beyond the retained ones) comes after the completion and is not part of it.
   */
  readonly finalizeMillis: number;
  readonly publishMillis: number;
  readonly subsumeMillis: number;
  readonly uploadBytes: number;
  readonly uploadFiles: number;
  readonly reusedFiles: number;
  /** `operatorId[subtask]` whose acknowledgement came last (it decided the duration). */
  readonly slowest: string | undefined;
}

/** What the checkpoint's record says about its end (CheckpointRecord in job-monitor.ts). */
export interface CheckpointEnd {
  readonly status: string;
  readonly triggerTime: number;
  readonly durationMillis: number | undefined;
  readonly publishMillis: number;
  readonly subsumeMillis: number;
}

export function checkpointPhases(acks: readonly PhaseSource[], end: CheckpointEnd): CheckpointPhases {
  const max = (f: (a: PhaseSource) => number): number => acks.reduce((m, a) => Math.max(m, f(a)), 0);
  const sum = (f: (p: SnapshotPhases) => number): number => acks.reduce((n, a) => n + (a.phases ? f(a.phases) : 0), 0);
  const maxP = (f: (p: SnapshotPhases) => number): number => max((a) => (a.phases ? f(a.phases) : 0));
  let last: PhaseSource | undefined;
  for (const a of acks) if (last === undefined || a.ackTime > last.ackTime) last = a;
  return {
    startDelayMillis: max((a) => a.startDelayMillis),
    alignmentMillis: max((a) => a.alignmentMillis),
    syncMillis: max((a) => a.syncMillis),
    asyncMillis: max((a) => a.asyncMillis),
    flushWaitMillis: maxP((p) => p.flushWaitMillis),
    flushQueuedMillis: maxP((p) => p.flushQueuedMillis),
    flushEncodeMillis: maxP((p) => p.flushEncodeMillis),
    flushWriteMillis: maxP((p) => p.flushWriteMillis),
    flushInstallMillis: maxP((p) => p.flushInstallMillis),
    serializeMillis: maxP((p) => p.serializeMillis),
    uploadMillis: maxP((p) => p.uploadMillis),
    ackLatencyMillis: max((a) => a.ackLatencyMillis),
    // The duration is measured from the trigger on the coordinator's clock: its end, in wall-clock time, minus the last ack.
    finalizeMillis: end.status !== 'completed' || end.durationMillis === undefined || last === undefined
      ? 0 : Math.max(0, end.triggerTime + end.durationMillis - last.ackTime),
    publishMillis: end.publishMillis,
    subsumeMillis: end.subsumeMillis,
    uploadBytes: sum((p) => p.uploadBytes),
    uploadFiles: sum((p) => p.uploadFiles),
    reusedFiles: sum((p) => p.reusedFiles),
    slowest: last === undefined ? undefined : `${last.operatorId}[${last.subtaskIndex}]`,
  };
}

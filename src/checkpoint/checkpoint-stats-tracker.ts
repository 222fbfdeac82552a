/**
 * CheckpointStatsTracker (Flink's name): the statistics of the last `historySize`
 * checkpoints, as the REST API, the dashboard and metrics show them. One entry per
 * checkpoint id — ids never repeat (checkpoint-id-counter.ts), so a row is never merged
 * with another checkpoint's.
 *
 * Ownership: the coordinator creates an entry at trigger and reports acks, completion
 * and failure; nothing else mutates the entries. history() hands out copies.
 */
import { assert } from '../util/assert.ts';
import type { Clock } from '../util/clock.ts';
import type { CheckpointKind, CheckpointStats } from './coordinator-types.ts';
import type { SubtaskCheckpointMetrics, SubtaskState } from './types.ts';

type MutableStats = { -readonly [K in keyof CheckpointStats]: CheckpointStats[K] };

/** The tracker's handle on one checkpoint's entry. */
export interface TrackedCheckpoint {
  readonly stats: MutableStats;
  readonly startMono: number;
}

export class CheckpointStatsTracker {
  private readonly historyList: MutableStats[] = [];

  constructor(private readonly clock: Clock, private readonly historySize = 20) {}

  /** A new entry, in progress. */
  triggered(checkpointId: number, kind: CheckpointKind, triggerTime: number, totalSubtasks: number): TrackedCheckpoint {
    assert(!this.historyList.some((s) => s.checkpointId === checkpointId), () => `checkpoint id ${checkpointId} used twice`);
    const stats: MutableStats = {
      checkpointId, kind, status: 'in_progress', triggerTime, durationMillis: undefined,
      ackedSubtasks: 0, totalSubtasks, syncMaxMillis: 0, asyncMaxMillis: 0, alignmentMaxMillis: 0,
      fullSize: 0, checkpointedSize: 0, failureReason: undefined, publishMillis: 0,
    };
    this.historyList.push(stats);
    while (this.historyList.length > this.historySize) this.historyList.shift();
    return { stats, startMono: this.clock.monotonic() };
  }

  acknowledged(t: TrackedCheckpoint, state: SubtaskState, metrics: SubtaskCheckpointMetrics): void {
    const s = t.stats;
    s.ackedSubtasks++;
    s.syncMaxMillis = Math.max(s.syncMaxMillis, metrics.syncMillis);
    s.asyncMaxMillis = Math.max(s.asyncMaxMillis, metrics.asyncMillis);
    s.alignmentMaxMillis = Math.max(s.alignmentMaxMillis, metrics.alignmentMillis);
    s.fullSize += state.keyed?.fullSize ?? 0;
    s.checkpointedSize += state.keyed?.incrementalSize ?? 0;
  }

  completed(t: TrackedCheckpoint, fullSize: number, checkpointedSize: number, finalize?: { publishMillis: number }): CheckpointStats {
    const s = t.stats;
    s.status = 'completed';
    s.publishMillis = finalize?.publishMillis ?? 0;
    s.durationMillis = this.clock.monotonic() - t.startMono;
    s.fullSize = fullSize;
    s.checkpointedSize = checkpointedSize;
    return { ...s };
  }

  failed(t: TrackedCheckpoint, reason: string): CheckpointStats {
    const s = t.stats;
    s.status = 'failed';
    s.failureReason = reason;
    s.durationMillis = this.clock.monotonic() - t.startMono;
    return { ...s };
  }

  /** The last `historySize` checkpoints, oldest first. */
  history(): CheckpointStats[] {
    return this.historyList.map((s) => ({ ...s }));
  }
}

/**
 * CheckpointFailureManager (Flink's name): counts consecutive failed checkpoints and says
 * when one more than `tolerableFailures` happened. Only checkpoints count (a savepoint's
 * failure is the user's to see); failures that are not the mechanism's fault (the job was
 * restarting, the coordinator stopping, a newer checkpoint subsumed it) are not counted.
 * A completed checkpoint resets the count.
 */
import type { CheckpointKind } from './coordinator-types.ts';

export class CheckpointFailureManager {
  private consecutive = 0;

  constructor(private readonly tolerableFailures = Number.POSITIVE_INFINITY) {}

  get consecutiveFailures(): number {
    return this.consecutive;
  }

  /** Returns true when this failure exceeds the tolerated number. */
  failed(kind: CheckpointKind, counted: boolean): boolean {
    if (!counted || kind !== 'checkpoint') return false;
    this.consecutive++;
    return this.consecutive > this.tolerableFailures;
  }

  completed(kind: CheckpointKind): void {
    if (kind === 'checkpoint') this.consecutive = 0;
  }
}

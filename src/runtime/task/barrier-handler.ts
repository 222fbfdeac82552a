/**
 * Aligned checkpoint barriers at a task with input channels (Flink's
 * CheckpointBarrierHandler, aligned mode): the channel that delivered barrier n is
 * blocked (its later records wait in the channel) until every input that has not ended
 * delivered barrier n too; then the checkpoint is performed and all inputs unblock.
 * This is what makes the snapshot hold exactly the records before the barrier.
 *
 * Edge cases: an ended input counts as aligned; a barrier of a checkpoint older than
 * one already taken is ignored (it was aborted); a newer barrier overtaking an
 * alignment declines the older checkpoint at this task and starts aligning the newer;
 * an abort of the checkpoint being aligned unblocks every input.
 */
import { assert } from '../../util/assert.ts';
import type { Clock } from '../../util/clock.ts';
import type { Barrier } from '../elements.ts';

export interface BarrierHandlerActions {
  /** Every input delivered the barrier: snapshot and forward it. */
  triggerCheckpoint(barrier: Barrier, alignmentMillis: number): void;
  decline(checkpointId: number, reason: string): void;
  /** Blocked inputs were released (the loop may have records to process again). */
  unblocked(): void;
}

export class CheckpointBarrierHandler {
  private readonly blocked: boolean[];
  private aligning: { id: number; barrier: Barrier; received: number; start: number } | undefined;
  private lastCheckpointId = 0;

  constructor(
    private readonly taskName: string,
    /** Per input: ended (read only here; the task sets it). */
    private readonly ended: readonly boolean[],
    private readonly clock: Clock,
    private readonly actions: BarrierHandlerActions,
  ) {
    this.blocked = new Array<boolean>(ended.length).fill(false);
  }

  isBlocked(input: number): boolean {
    return this.blocked[input]!;
  }

  onBarrier(input: number, b: Barrier): void {
    if (b.checkpointId <= this.lastCheckpointId) return; // an aborted, older checkpoint
    const now = this.clock.monotonic();
    if (this.aligning && b.checkpointId > this.aligning.id) {
      // A newer barrier overtook an alignment: the older checkpoint cannot complete here.
      this.actions.decline(this.aligning.id, `subtask ${this.taskName} received barrier ${b.checkpointId} before aligning ${this.aligning.id}`);
      this.endAlignment();
    }
    if (!this.aligning) this.aligning = { id: b.checkpointId, barrier: b, received: 0, start: now };
    assert(!this.blocked[input], 'two barriers of one checkpoint on one channel');
    this.blocked[input] = true;
    this.aligning.received++;
    this.checkAligned();
  }

  /** An input ended (the task already marked it): it may complete an alignment. */
  onEndOfInput(): void {
    if (this.aligning) this.checkAligned();
  }

  /** The coordinator aborted a checkpoint: stop aligning it. */
  onAbort(checkpointId: number): void {
    if (this.aligning && this.aligning.id === checkpointId) this.endAlignment();
  }

  private checkAligned(): void {
    const a = this.aligning!;
    for (let k = 0; k < this.blocked.length; k++) if (!this.ended[k] && !this.blocked[k]) return;
    const alignmentMillis = this.clock.monotonic() - a.start;
    this.endAlignment();
    this.lastCheckpointId = Math.max(this.lastCheckpointId, a.id);
    this.actions.triggerCheckpoint(a.barrier, alignmentMillis);
  }

  private endAlignment(): void {
    this.aligning = undefined;
    this.blocked.fill(false);
    this.actions.unblocked();
  }
}

/**
 * One subtask's part of a checkpoint (Flink's SubtaskCheckpointCoordinator): at the
 * barrier, the synchronous part of the chain's snapshot, then the barrier goes on
 * downstream at once; the asynchronous parts (flush, uploads, a sink's pre-commit)
 * finish off the task's path and are acknowledged to the coordinator with the timings.
 *
 * A snapshot that throws declines the checkpoint, and the barrier still goes downstream
 * (downstream alignment must not hang on it). After cancellation a failed asynchronous
 * part is not reported (the backend deleted what it uploaded), but a finished one still is:
 * the coordinator then owns its uploads (completes the checkpoint or deletes them) —
 * dropping it leaked them on every Ctrl-C (issue 9, defect 7). whenDelivered() lets the
 * task's close wait for every asynchronous part.
 */
import { errorMessage } from '../../util/errors.ts';
import type { KeyedStateHandle, SnapshotPhases, SnapshotTarget } from '../../state/types.ts';
import type { SubtaskState } from '../../checkpoint/types.ts';
import type { Barrier } from '../elements.ts';
import type { JobNode } from '../job-graph.ts';
import type { OperatorSnapshot } from '../operator.ts';
import type { OperatorChain } from './operator-chain.ts';
import type { TaskServices } from './task-services.ts';

export class SubtaskCheckpointer {
  /** Asynchronous parts not yet delivered. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly taskName: string,
    private readonly chain: OperatorChain,
    private readonly services: TaskServices,
    private readonly cancelled: () => boolean,
  ) {}

  /** Synchronous part of the chain's snapshot, then the barrier goes on; the rest runs off the path. */
  perform(barrier: Barrier, alignmentMillis: number): void {
    const clock = this.services.clock;
    const id = barrier.checkpointId;
    // The barrier carries the trigger's wall-clock time; the first barrier came alignmentMillis ago.
    const startDelayMillis = Math.max(0, clock.now() - alignmentMillis - barrier.timestamp);
    const start = clock.monotonic();
    const target: SnapshotTarget = { jobPath: this.services.jobPath, checkpointId: id, kind: barrier.checkpointKind };
    const parts: { node: JobNode; snap: OperatorSnapshot }[] = [];
    try {
      this.chain.snapshotSync(id, target, parts);
    } catch (err) {
      this.services.decline(id, `snapshot of ${this.taskName} failed: ${errorMessage(err)}`, err);
      for (const p of parts) p.snap.keyed?.done.catch(() => undefined);
      this.chain.broadcast(barrier);
      return;
    }
    this.chain.broadcast(barrier);
    const syncMillis = clock.monotonic() - start;
    const asyncStart = clock.monotonic();
    const subtaskIndex = this.chain.subtaskIndex;
    const finish = async (): Promise<SubtaskState[]> => {
      const states: SubtaskState[] = [];
      const handles = await Promise.all(parts.map((p) => p.snap.keyed?.done ?? Promise.resolve(undefined)));
      await Promise.all(parts.map((p) => p.snap.done ?? Promise.resolve()));
      parts.forEach((p, k) => {
        const keyed: KeyedStateHandle | undefined = handles[k];
        states.push({
          operatorId: p.node.operatorId,
          subtaskIndex,
          ...(keyed ? { keyed } : {}),
          ...(p.snap.operatorState ? { operatorState: p.snap.operatorState } : {}),
        });
      });
      return states;
    };
    const delivered = finish().then(
      (states) => {
        const keyedPhases: Record<string, SnapshotPhases> = {};
        for (const p of parts) if (p.snap.keyed?.phases) keyedPhases[p.node.operatorId] = { ...p.snap.keyed.phases };
        this.services.acknowledge(id, states, {
          syncMillis, asyncMillis: clock.monotonic() - asyncStart, alignmentMillis, startDelayMillis, ackSentAt: clock.now(), keyedPhases,
        });
      },
      (err: unknown) => {
        if (this.cancelled()) return;
        this.services.decline(id, `asynchronous snapshot of ${this.taskName} failed: ${errorMessage(err)}`, err);
      },
    );
    this.inFlight.add(delivered);
    void delivered.then(() => this.inFlight.delete(delivered));
  }

  /** Resolves when every asynchronous part so far was delivered (or failed). */
  async whenDelivered(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}

/**
 * The runtime's operator contract. A task runs a chain of operators; each operator
 * hands its results to an Output (the next operator of the chain, or channel writers).
 * All calls come from the task's loop, one at a time: an operator never sees two calls
 * at once and never needs locks. processElement / processWatermark are synchronous (the
 * hot path); async work is exposed through backpressure() and snapshot `done` promises.
 */
import type { Clock } from '../util/clock.ts';
import type { KeyedStateBackend, SnapshotInProgress, SnapshotTarget } from '../state/types.ts';
import type { OperatorStateEntry } from '../checkpoint/types.ts';

export interface Output {
  collect(value: unknown, timestamp: number | undefined): void;
  collectSide(tag: string, value: unknown, timestamp: number | undefined): void;
  emitWatermark(timestamp: number): void;
  /** Marks this output idle (downstream does not wait for its event time) or active again. */
  emitIdle(idle: boolean): void;
}

export interface OperatorContext {
  readonly operatorId: string;
  readonly name: string;
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly clock: Clock;
  readonly output: Output;
  /** The subtask's keyed state backend, for operators after a keyBy. */
  readonly keyed: KeyedStateBackend | undefined;
  /** Operator state of the restored checkpoint assigned to this subtask (empty on a fresh start). */
  readonly restoredOperatorState: readonly OperatorStateEntry[];
  readonly restored: boolean;
  readonly checkpointingEnabled: boolean;
  /** Job-wide counters (the sink counts records out). */
  readonly metrics: { recordsIn: number; recordsOut: number };
  /** Asks for onProcessingTime() at (or soon after) wall-clock time `timestamp`. */
  registerProcessingTimer(timestamp: number): void;
  /** Event time at this operator's input. */
  currentWatermark(): number;
}

/** What an operator contributes to a checkpoint, from the synchronous part at the barrier. */
export interface OperatorSnapshot {
  readonly keyed?: SnapshotInProgress;
  readonly operatorState?: readonly OperatorStateEntry[];
  /** Asynchronous part of a non-keyed snapshot (e.g. a sink's pre-commit fsync). */
  readonly done?: Promise<void>;
}

export interface StreamOperator {
  open(ctx: OperatorContext): void | Promise<void>;
  processElement(value: unknown, timestamp: number | undefined): void;
  /** Must forward the watermark (after firing what it makes due). */
  processWatermark(timestamp: number): void;
  onProcessingTime?(now: number): void;
  /** Synchronous part of the snapshot, at the barrier. */
  snapshotState(checkpointId: number, target: SnapshotTarget): OperatorSnapshot;
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  notifyCheckpointAborted?(checkpointId: number): void;
  /** Undefined when the operator can take more records now. */
  backpressure?(): Promise<void> | undefined;
  /** End of input (after the final watermark, before the final checkpoint). */
  finish?(): void | Promise<void>;
  close(): Promise<void>;
}

/** Shared base for stateless operators. */
export abstract class StatelessOperator implements StreamOperator {
  protected ctx!: OperatorContext;
  protected out!: Output;

  open(ctx: OperatorContext): void | Promise<void> {
    this.ctx = ctx;
    this.out = ctx.output;
  }

  abstract processElement(value: unknown, timestamp: number | undefined): void;

  processWatermark(timestamp: number): void {
    this.out.emitWatermark(timestamp);
  }

  snapshotState(_checkpointId: number, _target: SnapshotTarget): OperatorSnapshot {
    return {};
  }

  async close(): Promise<void> {}
}

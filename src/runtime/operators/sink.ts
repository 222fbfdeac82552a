/** Drives a SinkWriter: records in, pre-commit at the barrier, commit on checkpoint completion. */
import type { Sink, SinkWriter } from '../connector-types.ts';
import type { OperatorContext, OperatorSnapshot, StreamOperator } from '../operator.ts';
import { userFunctionFailed } from '../user-code.ts';

const SINK_STATE = 'sink';

export class SinkOperator implements StreamOperator {
  private writer!: SinkWriter<unknown>;
  private metrics!: { recordsOut: number };
  private ctx!: OperatorContext;

  constructor(private readonly sink: Sink<unknown>) {}

  async open(ctx: OperatorContext): Promise<void> {
    this.ctx = ctx;
    this.metrics = ctx.metrics;
    const items = ctx.restoredOperatorState.find((e) => e.name === SINK_STATE)?.items;
    this.writer = await this.sink.createWriter({
      subtaskIndex: ctx.subtaskIndex,
      parallelism: ctx.parallelism,
      clock: ctx.clock,
      checkpointingEnabled: ctx.checkpointingEnabled,
      restoredState: ctx.restored ? (items ?? []) : undefined,
    });
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    this.metrics.recordsOut++;
    try {
      this.writer.write(value, timestamp);
    } catch (err) {
      throw userFunctionFailed(this.ctx, "sink's write()", value, err);
    }
  }

  processWatermark(): void {}

  backpressure(): Promise<void> | undefined {
    return this.writer.backpressure?.();
  }

  snapshotState(checkpointId: number): OperatorSnapshot {
    if (!this.writer.snapshotState) return {};
    const snap = this.writer.snapshotState(checkpointId);
    return {
      operatorState: [{ name: SINK_STATE, mode: snap.mode ?? 'split', items: snap.items }],
      ...(snap.done ? { done: snap.done } : {}),
    };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    await this.writer.notifyCheckpointComplete?.(checkpointId);
  }

  async finish(): Promise<void> {
    await this.writer.finish?.();
  }

  async close(): Promise<void> {
    await this.writer?.close?.();
  }
}

/**
 * Assigns event timestamps and generates watermarks (bounded out-of-orderness, with
 * optional idleness). The watermark is emitted when it advances, checked every
 * `intervalMs` of processing time (Flink's periodic emission, default 200 ms) and at
 * the end of every `checkEvery` records, so a busy stream sends few watermarks and a
 * quiet one still advances.
 *
 * Idleness: after `idlenessMs` of processing time without a record the subtask marks
 * its output idle, so downstream operators do not wait for its event time; the next
 * record makes it active again.
 */
import type { WatermarkStrategySpec } from '../functions.ts';
import { MIN_WATERMARK } from '../elements.ts';
import { StatelessOperator, type OperatorContext } from '../operator.ts';
import { userFunctionFailed } from '../user-code.ts';

export class TimestampsAndWatermarksOperator extends StatelessOperator {
  private maxTimestamp = MIN_WATERMARK;
  private emitted = MIN_WATERMARK;
  private lastRecordAt = 0;
  private sawRecord = false;
  private idle = false;
  private sinceCheck = 0;

  constructor(
    private readonly spec: WatermarkStrategySpec<any>,
    private readonly intervalMs = 200,
    private readonly checkEvery = spec.emitEveryRecords ?? 1024,
  ) {
    super();
  }

  override async open(ctx: OperatorContext): Promise<void> {
    await super.open(ctx);
    this.lastRecordAt = ctx.clock.now();
    ctx.registerProcessingTimer(ctx.clock.now() + this.intervalMs);
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    const assigner = this.spec.timestampAssigner;
    let ts = timestamp;
    if (assigner) {
      try {
        ts = assigner(value, timestamp);
      } catch (err) {
        throw userFunctionFailed(this.ctx, 'timestamp assigner', value, err);
      }
    }
    if (ts !== undefined && ts > this.maxTimestamp) this.maxTimestamp = ts;
    if (this.idle) {
      this.idle = false;
      this.out.emitIdle(false);
    }
    this.sawRecord = true;
    this.out.collect(value, ts);
    if (++this.sinceCheck >= this.checkEvery) {
      this.sinceCheck = 0;
      this.emitIfAdvanced();
    }
  }

  onProcessingTime(now: number): void {
    if (this.sawRecord) {
      this.sawRecord = false;
      this.lastRecordAt = now;
    }
    this.emitIfAdvanced();
    const idleness = this.spec.idlenessMs;
    if (idleness !== undefined && !this.idle && now - this.lastRecordAt >= idleness) {
      this.idle = true;
      this.out.emitIdle(true);
    }
    this.ctx.registerProcessingTimer(now + this.intervalMs);
  }

  private emitIfAdvanced(): void {
    if (this.maxTimestamp === MIN_WATERMARK) return;
    const wm = this.maxTimestamp - this.spec.outOfOrdernessMs - 1;
    if (wm > this.emitted) {
      this.emitted = wm;
      this.out.emitWatermark(wm);
    }
  }

  override processWatermark(timestamp: number): void {
    // Upstream watermarks (the final one at the end of input) pass through.
    if (timestamp > this.emitted) {
      this.emitted = timestamp;
      this.out.emitWatermark(timestamp);
    }
  }
}

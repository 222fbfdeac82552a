/**
 * Event time: where a record's timestamp comes from and how far behind the newest
 * timestamp the watermark trails.
 *
 *   WatermarkStrategy.forBoundedOutOfOrderness<Click>(5_000)
 *     .withTimestampAssigner((c) => c.time)
 *     .withIdleness(30_000)
 */
import type { TimestampAssigner, WatermarkStrategySpec } from '../runtime/functions.ts';

/**
 * How a stream gets event time: the timestamp of each record and a watermark that trails
 * the highest timestamp seen by a bound. Immutable: every `with…` returns a new strategy.
 * Give it to `DataStream.assignTimestampsAndWatermarks()`.
 */
export class WatermarkStrategy<T> implements WatermarkStrategySpec<T> {
  private constructor(
    /** Bound on out-of-orderness, ms: watermark = highest timestamp seen − bound − 1. */
    readonly outOfOrdernessMs: number,
    /** Where a record's timestamp comes from; undefined: the timestamp the source gave it. */
    readonly timestampAssigner: TimestampAssigner<T> | undefined,
    /** After this many ms without records the input is marked idle; undefined: never. */
    readonly idlenessMs: number | undefined,
    /** Watermark check every this many records (besides every 200 ms); undefined: 1024. */
    readonly emitEveryRecords: number | undefined = undefined,
  ) {}

  /** Watermark = highest timestamp seen − bound − 1: records up to `ms` late are on time. */
  static forBoundedOutOfOrderness<T>(ms: number): WatermarkStrategy<T> {
    if (!(ms >= 0)) throw new RangeError(`out-of-orderness must be >= 0, got ${ms}`);
    return new WatermarkStrategy<T>(ms, undefined, undefined);
  }

  /** Timestamps never go backwards. */
  static forMonotonousTimestamps<T>(): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(0, undefined, undefined);
  }

  /** Takes each record's event timestamp (ms) from `assigner(record, sourceTimestamp)`; what it throws fails the job as a UserFunctionError. */
  withTimestampAssigner(assigner: TimestampAssigner<T>): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.outOfOrdernessMs, assigner, this.idlenessMs, this.emitEveryRecords);
  }

  /** Emit advanced watermarks after every `n` records (default 1024; 1 = after each record), besides every 200 ms. */
  withEmitEveryRecords(n: number): WatermarkStrategy<T> {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`emit interval must be a positive integer, got ${n}`);
    return new WatermarkStrategy<T>(this.outOfOrdernessMs, this.timestampAssigner, this.idlenessMs, n);
  }

  /** After `ms` without records, this input stops holding back event time downstream. */
  withIdleness(ms: number): WatermarkStrategy<T> {
    return new WatermarkStrategy<T>(this.outOfOrdernessMs, this.timestampAssigner, ms, this.emitEveryRecords);
  }
}

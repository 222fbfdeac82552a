/**
 * Interval join (Flink's KeyedStream.intervalJoin): a left record at time l joins every
 * right record of the same key at time r with l + lower <= r <= l + upper.
 *
 *   bids.keyBy((b) => b.auction).intervalJoin(auctions.keyBy((a) => a.id))
 *     .between(-10_000, 0)
 *     .process((bid, auction, out) => out.collect({ ... }))
 *
 * Each side's records wait in keyed MapState (event time -> records of that time) until
 * the watermark passes the last time the other side could still match them (left:
 * l + upper, right: r - lower); an event-time timer then drops them. A record that is
 * already late (timestamp <= watermark) is dropped, as in Flink. Buffers are keyed
 * state, so checkpoints and restores carry them. Results carry the timestamp of the
 * record that completed the pair.
 */
import type { Collector, KeyedProcessContext, OnTimerContext } from '../runtime/functions.ts';
import type { MapState } from '../state/types.ts';
import { ConfigError } from '../util/errors.ts';
import type { KeyedCoProcessFunction, KeyedConnectedStreams } from './connected-streams.ts';
import type { DataStream } from './data-stream.ts';

/** `left.keyBy(…).intervalJoin(right.keyBy(…))`: say the time bounds next with `between()`. */
export class IntervalJoin<K, T1, T2> {
  /** @internal Made by KeyedStream.intervalJoin(). */
  constructor(private readonly connected: KeyedConnectedStreams<K, T1, T2>) {}

  /** Bounds in ms relative to the left record's time, both inclusive. Throws a ConfigError unless lower <= upper (both finite). */
  between(lowerMs: number, upperMs: number): IntervalJoined<K, T1, T2> {
    if (!Number.isFinite(lowerMs) || !Number.isFinite(upperMs) || lowerMs > upperMs) throw new ConfigError(`interval join bounds must satisfy lower <= upper, got ${lowerMs}, ${upperMs}`);
    return new IntervalJoined(this.connected, lowerMs, upperMs);
  }
}

/** An interval join with its bounds: give the join function with `process()`. */
export class IntervalJoined<K, T1, T2> {
  /** @internal Made by IntervalJoin.between(). */
  constructor(
    private readonly connected: KeyedConnectedStreams<K, T1, T2>,
    private readonly lower: number,
    private readonly upper: number,
  ) {}

  /**
   * Calls `fn` once for every pair of a left and a right record of the same key whose
   * times satisfy left + lower <= right <= left + upper, with both event times. Records
   * need event timestamps; a record already behind the watermark is dropped.
   */
  process<R>(fn: (left: T1, right: T2, out: Collector<R>, times: { readonly left: number; readonly right: number }) => void): DataStream<R> {
    const { lower, upper } = this;
    return this.connected.process(() => intervalJoinFunction<K, T1, T2, R>(lower, upper, fn), 'intervalJoin');
  }
}

function intervalJoinFunction<K, T1, T2, R>(
  lower: number,
  upper: number,
  fn: (left: T1, right: T2, out: Collector<R>, times: { readonly left: number; readonly right: number }) => void,
): KeyedCoProcessFunction<K, T1, T2, R> {
  const buffers = (ctx: KeyedProcessContext<K>): { left: MapState<number, T1[]>; right: MapState<number, T2[]> } => ({
    left: ctx.getMapState<number, T1[]>('interval-join-left'),
    right: ctx.getMapState<number, T2[]>('interval-join-right'),
  });
  const timeOf = (ctx: KeyedProcessContext<K>): number => {
    const ts = ctx.timestamp();
    if (ts === undefined) throw new ConfigError('interval join needs event timestamps on both inputs (assign timestamps and watermarks first)');
    return ts;
  };
  /** Store `value` at `ts` until the watermark reaches `cleanupAt`, unless it already has. */
  const buffer = <T>(state: MapState<number, T[]>, ts: number, value: T, cleanupAt: number, ctx: KeyedProcessContext<K>): void => {
    if (cleanupAt <= ctx.timerService().currentWatermark()) return;
    const list = state.get(ts);
    if (list) list.push(value);
    state.put(ts, list ?? [value]);
    ctx.timerService().registerEventTimeTimer(cleanupAt);
  };
  return {
    processElement1(left, ctx, out) {
      const l = timeOf(ctx);
      if (l <= ctx.timerService().currentWatermark()) return; // late
      const { left: lefts, right: rights } = buffers(ctx);
      for (const [r, values] of rights.entries()) {
        if (r >= l + lower && r <= l + upper) for (const right of values) fn(left, right, out, { left: l, right: r });
      }
      buffer(lefts, l, left, l + upper, ctx);
    },
    processElement2(right, ctx, out) {
      const r = timeOf(ctx);
      if (r <= ctx.timerService().currentWatermark()) return; // late
      const { left: lefts, right: rights } = buffers(ctx);
      for (const [l, values] of lefts.entries()) {
        if (r >= l + lower && r <= l + upper) for (const left of values) fn(left, right, out, { left: l, right: r });
      }
      buffer(rights, r, right, r - lower, ctx);
    },
    onTimer(timestamp: number, ctx: OnTimerContext<K>) {
      const { left: lefts, right: rights } = buffers(ctx);
      for (const l of [...lefts.keys()]) if (l + upper <= timestamp) lefts.remove(l);
      for (const r of [...rights.keys()]) if (r - lower <= timestamp) rights.remove(r);
    },
  };
}

/**
 * Window queries.
 * q5  hot items: the auctions with the most bids in each sliding window (10 s, every 2 s):
 *       count per (auction, window), then per window the auctions whose count is the maximum
 * q7  highest bid: per 10 s tumbling window, the bids with the highest price
 * q11 user sessions: bids per bidder per session window (gap 10 s)
 * q12 processing-time windows: bids per bidder per 10 s of processing time
 */
import {
  SlidingEventTimeWindows, TumblingEventTimeWindows, type AggregateFunction, type Bid, type DataStream, type KeyedProcessFunction, type NexmarkEvent,
} from '../../../src/index.ts';
import { bids } from './streams.ts';

const count: AggregateFunction<unknown, number, number> = {
  createAccumulator: () => 0,
  add: (_v, acc) => acc + 1,
  getResult: (acc) => acc,
  merge: (a, b) => a + b,
};

export interface Q5Row {
  auction: number;
  num: number;
  starttime: number;
  endtime: number;
}

export function q5(events: DataStream<NexmarkEvent>, sizeMs = 10_000, slideMs = 2_000): DataStream<Q5Row> {
  const counts = bids(events)
    .keyBy((b) => b.auction)
    .window(SlidingEventTimeWindows.of(sizeMs, slideMs))
    .aggregate<number, number, Q5Row>(count, (auction, w, num, out) => out.collect({ auction, num, starttime: w.start, endtime: w.end }))
    .name('q5-counts');
  // A window's counts all carry timestamp end - 1 and precede the watermark that passes it,
  // so a timer at end - 1 sees every count of that window.
  const maxPerWindow: KeyedProcessFunction<number, Q5Row, Q5Row> = {
    processElement(row, ctx) {
      const best = ctx.getValueState<Q5Row[]>('best');
      const cur = best.value();
      if (!cur || row.num > cur[0]!.num) best.update([row]);
      else if (row.num === cur[0]!.num) best.update([...cur, row]);
      ctx.timerService().registerEventTimeTimer(row.endtime - 1);
    },
    onTimer(_ts, ctx, out) {
      const best = ctx.getValueState<Q5Row[]>('best');
      for (const r of best.value() ?? []) out.collect(r);
      best.clear();
    },
  };
  return counts.keyBy((r) => r.starttime).process(maxPerWindow).name('q5');
}

export interface Q7Row {
  auction: number;
  price: number;
  bidder: number;
  dateTime: number;
  extra: string;
}

/** Keeps only the bids with the highest price seen (ties kept). */
const highest: AggregateFunction<Bid, Bid[], Bid[]> = {
  createAccumulator: () => [],
  add: (b, acc) => {
    if (acc.length === 0 || b.price > acc[0]!.price) return [b];
    if (b.price === acc[0]!.price) acc.push(b);
    return acc;
  },
  getResult: (acc) => acc,
  merge: (a, b) => (a.length === 0 ? b : b.length === 0 ? a : a[0]!.price > b[0]!.price ? a : b[0]!.price > a[0]!.price ? b : [...a, ...b]),
};

export function q7(events: DataStream<NexmarkEvent>, windowMs = 10_000): DataStream<Q7Row> {
  // Partial maxima per auction first (parallel), then the window's maximum over them (one key).
  return bids(events)
    .keyBy((b) => b.auction)
    .window(TumblingEventTimeWindows.of(windowMs))
    .aggregate<Bid[], Bid[], Bid[]>(highest, (_k, _w, top, out) => out.collect(top))
    .name('q7-partial')
    .keyBy(() => 0)
    .window(TumblingEventTimeWindows.of(windowMs))
    .aggregate<Bid[], Bid[], Q7Row>(
      { createAccumulator: () => [], add: (top, acc) => top.reduce((a, b) => highest.add(b, a), acc), getResult: (acc) => acc, merge: (a, b) => highest.merge!(a, b) },
      (_k, _w, top, out) => {
        for (const b of top) out.collect({ auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, extra: b.extra });
      },
    )
    .name('q7');
}

export interface Q11Row {
  bidder: number;
  bid_count: number;
  starttime: number;
  endtime: number;
}

/**
 * Session windows with an incremental count: the key's open sessions as [start, end, count]
 * in one ValueState, merged when a bid bridges them; a timer at end - 1 emits a session.
 * (weir's session windows keep every element in a ListState and copy it on each merge,
 * which is quadratic for the hot bidders' day-long sessions, so the count is kept here.)
 */
export function q11(events: DataStream<NexmarkEvent>, gapMs = 10_000): DataStream<Q11Row> {
  type Session = [start: number, end: number, count: number];
  const fn: KeyedProcessFunction<number, Bid, Q11Row> = {
    processElement(b, ctx) {
      const state = ctx.getValueState<Session[]>('sessions');
      const timers = ctx.timerService();
      let start = b.dateTime;
      let end = b.dateTime + gapMs;
      let count = 1;
      const keep: Session[] = [];
      for (const s of state.value() ?? []) {
        if (s[0] <= end && s[1] >= start) {
          start = Math.min(start, s[0]);
          end = Math.max(end, s[1]);
          count += s[2];
          timers.deleteEventTimeTimer(s[1] - 1);
        } else keep.push(s);
      }
      keep.push([start, end, count]);
      state.update(keep);
      timers.registerEventTimeTimer(end - 1);
    },
    onTimer(ts, ctx, out) {
      const state = ctx.getValueState<Session[]>('sessions');
      const keep: Session[] = [];
      for (const s of state.value() ?? []) {
        if (s[1] - 1 <= ts) out.collect({ bidder: ctx.getCurrentKey(), bid_count: s[2], starttime: s[0], endtime: s[1] });
        else keep.push(s);
      }
      if (keep.length > 0) state.update(keep);
      else state.clear();
    },
  };
  return bids(events).keyBy((b) => b.bidder).process(fn).name('q11');
}

export interface Q12Row {
  bidder: number;
  bid_count: number;
  starttime: number;
  endtime: number;
}

/** Processing-time tumbling windows, as a keyed process function with processing-time timers (open windows close at the end of input). */
export function q12(events: DataStream<NexmarkEvent>, windowMs = 10_000): DataStream<Q12Row> {
  const fn: KeyedProcessFunction<number, Bid, Q12Row> = {
    processElement(_bid, ctx) {
      const now = ctx.timerService().currentProcessingTime();
      const start = now - (now % windowMs);
      const n = ctx.getMapState<number, number>('counts');
      n.put(start, (n.get(start) ?? 0) + 1);
      ctx.timerService().registerProcessingTimeTimer(start + windowMs - 1);
      // the end of input (final watermark) closes the windows still open
      ctx.timerService().registerEventTimeTimer(Number.MAX_SAFE_INTEGER);
    },
    onTimer(ts, ctx, out) {
      const n = ctx.getMapState<number, number>('counts');
      const endOfInput = ctx.timeDomain() === 'event';
      for (const [start, c] of [...n.entries()]) {
        if (endOfInput || start + windowMs - 1 <= ts) {
          out.collect({ bidder: ctx.getCurrentKey(), bid_count: c, starttime: start, endtime: start + windowMs });
          n.remove(start);
        }
      }
    },
  };
  return bids(events).keyBy((b) => b.bidder).process(fn).name('q12');
}

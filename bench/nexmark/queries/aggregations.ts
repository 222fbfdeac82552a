/**
 * Aggregation queries.
 * q4  average price per category: the winning (highest) bid of each auction placed before
 *       it expires, then the running average of those per category — one updated row per
 *       closed auction (Flink's updating result, as a stream of updates)
 * q15 bidding statistics per day, q16 per (channel, day), q17 per (auction, day): counts of
 *       bids by price rank (< 10,000, < 1,000,000, above), distinct bidders and auctions per
 *       rank (count-distinct state), min/max/avg/sum price (q17), the last 'HH:mm' (q16);
 *       emitted once per group when the watermark passes the end of the day (Flink keeps
 *       the row updated continuously; the final row is the same).
 */
import type { Auction, Bid, DataStream, KeyedCoProcessFunction, KeyedProcessFunction, KeyedStateStore, NexmarkEvent } from '../../../src/index.ts';
import { addDistinct } from './state-patterns.ts';
import { auctions, bids, day, hourMinute } from './streams.ts';

export interface Q4Row {
  category: number;
  avg: number;
}

export function q4(events: DataStream<NexmarkEvent>): DataStream<Q4Row> {
  const winning: KeyedCoProcessFunction<number, Auction, Bid, { category: number; final: number }> = {
    processElement1(auction, ctx) {
      ctx.getValueState<Auction>('auction').update(auction);
      let max = ctx.getValueState<number>('max').value();
      const early = ctx.getListState<Bid>('early-bids');
      for (const b of early.get()) if (b.dateTime >= auction.dateTime && b.dateTime <= auction.expires && (max === undefined || b.price > max)) max = b.price;
      early.clear();
      if (max !== undefined) ctx.getValueState<number>('max').update(max);
      ctx.timerService().registerEventTimeTimer(auction.expires);
    },
    processElement2(bid, ctx) {
      const auction = ctx.getValueState<Auction>('auction').value();
      if (!auction) {
        ctx.getListState<Bid>('early-bids').add(bid);
        return;
      }
      if (bid.dateTime < auction.dateTime || bid.dateTime > auction.expires) return;
      const max = ctx.getValueState<number>('max');
      const cur = max.value();
      if (cur === undefined || bid.price > cur) max.update(bid.price);
    },
    onTimer(_ts, ctx, out) {
      const auction = ctx.getValueState<Auction>('auction').value();
      const max = ctx.getValueState<number>('max');
      const m = max.value();
      if (auction && m !== undefined) out.collect({ category: auction.category, final: m });
      max.clear();
    },
  };
  const average: KeyedProcessFunction<number, { category: number; final: number }, Q4Row> = {
    processElement(w, ctx, out) {
      const s = ctx.getValueState<[number, number]>('sum-count');
      const [sum, n] = s.value() ?? [0, 0];
      s.update([sum + w.final, n + 1]);
      out.collect({ category: w.category, avg: Math.trunc((sum + w.final) / (n + 1)) });
    },
  };
  return auctions(events)
    .connect(bids(events))
    .keyBy((a) => a.id, (b) => b.auction)
    .process(winning, 'q4-winning')
    .keyBy((w) => w.category)
    .process(average)
    .name('q4');
}

const RANK1 = 10_000;
const RANK2 = 1_000_000;

export interface RankCounts {
  total_bids: number;
  rank1_bids: number;
  rank2_bids: number;
  rank3_bids: number;
}

export interface Q15Row extends RankCounts {
  day: string;
  total_bidders: number;
  rank1_bidders: number;
  rank2_bidders: number;
  rank3_bidders: number;
  total_auctions: number;
  rank1_auctions: number;
  rank2_auctions: number;
  rank3_auctions: number;
}

export type Q16Row = Q15Row & { channel: string; minute: string };

export interface Q17Row extends RankCounts {
  auction: number;
  day: string;
  min_price: number;
  max_price: number;
  avg_price: number;
  sum_price: number;
}

function rankOf(price: number): 1 | 2 | 3 {
  return price < RANK1 ? 1 : price < RANK2 ? 2 : 3;
}

const endOfDay = (ms: number): number => ms - (ms % 86_400_000) + 86_400_000 - 1;

/** Counts and distinct counts of one group (q15/q16), in keyed state. */
function updateStats(state: KeyedStateStore, b: Bid, withMinute: boolean): void {
  const s = state.getValueState<Omit<Q15Row, 'day'> & { minute?: string }>('stats');
  const cur = s.value() ?? {
    total_bids: 0, rank1_bids: 0, rank2_bids: 0, rank3_bids: 0, total_bidders: 0, rank1_bidders: 0, rank2_bidders: 0, rank3_bidders: 0,
    total_auctions: 0, rank1_auctions: 0, rank2_auctions: 0, rank3_auctions: 0,
  };
  const r = rankOf(b.price);
  cur.total_bids++;
  cur[`rank${r}_bids`]++;
  if (addDistinct(state, 'bidders', b.bidder)) cur.total_bidders++;
  if (addDistinct(state, `bidders${r}`, b.bidder)) cur[`rank${r}_bidders`]++;
  if (addDistinct(state, 'auctions', b.auction)) cur.total_auctions++;
  if (addDistinct(state, `auctions${r}`, b.auction)) cur[`rank${r}_auctions`]++;
  if (withMinute) {
    const m = hourMinute(b.dateTime);
    if (cur.minute === undefined || m > cur.minute) cur.minute = m;
  }
  s.update(cur);
}

function clearStats(state: KeyedStateStore): void {
  state.getValueState('stats').clear();
  for (const n of ['bidders', 'bidders1', 'bidders2', 'bidders3', 'auctions', 'auctions1', 'auctions2', 'auctions3']) state.getMapState(n).clear();
}

export function q15(events: DataStream<NexmarkEvent>): DataStream<Q15Row> {
  const fn: KeyedProcessFunction<string, Bid, Q15Row> = {
    processElement(b, ctx) {
      updateStats(ctx, b, false);
      ctx.timerService().registerEventTimeTimer(endOfDay(b.dateTime));
    },
    onTimer(_ts, ctx, out) {
      const s = ctx.getValueState<Omit<Q15Row, 'day'>>('stats').value();
      if (s) out.collect({ day: ctx.getCurrentKey(), ...s });
      clearStats(ctx);
    },
  };
  return bids(events).keyBy((b) => day(b.dateTime)).process(fn).name('q15');
}

export function q16(events: DataStream<NexmarkEvent>): DataStream<Q16Row> {
  const fn: KeyedProcessFunction<string, Bid, Q16Row> = {
    processElement(b, ctx) {
      updateStats(ctx, b, true);
      ctx.timerService().registerEventTimeTimer(endOfDay(b.dateTime));
    },
    onTimer(_ts, ctx, out) {
      const s = ctx.getValueState<Omit<Q15Row, 'day'> & { minute: string }>('stats').value();
      const key = ctx.getCurrentKey();
      const cut = key.lastIndexOf('|');
      if (s) out.collect({ channel: key.slice(0, cut), day: key.slice(cut + 1), ...s });
      clearStats(ctx);
    },
  };
  return bids(events).keyBy((b) => `${b.channel}|${day(b.dateTime)}`).process(fn).name('q16');
}

export function q17(events: DataStream<NexmarkEvent>): DataStream<Q17Row> {
  type Acc = RankCounts & { min_price: number; max_price: number; sum_price: number };
  const fn: KeyedProcessFunction<string, Bid, Q17Row> = {
    processElement(b, ctx) {
      const s = ctx.getValueState<Acc>('stats');
      const cur = s.value() ?? { total_bids: 0, rank1_bids: 0, rank2_bids: 0, rank3_bids: 0, min_price: b.price, max_price: b.price, sum_price: 0 };
      cur.total_bids++;
      cur[`rank${rankOf(b.price)}_bids`]++;
      cur.min_price = Math.min(cur.min_price, b.price);
      cur.max_price = Math.max(cur.max_price, b.price);
      cur.sum_price += b.price;
      s.update(cur);
      ctx.timerService().registerEventTimeTimer(endOfDay(b.dateTime));
    },
    onTimer(_ts, ctx, out) {
      const s = ctx.getValueState<Acc>('stats');
      const cur = s.value();
      const key = ctx.getCurrentKey();
      const cut = key.indexOf('|');
      if (cur) out.collect({ auction: Number(key.slice(0, cut)), day: key.slice(cut + 1), ...cur, avg_price: cur.sum_price / cur.total_bids });
      s.clear();
    },
  };
  return bids(events).keyBy((b) => `${b.auction}|${day(b.dateTime)}`).process(fn).name('q17');
}

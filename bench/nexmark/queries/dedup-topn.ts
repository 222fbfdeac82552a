/**
 * q18 find last bid (deduplication): the latest bid of every (bidder, auction); emitted
 *       every time it changes (Flink's updating result as a stream of updates)
 * q19 auction top-10 price: the 10 highest bids of every auction; the new top-10 list is
 *       emitted every time it changes (top-N state pattern)
 */
import type { Bid, DataStream, KeyedProcessFunction, NexmarkEvent } from '../../../src/index.ts';
import { offerTopN } from './state-patterns.ts';
import { bids } from './streams.ts';

export function q18(events: DataStream<NexmarkEvent>): DataStream<Bid> {
  const fn: KeyedProcessFunction<string, Bid, Bid> = {
    processElement(b, ctx, out) {
      const last = ctx.getValueState<number>('last-time');
      const t = last.value();
      if (t !== undefined && b.dateTime < t) return; // an older bid: the last one stays
      last.update(b.dateTime);
      out.collect(b);
    },
  };
  return bids(events).keyBy((b) => `${b.bidder}|${b.auction}`).process(fn).name('q18');
}

export interface Q19Row {
  auction: number;
  top: { price: number; bidder: number; dateTime: number }[];
}

/** Higher price first; equal prices in arrival order. */
const byPrice = (a: { price: number }, b: { price: number }): number => b.price - a.price;

export function q19(events: DataStream<NexmarkEvent>, n = 10): DataStream<Q19Row> {
  const fn: KeyedProcessFunction<number, Bid, Q19Row> = {
    processElement(b, ctx, out) {
      const top = offerTopN(ctx, 'top', n, { price: b.price, bidder: b.bidder, dateTime: b.dateTime }, byPrice);
      if (top) out.collect({ auction: b.auction, top });
    },
  };
  return bids(events).keyBy((b) => b.auction).process(fn).name('q19');
}

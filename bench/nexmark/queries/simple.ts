/**
 * Stateless queries (Flink Nexmark SQL in the comments).
 * q0  pass-through:        SELECT auction, bidder, price, dateTime, extra FROM bid
 * q1  currency conversion: SELECT auction, bidder, 0.908 * price as price, dateTime, extra FROM bid
 * q2  selection:           SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0
 * q14 calculation:         bids with 1,000,000 < 0.908 * price < 50,000,000, the time of day
 *                          of the bid (dayTime 8-18h, nightTime <= 6h or >= 20h, else otherTime)
 *                          and count_char(extra, 'c')
 */
import type { Bid, DataStream, NexmarkEvent } from '../../../src/index.ts';
import { bids, hourOfDay } from './streams.ts';

export interface Q0Row {
  auction: number;
  bidder: number;
  price: number;
  dateTime: number;
  extra: string;
}

export function q0(events: DataStream<NexmarkEvent>): DataStream<Q0Row> {
  return bids(events).map((b): Q0Row => ({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra })).name('q0');
}

export function q1(events: DataStream<NexmarkEvent>): DataStream<Q0Row> {
  return bids(events).map((b): Q0Row => ({ auction: b.auction, bidder: b.bidder, price: 0.908 * b.price, dateTime: b.dateTime, extra: b.extra })).name('q1');
}

export function q2(events: DataStream<NexmarkEvent>): DataStream<{ auction: number; price: number }> {
  return bids(events)
    .filter((b) => b.auction % 123 === 0)
    .map((b) => ({ auction: b.auction, price: b.price }))
    .name('q2');
}

export interface Q14Row {
  auction: number;
  bidder: number;
  price: number;
  bidTimeType: 'dayTime' | 'nightTime' | 'otherTime';
  dateTime: number;
  extra: string;
  c_counts: number;
}

export function bidTimeType(dateTime: number): Q14Row['bidTimeType'] {
  const h = hourOfDay(dateTime);
  if (h >= 8 && h <= 18) return 'dayTime';
  if (h <= 6 || h >= 20) return 'nightTime';
  return 'otherTime';
}

/** The count_char UDF of Flink Nexmark's q14. */
export function countChar(s: string, c: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) if (s[i] === c) n++;
  return n;
}

export function q14(events: DataStream<NexmarkEvent>): DataStream<Q14Row> {
  return bids(events)
    .flatMap<Q14Row>((b: Bid, out) => {
      const price = 0.908 * b.price;
      if (!(price > 1_000_000 && price < 50_000_000)) return;
      out.collect({ auction: b.auction, bidder: b.bidder, price, bidTimeType: bidTimeType(b.dateTime), dateTime: b.dateTime, extra: b.extra, c_counts: countChar(b.extra, 'c') });
    })
    .name('q14');
}

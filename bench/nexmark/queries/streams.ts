/** The three Nexmark tables as streams of one event stream (Flink Nexmark's `person`, `auction`, `bid` views). */
import type { Auction, Bid, DataStream, NexmarkEvent, Person } from '../../../src/index.ts';

export function bids(events: DataStream<NexmarkEvent>): DataStream<Bid> {
  return events.flatMap<Bid>((e, out) => {
    if (e.type === 'bid') out.collect(e.bid);
  }).name('bids');
}

export function auctions(events: DataStream<NexmarkEvent>): DataStream<Auction> {
  return events.flatMap<Auction>((e, out) => {
    if (e.type === 'auction') out.collect(e.auction);
  }).name('auctions');
}

export function persons(events: DataStream<NexmarkEvent>): DataStream<Person> {
  return events.flatMap<Person>((e, out) => {
    if (e.type === 'person') out.collect(e.person);
  }).name('persons');
}

/** Flink's DATE_FORMAT(dateTime, 'yyyy-MM-dd') and 'HH:mm' (timestamps without time zone: UTC fields). */
export function day(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
export function hourMinute(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}
export function hourOfDay(ms: number): number {
  return new Date(ms).getUTCHours();
}

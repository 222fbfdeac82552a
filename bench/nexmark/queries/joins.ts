/**
 * Join queries.
 * q3  local item suggestion (regular join):
 *       SELECT P.name, P.city, P.state, A.id FROM auction A INNER JOIN person P on A.seller = P.id
 *       WHERE A.category = 10 and (P.state = 'OR' OR P.state = 'ID' OR P.state = 'CA')
 * q8  monitor new users (window join): people who opened an auction in the same 10 s tumbling
 *       window in which they registered: (P.id, P.name, window start)
 * q9  winning bids: every auction with its highest bid (ties: the earliest) placed between the
 *       auction's start and expiry; emitted when the auction expires (event time)
 * q20 expanded bid (regular join): bids with their auction's columns, auctions of category 10
 *
 * The regular joins are keyed co-process functions: a person (q3) or auction (q20) is kept
 * in keyed state when it arrives; records of the other side that come before it wait in a
 * ListState and are joined when it comes. As in Flink, the kept side is never expired.
 */
import { TumblingEventTimeWindows, type Auction, type Bid, type DataStream, type KeyedCoProcessFunction, type NexmarkEvent, type Person } from '../../../src/index.ts';
import { auctions, bids, persons } from './streams.ts';

export interface Q3Row {
  name: string;
  city: string;
  state: string;
  id: number;
}

const Q3_STATES = new Set(['OR', 'ID', 'CA']);

export function q3(events: DataStream<NexmarkEvent>): DataStream<Q3Row> {
  const a = auctions(events).filter((x) => x.category === 10);
  const p = persons(events).filter((x) => Q3_STATES.has(x.state));
  const fn: KeyedCoProcessFunction<number, Auction, Person, Q3Row> = {
    processElement1(auction, ctx, out) {
      const person = ctx.getValueState<Pick<Person, 'name' | 'city' | 'state'>>('person').value();
      if (person) out.collect({ name: person.name, city: person.city, state: person.state, id: auction.id });
      else ctx.getListState<number>('waiting-auctions').add(auction.id);
    },
    processElement2(person, ctx, out) {
      ctx.getValueState<Pick<Person, 'name' | 'city' | 'state'>>('person').update({ name: person.name, city: person.city, state: person.state });
      const waiting = ctx.getListState<number>('waiting-auctions');
      for (const id of waiting.get()) out.collect({ name: person.name, city: person.city, state: person.state, id });
      waiting.clear();
    },
  };
  return a.connect(p).keyBy((x) => x.seller, (x) => x.id).process(fn, 'q3');
}

export interface Q8Row {
  id: number;
  name: string;
  starttime: number;
}

export function q8(events: DataStream<NexmarkEvent>, windowMs = 10_000): DataStream<Q8Row> {
  return persons(events)
    .coGroup(auctions(events))
    .where((p) => p.id)
    .equalTo((a) => a.seller)
    .window(TumblingEventTimeWindows.of(windowMs))
    .applyGroups<Q8Row>((_id, window, ps, as, out) => {
      if (as.length === 0) return;
      const seen = new Set<string>();
      for (const p of ps) {
        const k = `${p.id}/${p.name}`;
        if (seen.has(k)) continue;
        seen.add(k);
        out.collect({ id: p.id, name: p.name, starttime: window.start });
      }
    });
}

export interface Q9Row {
  auction: Auction;
  bid: Bid;
}

/** Highest price first, then the earliest. */
export function betterBid(a: Bid, b: Bid): boolean {
  return a.price > b.price || (a.price === b.price && a.dateTime < b.dateTime);
}

export function q9(events: DataStream<NexmarkEvent>): DataStream<Q9Row> {
  const fn: KeyedCoProcessFunction<number, Auction, Bid, Q9Row> = {
    processElement1(auction, ctx) {
      ctx.getValueState<Auction>('auction').update(auction);
      const early = ctx.getListState<Bid>('early-bids');
      let best: Bid | undefined;
      for (const b of early.get()) if (b.dateTime >= auction.dateTime && b.dateTime <= auction.expires && (!best || betterBid(b, best))) best = b;
      early.clear();
      if (best) ctx.getValueState<Bid>('best').update(best);
      ctx.timerService().registerEventTimeTimer(auction.expires);
    },
    processElement2(bid, ctx) {
      const auction = ctx.getValueState<Auction>('auction').value();
      if (!auction) {
        ctx.getListState<Bid>('early-bids').add(bid);
        return;
      }
      if (bid.dateTime < auction.dateTime || bid.dateTime > auction.expires) return;
      const best = ctx.getValueState<Bid>('best');
      const cur = best.value();
      if (!cur || betterBid(bid, cur)) best.update(bid);
    },
    onTimer(_ts, ctx, out) {
      const auction = ctx.getValueState<Auction>('auction');
      const best = ctx.getValueState<Bid>('best');
      const a = auction.value();
      const b = best.value();
      if (a && b) out.collect({ auction: a, bid: b });
      best.clear();
      // the auction stays: bids for it that come later are outside its interval and dropped
    },
  };
  return auctions(events).connect(bids(events)).keyBy((a) => a.id, (b) => b.auction).process(fn, 'q9');
}

export interface Q20Row {
  auction: number;
  bidder: number;
  price: number;
  channel: string;
  url: string;
  dateTime: number;
  extra: string;
  itemName: string;
  description: string;
  initialBid: number;
  reserve: number;
  auctionDateTime: number;
  expires: number;
  seller: number;
  category: number;
  auctionExtra: string;
}

function q20Row(b: Bid, a: Auction): Q20Row {
  return {
    auction: b.auction, bidder: b.bidder, price: b.price, channel: b.channel, url: b.url, dateTime: b.dateTime, extra: b.extra,
    itemName: a.itemName, description: a.description, initialBid: a.initialBid, reserve: a.reserve, auctionDateTime: a.dateTime,
    expires: a.expires, seller: a.seller, category: a.category, auctionExtra: a.extra,
  };
}

export function q20(events: DataStream<NexmarkEvent>): DataStream<Q20Row> {
  const fn: KeyedCoProcessFunction<number, Bid, Auction, Q20Row> = {
    processElement1(bid, ctx, out) {
      const seen = ctx.getValueState<Auction | 0>('auction').value();
      if (seen === undefined) ctx.getListState<Bid>('waiting-bids').add(bid);
      else if (seen !== 0) out.collect(q20Row(bid, seen));
    },
    processElement2(auction, ctx, out) {
      // 0 marks an auction of another category: its bids are dropped from now on
      ctx.getValueState<Auction | 0>('auction').update(auction.category === 10 ? auction : 0);
      const waiting = ctx.getListState<Bid>('waiting-bids');
      if (auction.category === 10) for (const b of waiting.get()) out.collect(q20Row(b, auction));
      waiting.clear();
    },
  };
  return bids(events).connect(auctions(events)).keyBy((b) => b.auction, (a) => a.id).process(fn, 'q20');
}

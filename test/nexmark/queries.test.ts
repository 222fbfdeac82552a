/**
 * Every Nexmark query against a plain TypeScript computation of the same result over
 * the same generated events (small streams; the generator is Beam's, so the data has
 * hot auctions, hot bidders and sellers as in the benchmark). Each test also checks
 * that the query produced something to compare.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CollectSink, NexmarkGenerator, NexmarkSource, StreamEnvironment, WatermarkStrategy,
  type Auction, type Bid, type DataStream, type GeneratorConfigOptions, type NexmarkEvent, type Person,
} from '../../src/index.ts';
import { queries } from '../../bench/nexmark/queries/index.ts';
import { bidTimeType, countChar } from '../../bench/nexmark/queries/simple.ts';
import { betterBid } from '../../bench/nexmark/queries/joins.ts';
import { day, hourMinute } from '../../bench/nexmark/queries/streams.ts';

const N = 5000;

async function run<R>(query: (events: DataStream<NexmarkEvent>) => DataStream<R>, options: GeneratorConfigOptions = {}, backend: 'heap' | 'lsm' = 'heap'): Promise<R[]> {
  const env = new StreamEnvironment({ parallelism: 2, stateBackend: backend });
  const sink = new CollectSink<R>();
  const events = env
    .fromSource(new NexmarkSource({ maxEvents: N, ...options, splits: 4 }))
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(0));
  query(events).sinkTo(sink);
  await env.execute('nexmark-test');
  return sink.values;
}

function generated(options: GeneratorConfigOptions = {}): { persons: Person[]; auctions: Auction[]; bids: Bid[] } {
  const gen = new NexmarkGenerator({ maxEvents: N, ...options });
  const out = { persons: [] as Person[], auctions: [] as Auction[], bids: [] as Bid[] };
  for (let i = 0; i < N; i++) {
    const e = gen.event(i);
    if (e.type === 'person') out.persons.push(e.person);
    else if (e.type === 'auction') out.auctions.push(e.auction);
    else out.bids.push(e.bid);
  }
  return out;
}

const sorted = (xs: readonly unknown[]): string[] => xs.map((x) => JSON.stringify(x)).sort();

function assertSameRows(got: readonly unknown[], want: readonly unknown[], what: string): void {
  assert.ok(want.length > 0, `${what}: the stream gives the query something to find`);
  assert.equal(got.length, want.length, `${what}: row count`);
  assert.deepEqual(sorted(got), sorted(want), what);
}

/** Spread N events over `ms` of event time (the generator's inter-event delay is 100 µs × generators). */
const spanning = (ms: number): GeneratorConfigOptions => ({ numEventGenerators: Math.round((ms * 1000) / N / 100) });

test('q0 pass-through, q1 currency conversion, q2 selection', async () => {
  const { bids } = generated();
  assertSameRows(await run(queries['q0']!), bids.map((b) => ({ auction: b.auction, bidder: b.bidder, price: b.price, dateTime: b.dateTime, extra: b.extra })), 'q0');
  assertSameRows(await run(queries['q1']!), bids.map((b) => ({ auction: b.auction, bidder: b.bidder, price: 0.908 * b.price, dateTime: b.dateTime, extra: b.extra })), 'q1');
  // hot auction ids are multiples of 100 (+1000): q2 finds the ones divisible by 123
  assertSameRows(await run(queries['q2']!), bids.filter((b) => b.auction % 123 === 0).map((b) => ({ auction: b.auction, price: b.price })), 'q2');
});

test('q3 local item suggestion (regular join person x auction)', async () => {
  const { persons, auctions } = generated();
  const byId = new Map(persons.map((p) => [p.id, p]));
  const want = auctions.filter((a) => a.category === 10).flatMap((a) => {
    const p = byId.get(a.seller);
    return p && ['OR', 'ID', 'CA'].includes(p.state) ? [{ name: p.name, city: p.city, state: p.state, id: a.id }] : [];
  });
  assertSameRows(await run(queries['q3']!), want, 'q3');
});

function winningBids(auctions: Auction[], bids: Bid[]): Map<number, { auction: Auction; bid: Bid }> {
  const byAuction = new Map(auctions.map((a) => [a.id, a]));
  const best = new Map<number, { auction: Auction; bid: Bid }>();
  for (const b of bids) {
    const a = byAuction.get(b.auction);
    if (!a || b.dateTime < a.dateTime || b.dateTime > a.expires) continue;
    const cur = best.get(a.id);
    if (!cur || betterBid(b, cur.bid)) best.set(a.id, { auction: a, bid: b });
  }
  return best;
}

for (const backend of ['heap', 'lsm'] as const) {
  test(`q4 average winning price per category (${backend})`, async () => {
    const { auctions, bids } = generated();
    const sums = new Map<number, [number, number]>();
    for (const { auction, bid } of winningBids(auctions, bids).values()) {
      const [s, n] = sums.get(auction.category) ?? [0, 0];
      sums.set(auction.category, [s + bid.price, n + 1]);
    }
    const rows = (await run(queries['q4']!, {}, backend)) as { category: number; avg: number }[];
    const last = new Map<number, number>();
    const perCategory = new Map<number, number>();
    for (const r of rows) {
      last.set(r.category, r.avg);
      perCategory.set(r.category, (perCategory.get(r.category) ?? 0) + 1);
    }
    assert.ok(sums.size > 0);
    assert.deepEqual([...last].sort(), [...sums].map(([c, [s, n]]) => [c, Math.trunc(s / n)]).sort(), 'final average per category');
    assert.deepEqual([...perCategory].sort(), [...sums].map(([c, [, n]]) => [c, n]).sort(), 'one update per closed auction');
  });

  test(`q9 winning bids (${backend})`, async () => {
    const { auctions, bids } = generated();
    const want = [...winningBids(auctions, bids).values()].map(({ auction, bid }) => [auction.id, bid.price, bid.dateTime]);
    const got = ((await run(queries['q9']!, {}, backend)) as { auction: Auction; bid: Bid }[]).map(({ auction, bid }) => [auction.id, bid.price, bid.dateTime]);
    assertSameRows(got, want, 'q9');
  });

  test(`q19 top-10 bids per auction (${backend})`, async () => {
    const { bids } = generated();
    const tops = new Map<number, number[]>();
    for (const b of bids) {
      const l = tops.get(b.auction) ?? [];
      l.push(b.price);
      tops.set(b.auction, l.sort((x, y) => y - x).slice(0, 10));
    }
    const rows = (await run(queries['q19']!, {}, backend)) as { auction: number; top: { price: number }[] }[];
    const last = new Map<number, number[]>();
    for (const r of rows) last.set(r.auction, r.top.map((t) => t.price));
    assertSameRows([...last], [...tops], 'q19 final top-10');
  });

  test(`q20 expanded bids of category-10 auctions (regular join) (${backend})`, async () => {
    const { auctions, bids } = generated();
    const byId = new Map(auctions.filter((a) => a.category === 10).map((a) => [a.id, a]));
    const want = bids.flatMap((b) => {
      const a = byId.get(b.auction);
      return a ? [{ auction: b.auction, bidder: b.bidder, price: b.price, channel: b.channel, url: b.url, dateTime: b.dateTime, extra: b.extra, itemName: a.itemName, description: a.description, initialBid: a.initialBid, reserve: a.reserve, auctionDateTime: a.dateTime, expires: a.expires, seller: a.seller, category: a.category, auctionExtra: a.extra }] : [];
    });
    assertSameRows(await run(queries['q20']!, {}, backend), want, 'q20');
  });

  test(`q15 daily bidding statistics with count-distinct state (${backend})`, async () => {
    const opts = spanning(2.5 * 86_400_000);
    const { bids } = generated(opts);
    assertSameRows(await run(queries['q15']!, opts, backend), dailyStats(bids, (b) => day(b.dateTime)).map(([k, s]) => ({ day: k, ...s })), 'q15');
  });
}

function dailyStats(bids: Bid[], keyOf: (b: Bid) => string): [string, Record<string, number>][] {
  const groups = new Map<string, Bid[]>();
  for (const b of bids) groups.set(keyOf(b), [...(groups.get(keyOf(b)) ?? []), b]);
  return [...groups].map(([k, bs]) => {
    const rank = (b: Bid): number => (b.price < 10_000 ? 1 : b.price < 1_000_000 ? 2 : 3);
    const inRank = (r: number): Bid[] => bs.filter((b) => rank(b) === r);
    const distinct = (xs: Bid[], f: (b: Bid) => number): number => new Set(xs.map(f)).size;
    return [k, {
      total_bids: bs.length, rank1_bids: inRank(1).length, rank2_bids: inRank(2).length, rank3_bids: inRank(3).length,
      total_bidders: distinct(bs, (b) => b.bidder), rank1_bidders: distinct(inRank(1), (b) => b.bidder), rank2_bidders: distinct(inRank(2), (b) => b.bidder), rank3_bidders: distinct(inRank(3), (b) => b.bidder),
      total_auctions: distinct(bs, (b) => b.auction), rank1_auctions: distinct(inRank(1), (b) => b.auction), rank2_auctions: distinct(inRank(2), (b) => b.auction), rank3_auctions: distinct(inRank(3), (b) => b.auction),
    }];
  });
}

test('q5 hot items (sliding windows 10 s every 2 s)', async () => {
  const { bids } = generated();
  const counts = new Map<number, Map<number, number>>(); // window start -> auction -> count
  for (const b of bids) {
    for (let start = b.dateTime - (b.dateTime % 2000); start > b.dateTime - 10_000; start -= 2000) {
      const m = counts.get(start) ?? new Map<number, number>();
      m.set(b.auction, (m.get(b.auction) ?? 0) + 1);
      counts.set(start, m);
    }
  }
  const want = [...counts].flatMap(([start, m]) => {
    const max = Math.max(...m.values());
    return [...m].filter(([, c]) => c === max).map(([auction, num]) => ({ auction, num, starttime: start, endtime: start + 10_000 }));
  });
  assertSameRows(await run(queries['q5']!), want, 'q5');
});

test('q7 highest bid per 10 s window', async () => {
  const { bids } = generated();
  const windows = new Map<number, Bid[]>();
  for (const b of bids) {
    const start = b.dateTime - (b.dateTime % 10_000);
    const cur = windows.get(start);
    if (!cur || b.price > cur[0]!.price) windows.set(start, [b]);
    else if (b.price === cur[0]!.price) cur.push(b);
  }
  const want = [...windows.values()].flat().map((b) => ({ auction: b.auction, price: b.price, bidder: b.bidder, dateTime: b.dateTime, extra: b.extra }));
  assertSameRows(await run(queries['q7']!), want, 'q7');
});

test('q8 new users who open an auction in their first 10 s window', async () => {
  const { persons, auctions } = generated();
  const want = persons.flatMap((p) => {
    const start = p.dateTime - (p.dateTime % 10_000);
    return auctions.some((a) => a.seller === p.id && a.dateTime - (a.dateTime % 10_000) === start) ? [{ id: p.id, name: p.name, starttime: start }] : [];
  });
  assertSameRows(await run(queries['q8']!), want, 'q8');
});

test('q11 bids per bidder session (gap 10 s)', async () => {
  const opts = spanning(3_600_000); // sparser bids, so sessions close
  const { bids } = generated(opts);
  const byBidder = new Map<number, number[]>();
  for (const b of bids) byBidder.set(b.bidder, [...(byBidder.get(b.bidder) ?? []), b.dateTime]);
  const want: { bidder: number; bid_count: number; starttime: number; endtime: number }[] = [];
  for (const [bidder, times] of byBidder) {
    times.sort((x, y) => x - y);
    let start = times[0]!;
    let end = start + 10_000;
    let n = 0;
    for (const t of times) {
      if (t <= end) { // Flink: windows that touch merge (TimeWindow.intersects)
        n++;
        end = Math.max(end, t + 10_000);
      } else {
        want.push({ bidder, bid_count: n, starttime: start, endtime: end });
        start = t;
        end = t + 10_000;
        n = 1;
      }
    }
    want.push({ bidder, bid_count: n, starttime: start, endtime: end });
  }
  assert.ok(want.length > byBidder.size, 'some bidder has several sessions');
  assertSameRows(await run(queries['q11']!, opts), want, 'q11');
});

test('q12 bids per bidder per processing-time window: every bid counted once', async () => {
  const { bids } = generated();
  const want = new Map<number, number>();
  for (const b of bids) want.set(b.bidder, (want.get(b.bidder) ?? 0) + 1);
  const rows = (await run(queries['q12']!)) as { bidder: number; bid_count: number; starttime: number; endtime: number }[];
  const got = new Map<number, number>();
  for (const r of rows) {
    assert.equal(r.endtime - r.starttime, 10_000);
    assert.equal(r.starttime % 10_000, 0);
    got.set(r.bidder, (got.get(r.bidder) ?? 0) + r.bid_count);
  }
  assertSameRows([...got], [...want], 'q12 totals per bidder');
});

test('q14 calculation: price filter, time of day, count_char', async () => {
  const opts = spanning(86_400_000); // a whole day, so every time-of-day class occurs
  const { bids } = generated(opts);
  const want = bids.filter((b) => 0.908 * b.price > 1_000_000 && 0.908 * b.price < 50_000_000).map((b) => ({
    auction: b.auction, bidder: b.bidder, price: 0.908 * b.price, bidTimeType: bidTimeType(b.dateTime), dateTime: b.dateTime, extra: b.extra, c_counts: countChar(b.extra, 'c'),
  }));
  assert.deepEqual(new Set(want.map((r) => r.bidTimeType)), new Set(['dayTime', 'nightTime', 'otherTime']));
  assertSameRows(await run(queries['q14']!, opts), want, 'q14');
});

test('q16 channel statistics per day, q17 auction statistics per day', async () => {
  const opts = spanning(2.5 * 86_400_000);
  const { bids } = generated(opts);
  const minutes = new Map<string, string>();
  for (const b of bids) {
    const k = `${b.channel}|${day(b.dateTime)}`;
    const m = hourMinute(b.dateTime);
    if ((minutes.get(k) ?? '') < m) minutes.set(k, m);
  }
  const want16 = dailyStats(bids, (b) => `${b.channel}|${day(b.dateTime)}`).map(([k, s]) => ({ channel: k.split('|')[0], day: k.split('|')[1], ...s, minute: minutes.get(k) }));
  assertSameRows(await run(queries['q16']!, opts), want16, 'q16');
  const groups = new Map<string, Bid[]>();
  for (const b of bids) groups.set(`${b.auction}|${day(b.dateTime)}`, [...(groups.get(`${b.auction}|${day(b.dateTime)}`) ?? []), b]);
  const want17 = [...groups].map(([k, bs]) => {
    const prices = bs.map((b) => b.price);
    const sum = prices.reduce((a, b) => a + b, 0);
    return {
      auction: Number(k.split('|')[0]), day: k.split('|')[1], total_bids: bs.length,
      rank1_bids: prices.filter((p) => p < 10_000).length, rank2_bids: prices.filter((p) => p >= 10_000 && p < 1_000_000).length, rank3_bids: prices.filter((p) => p >= 1_000_000).length,
      min_price: Math.min(...prices), max_price: Math.max(...prices), sum_price: sum, avg_price: sum / bs.length,
    };
  });
  assertSameRows(await run(queries['q17']!, opts), want17, 'q17');
});

test('q18 last bid per bidder and auction (deduplication)', async () => {
  const { bids } = generated();
  const last = new Map<string, Bid>();
  for (const b of bids) {
    const k = `${b.bidder}|${b.auction}`;
    const cur = last.get(k);
    if (!cur || b.dateTime >= cur.dateTime) last.set(k, b);
  }
  const rows = (await run(queries['q18']!)) as Bid[];
  const got = new Map<string, Bid>();
  for (const r of rows) got.set(`${r.bidder}|${r.auction}`, r);
  assert.ok(rows.length >= got.size);
  assertSameRows([...got], [...last], 'q18');
});

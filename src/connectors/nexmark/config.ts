/**
 * The generator's configuration, as Apache Beam's Nexmark has it: the knobs of
 * `NexmarkConfiguration` that shape the event stream (with Beam's defaults), and the
 * timeline arithmetic of `GeneratorConfig` (inter-event delays from the rate shape,
 * event number -> timestamp, out-of-order groups). All of it is deterministic from the
 * event number.
 */
import { ConfigError } from '../../util/errors.ts';

/** How the event rate moves between `firstEventRate` and `nextEventRate` over `ratePeriodSec`: two steps, or ten steps along a cosine. */
export type RateShape = 'square' | 'sine';
/** Unit of `firstEventRate` and `nextEventRate`. */
export type RateUnit = 'per-second' | 'per-minute';

/** The knobs of Beam's NexmarkConfiguration that shape the event stream (defaults: {@link DEFAULT_NEXMARK_CONFIG}). */
export interface NexmarkConfig {
  /** Event generators the rate is split over: each has its own timeline (Beam: numEventGenerators, default 100). */
  readonly numEventGenerators: number;
  /** Shape of the rate between `firstEventRate` and `nextEventRate` (default 'sine'; no effect when the two are equal). */
  readonly rateShape: RateShape;
  /** Overall event rate at the start and the other end of the shape, in `rateUnit` (default 10,000). */
  readonly firstEventRate: number;
  /** Event rate at the other end of the shape, in `rateUnit` (default 10,000). */
  readonly nextEventRate: number;
  /** Unit of the two rates (default 'per-second'). Rates set event time, not the speed of generation. */
  readonly rateUnit: RateUnit;
  /** Period of the rate shape in seconds (default 600). */
  readonly ratePeriodSec: number;
  /** Average size of a person event in bytes, reached by padding its `extra` field (default 200). */
  readonly avgPersonByteSize: number;
  /** Average size of an auction event in bytes, reached by padding its `extra` field (default 500). */
  readonly avgAuctionByteSize: number;
  /** Average size of a bid event in bytes, reached by padding its `extra` field (default 100). */
  readonly avgBidByteSize: number;
  /** Ratio of bids to hot auctions vs all other auctions (default 2). */
  readonly hotAuctionRatio: number;
  /** Ratio of auctions by hot sellers vs all other sellers (default 4). */
  readonly hotSellersRatio: number;
  /** Ratio of bids by hot bidders vs all other bidders (default 4). */
  readonly hotBiddersRatio: number;
  /** Average auctions in flight per generator (sets auction lengths). */
  readonly numInFlightAuctions: number;
  /** People considered active for auctions and bids. */
  readonly numActivePeople: number;
  /** Events per out-of-order group (1: in order). */
  readonly outOfOrderGroupSize: number;
}

/** Beam's NexmarkConfiguration.DEFAULT (the fields that shape the stream). */
export const DEFAULT_NEXMARK_CONFIG: NexmarkConfig = Object.freeze({
  numEventGenerators: 100,
  rateShape: 'sine',
  firstEventRate: 10000,
  nextEventRate: 10000,
  rateUnit: 'per-second',
  ratePeriodSec: 600,
  avgPersonByteSize: 200,
  avgAuctionByteSize: 500,
  avgBidByteSize: 100,
  hotAuctionRatio: 2,
  hotSellersRatio: 4,
  hotBiddersRatio: 4,
  numInFlightAuctions: 100,
  numActivePeople: 1000,
  outOfOrderGroupSize: 1,
});

/** NexmarkUtils.BASE_TIME: 2015-07-15T00:00:00Z, the event time of event number 0. */
export const NEXMARK_BASE_TIME = Date.UTC(2015, 6, 15);

/** Id of the first auction (Beam's GeneratorConfig.FIRST_AUCTION_ID). */
export const FIRST_AUCTION_ID = 1000;
/** Id of the first person. */
export const FIRST_PERSON_ID = 1000;
/** Id of the first category. */
export const FIRST_CATEGORY_ID = 10;
/** Of every 50 events, 1 is a person... */
export const PERSON_PROPORTION = 1;
/** ...3 are auctions... */
export const AUCTION_PROPORTION = 3;
/** ...and 46 are bids. */
export const BID_PROPORTION = 46;
/** Events per cycle of the three kinds (50). */
export const PROPORTION_DENOMINATOR = PERSON_PROPORTION + AUCTION_PROPORTION + BID_PROPORTION;

/** Java long division for non-negative operands. */
const div = (a: number, b: number): number => Math.floor(a / b);

function rateToPeriodUs(unit: RateUnit, rate: number): number {
  const usPerUnit = unit === 'per-second' ? 1_000_000 : 60_000_000;
  return div(usPerUnit + div(rate, 2), rate);
}

/** RateShape.interEventDelayUs(firstRate, nextRate, unit, numGenerators). */
export function interEventDelaysUs(c: NexmarkConfig): number[] {
  if (c.firstEventRate === c.nextEventRate) return [rateToPeriodUs(c.rateUnit, c.firstEventRate) * c.numEventGenerators];
  if (c.rateShape === 'square') {
    return [rateToPeriodUs(c.rateUnit, c.firstEventRate) * c.numEventGenerators, rateToPeriodUs(c.rateUnit, c.nextEventRate) * c.numEventGenerators];
  }
  const N = 10;
  const mid = (c.firstEventRate + c.nextEventRate) / 2.0;
  const amp = (c.firstEventRate - c.nextEventRate) / 2.0;
  const out: number[] = [];
  for (let i = 0; i < N; i++) {
    const r = (2.0 * Math.PI * i) / N;
    const rate = mid + amp * Math.cos(r);
    out.push(rateToPeriodUs(c.rateUnit, Math.round(rate)) * c.numEventGenerators);
  }
  return out;
}

/** RateShape.stepLengthSec(ratePeriodSec). */
export function stepLengthSec(c: NexmarkConfig): number {
  const n = c.rateShape === 'square' ? 2 : 10;
  return div(c.ratePeriodSec + n - 1, n);
}

/** Options of {@link GeneratorConfig}: any {@link NexmarkConfig} field (the rest default), and the timeline's start and length. */
export interface GeneratorConfigOptions extends Partial<NexmarkConfig> {
  /** Event time of event number 0 (ms since the epoch); default NEXMARK_BASE_TIME. */
  readonly baseTime?: number;
  /** Id of the first event (ids seed each event's randomness); default 0. */
  readonly firstEventId?: number;
  /** Event number of the first event (sets its timestamp); default 0. */
  readonly firstEventNumber?: number;
  /** Events to generate (undefined: unbounded). */
  readonly maxEvents?: number;
}

/** Beam's GeneratorConfig: one generator's timeline. */
export class GeneratorConfig {
  /** The full configuration: the options over {@link DEFAULT_NEXMARK_CONFIG}. */
  readonly config: NexmarkConfig;
  /** Event time of event number 0, ms since the epoch. */
  readonly baseTime: number;
  /** Id of the first event. */
  readonly firstEventId: number;
  /** Event number of the first event. */
  readonly firstEventNumber: number;
  /** Events this generator produces (Number.MAX_SAFE_INTEGER: unbounded). */
  readonly maxEvents: number;
  private readonly delaysUs: readonly number[];
  private readonly stepLengthSec: number;
  private readonly eventsPerEpoch: number;
  private readonly epochPeriodMs: number;

  /** @throws ConfigError when a rate, size or ratio is not a positive integer, or a start or count is not a non-negative safe integer. */
  constructor(options: GeneratorConfigOptions = {}) {
    const { baseTime, firstEventId, firstEventNumber, maxEvents, ...rest } = options;
    this.config = { ...DEFAULT_NEXMARK_CONFIG, ...rest };
    for (const [k, v] of Object.entries(this.config)) {
      if (typeof v === 'number' && !(Number.isInteger(v) && v > 0)) throw new ConfigError(`nexmark: ${k} must be a positive integer, got ${v}`);
    }
    this.baseTime = baseTime ?? NEXMARK_BASE_TIME;
    this.firstEventId = firstEventId ?? 0;
    this.firstEventNumber = firstEventNumber ?? 0;
    this.maxEvents = maxEvents ?? Number.MAX_SAFE_INTEGER;
    for (const [k, v] of Object.entries({ baseTime: this.baseTime, firstEventId: this.firstEventId, firstEventNumber: this.firstEventNumber, maxEvents: this.maxEvents })) {
      if (!Number.isSafeInteger(v) || v < 0) throw new ConfigError(`nexmark: ${k} must be a non-negative integer, got ${v}`);
    }
    this.delaysUs = interEventDelaysUs(this.config);
    this.stepLengthSec = stepLengthSec(this.config);
    let eventsPerEpoch = 0;
    let epochPeriodMs = 0;
    if (this.delaysUs.length > 1) {
      for (const d of this.delaysUs) {
        const n = div(this.stepLengthSec * 1_000_000, d);
        eventsPerEpoch += n;
        epochPeriodMs += div(n * d, 1000);
      }
    }
    this.eventsPerEpoch = eventsPerEpoch;
    this.epochPeriodMs = epochPeriodMs;
  }

  /** The event number of the generator's `numEvents`-th event (0-based). */
  nextEventNumber(numEvents: number): number {
    return this.firstEventNumber + numEvents;
  }

  /** The event number adjusted for out-of-order groups (its timestamp and id come from it). */
  nextAdjustedEventNumber(numEvents: number): number {
    const n = this.config.outOfOrderGroupSize;
    const eventNumber = this.nextEventNumber(numEvents);
    const base = div(eventNumber, n) * n;
    // (eventNumber * 953) % n, exact beyond 2^53 / 953 too
    const offset = n === 1 ? 0 : Number((BigInt(eventNumber) * 953n) % BigInt(n));
    return base + offset;
  }

  /** The event number whose timestamp is a watermark for the events from numEvents on. */
  nextEventNumberForWatermark(numEvents: number): number {
    const n = this.config.outOfOrderGroupSize;
    return div(this.nextEventNumber(numEvents), n) * n;
  }

  /** Event time of `eventNumber` (ms since the epoch). */
  timestampForEvent(eventNumber: number): number {
    const delays = this.delaysUs;
    if (delays.length === 1) return this.baseTime + div(eventNumber * delays[0]!, 1000);
    const epoch = div(eventNumber, this.eventsPerEpoch);
    let n = eventNumber % this.eventsPerEpoch;
    let offsetInEpochMs = 0;
    for (const d of delays) {
      const numEventsForThisCycle = div(this.stepLengthSec * 1_000_000, d);
      if (n < numEventsForThisCycle) {
        const offsetInCycleUs = n * d;
        return this.baseTime + epoch * this.epochPeriodMs + offsetInEpochMs + div(offsetInCycleUs, 1000);
      }
      n -= numEventsForThisCycle;
      offsetInEpochMs += div(numEventsForThisCycle * d, 1000);
    }
    throw new ConfigError('nexmark: internal eventsPerEpoch incorrect');
  }
}

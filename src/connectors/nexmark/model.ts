/**
 * The Nexmark data model: people register, open auctions and bid. Field names follow
 * Beam's model classes (and Flink Nexmark's table columns); times are ms since the epoch.
 */

/** A new person registers (may then sell and bid). */
export interface Person {
  /** Person id (from FIRST_PERSON_ID = 1000 on). */
  readonly id: number;
  /** First and last name. */
  readonly name: string;
  /** Email address. */
  readonly emailAddress: string;
  /** Credit card number, four groups of four digits. */
  readonly creditCard: string;
  /** City. */
  readonly city: string;
  /** US state code, e.g. "OR". */
  readonly state: string;
  /** Event time: when the person registered, ms since the epoch. */
  readonly dateTime: number;
  /** Padding up to the configured average person size. */
  readonly extra: string;
}

/** A person opens an auction. */
export interface Auction {
  /** Auction id (from FIRST_AUCTION_ID = 1000 on). */
  readonly id: number;
  /** Name of the item on sale. */
  readonly itemName: string;
  /** Description of the item. */
  readonly description: string;
  /** Starting price, in cents. */
  readonly initialBid: number;
  /** Reserve price, in cents. */
  readonly reserve: number;
  /** Event time: when the auction opened, ms since the epoch. */
  readonly dateTime: number;
  /** When the auction closes, ms since the epoch. */
  readonly expires: number;
  /** Person id of the seller. */
  readonly seller: number;
  /** Category id (from FIRST_CATEGORY_ID = 10 on). */
  readonly category: number;
  /** Padding up to the configured average auction size. */
  readonly extra: string;
}

/** A person bids on an auction. */
export interface Bid {
  /** Auction id. */
  readonly auction: number;
  /** Person id of the bidder. */
  readonly bidder: number;
  /** Bid, in cents. */
  readonly price: number;
  /**
   * Where the bid came from and its URL: columns of Flink Nexmark's bid table (q14-q20
   * use them), not of Beam's model. They are drawn from their own random stream seeded
   * by the event id, so every field Beam has stays bit-for-bit Beam's.
   */
  readonly channel: string;
  /** URL of the bid (Flink Nexmark's `url` column; see `channel`). */
  readonly url: string;
  /** Event time: when the bid was placed, ms since the epoch. */
  readonly dateTime: number;
  /** Padding up to the configured average bid size. */
  readonly extra: string;
}

/** One event of the Nexmark stream: a person, an auction or a bid, tagged by `type`. */
export type NexmarkEvent =
  | {
      /** A person registered. */
      readonly type: 'person';
      /** The person. */
      readonly person: Person;
    }
  | {
      /** An auction opened. */
      readonly type: 'auction';
      /** The auction. */
      readonly auction: Auction;
    }
  | {
      /** A bid was placed. */
      readonly type: 'bid';
      /** The bid. */
      readonly bid: Bid;
    };

/** An event's event time (its dateTime). */
export function eventTimestamp(e: NexmarkEvent): number {
  switch (e.type) {
    case 'person':
      return e.person.dateTime;
    case 'auction':
      return e.auction.dateTime;
    case 'bid':
      return e.bid.dateTime;
  }
}

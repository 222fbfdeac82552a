/**
 * The Nexmark data model: people register, open auctions and bid. Field names follow
 * Beam's model classes (and Flink Nexmark's table columns); times are ms since the epoch.
 */

export interface Person {
  readonly id: number;
  readonly name: string;
  readonly emailAddress: string;
  readonly creditCard: string;
  readonly city: string;
  readonly state: string;
  readonly dateTime: number;
  readonly extra: string;
}

export interface Auction {
  readonly id: number;
  readonly itemName: string;
  readonly description: string;
  readonly initialBid: number;
  readonly reserve: number;
  readonly dateTime: number;
  readonly expires: number;
  readonly seller: number;
  readonly category: number;
  readonly extra: string;
}

export interface Bid {
  readonly auction: number;
  readonly bidder: number;
  readonly price: number;
  /**
   * Where the bid came from and its URL: columns of Flink Nexmark's bid table (q14-q20
   * use them), not of Beam's model. They are drawn from their own random stream seeded
   * by the event id, so every field Beam has stays bit-for-bit Beam's.
   */
  readonly channel: string;
  readonly url: string;
  readonly dateTime: number;
  readonly extra: string;
}

export type NexmarkEvent =
  | { readonly type: 'person'; readonly person: Person }
  | { readonly type: 'auction'; readonly auction: Auction }
  | { readonly type: 'bid'; readonly bid: Bid };

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

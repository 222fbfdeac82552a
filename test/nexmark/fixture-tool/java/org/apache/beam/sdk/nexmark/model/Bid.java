package org.apache.beam.sdk.nexmark.model;

import org.joda.time.Instant;

/** weir's stand-in for Beam's Bid: the same constructor and fields, without coders and schemas. */
public class Bid {
  public final long auction;
  public final long bidder;
  public final long price;
  public final Instant dateTime;
  public final String extra;

  public Bid(long auction, long bidder, long price, Instant dateTime, String extra) {
    this.auction = auction;
    this.bidder = bidder;
    this.price = price;
    this.dateTime = dateTime;
    this.extra = extra;
  }

  public Bid withAnnotation(String annotation) {
    return new Bid(auction, bidder, price, dateTime, annotation + ": " + extra);
  }
}

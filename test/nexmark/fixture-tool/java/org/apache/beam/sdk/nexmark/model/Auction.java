package org.apache.beam.sdk.nexmark.model;

import org.joda.time.Instant;

/** weir's stand-in for Beam's Auction: the same constructor and fields, without coders and schemas. */
public class Auction {
  public final long id;
  public final String itemName;
  public final String description;
  public final long initialBid;
  public final long reserve;
  public final Instant dateTime;
  public final Instant expires;
  public final long seller;
  public final long category;
  public final String extra;

  public Auction(long id, String itemName, String description, long initialBid, long reserve, Instant dateTime, Instant expires, long seller, long category, String extra) {
    this.id = id;
    this.itemName = itemName;
    this.description = description;
    this.initialBid = initialBid;
    this.reserve = reserve;
    this.dateTime = dateTime;
    this.expires = expires;
    this.seller = seller;
    this.category = category;
    this.extra = extra;
  }

  public Auction withAnnotation(String annotation) {
    return new Auction(id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, annotation + ": " + extra);
  }
}

package org.apache.beam.sdk.nexmark.model;

/** weir's stand-in for Beam's Event: one of a new person, a new auction or a bid. */
public class Event {
  public final Person newPerson;
  public final Auction newAuction;
  public final Bid bid;

  public Event(Person newPerson) {
    this.newPerson = newPerson;
    this.newAuction = null;
    this.bid = null;
  }

  public Event(Auction newAuction) {
    this.newPerson = null;
    this.newAuction = newAuction;
    this.bid = null;
  }

  public Event(Bid bid) {
    this.newPerson = null;
    this.newAuction = null;
    this.bid = bid;
  }

  public Event withAnnotation(String annotation) {
    if (newPerson != null) return new Event(newPerson.withAnnotation(annotation));
    if (newAuction != null) return new Event(newAuction.withAnnotation(annotation));
    return new Event(bid.withAnnotation(annotation));
  }
}

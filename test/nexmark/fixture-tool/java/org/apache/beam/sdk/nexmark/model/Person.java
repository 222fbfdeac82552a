package org.apache.beam.sdk.nexmark.model;

import org.joda.time.Instant;

/** weir's stand-in for Beam's Person: the same constructor and fields, without coders and schemas. */
public class Person {
  public final long id;
  public final String name;
  public final String emailAddress;
  public final String creditCard;
  public final String city;
  public final String state;
  public final Instant dateTime;
  public final String extra;

  public Person(long id, String name, String emailAddress, String creditCard, String city, String state, Instant dateTime, String extra) {
    this.id = id;
    this.name = name;
    this.emailAddress = emailAddress;
    this.creditCard = creditCard;
    this.city = city;
    this.state = state;
    this.dateTime = dateTime;
    this.extra = extra;
  }

  public Person withAnnotation(String annotation) {
    return new Person(id, name, emailAddress, creditCard, city, state, dateTime, annotation + ": " + extra);
  }
}

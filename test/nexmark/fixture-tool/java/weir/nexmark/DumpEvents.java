package weir.nexmark;

import java.io.BufferedWriter;
import java.io.FileOutputStream;
import java.io.OutputStreamWriter;
import java.nio.charset.StandardCharsets;
import java.util.zip.GZIPOutputStream;
import org.apache.beam.sdk.nexmark.NexmarkConfiguration;
import org.apache.beam.sdk.nexmark.NexmarkUtils;
import org.apache.beam.sdk.nexmark.model.Auction;
import org.apache.beam.sdk.nexmark.model.Bid;
import org.apache.beam.sdk.nexmark.model.Event;
import org.apache.beam.sdk.nexmark.model.Person;
import org.apache.beam.sdk.nexmark.sources.generator.Generator;
import org.apache.beam.sdk.nexmark.sources.generator.GeneratorConfig;

/**
 * Writes the events of Beam's Nexmark Generator as gzipped JSON lines, one per event:
 * the configuration on the first line, then {"n", "id"-less event fields, "ts", "eventTs", "wm"}.
 * Usage: DumpEvents PRESET OUT.jsonl.gz (presets: default, variant, bigids).
 */
public final class DumpEvents {
  /** NexmarkUtils.BASE_TIME: 2015-07-15T00:00:00Z. */
  private static final long BASE_TIME = 1436918400000L;

  public static void main(String[] args) throws Exception {
    String preset = args[0];
    NexmarkConfiguration c = new NexmarkConfiguration();
    long firstEventId = 0;
    long firstEventNumber = 0;
    long maxEvents;
    switch (preset) {
      case "default":
        maxEvents = 10_000;
        break;
      case "variant":
        c.rateShape = NexmarkUtils.RateShape.SINE;
        c.firstEventRate = 10_000;
        c.nextEventRate = 2_000;
        c.ratePeriodSec = 10;
        c.numEventGenerators = 3;
        c.outOfOrderGroupSize = 13;
        c.hotAuctionRatio = 3;
        c.hotSellersRatio = 5;
        c.hotBiddersRatio = 7;
        c.numInFlightAuctions = 50;
        c.numActivePeople = 200;
        c.avgBidByteSize = 150;
        c.avgPersonByteSize = 40;
        firstEventId = 7;
        firstEventNumber = 1000;
        maxEvents = 1_000;
        break;
      case "square":
        c.rateShape = NexmarkUtils.RateShape.SQUARE;
        c.firstEventRate = 5_000;
        c.nextEventRate = 20_000;
        c.ratePeriodSec = 3;
        c.numEventGenerators = 1;
        c.rateUnit = NexmarkUtils.RateUnit.PER_MINUTE;
        maxEvents = 1_000;
        break;
      case "bigids":
        c.numActivePeople = Integer.MAX_VALUE;
        c.numInFlightAuctions = Integer.MAX_VALUE;
        firstEventId = 200_000_000_000L;
        maxEvents = 1_000;
        break;
      default:
        throw new IllegalArgumentException("unknown preset " + preset);
    }
    GeneratorConfig config = new GeneratorConfig(c, BASE_TIME, firstEventId, maxEvents, firstEventNumber);
    Generator g = new Generator(config);
    try (BufferedWriter w = new BufferedWriter(new OutputStreamWriter(new GZIPOutputStream(new FileOutputStream(args[1])), StandardCharsets.UTF_8))) {
      w.write("{\"preset\":" + str(preset) + ",\"baseTime\":" + BASE_TIME + ",\"firstEventId\":" + firstEventId + ",\"firstEventNumber\":" + firstEventNumber + ",\"maxEvents\":" + maxEvents
          + ",\"numEventGenerators\":" + c.numEventGenerators + ",\"rateShape\":" + str(c.rateShape.name()) + ",\"firstEventRate\":" + c.firstEventRate + ",\"nextEventRate\":" + c.nextEventRate
          + ",\"rateUnit\":" + str(c.rateUnit.name()) + ",\"ratePeriodSec\":" + c.ratePeriodSec + ",\"avgPersonByteSize\":" + c.avgPersonByteSize + ",\"avgAuctionByteSize\":" + c.avgAuctionByteSize
          + ",\"avgBidByteSize\":" + c.avgBidByteSize + ",\"hotAuctionRatio\":" + c.hotAuctionRatio + ",\"hotSellersRatio\":" + c.hotSellersRatio + ",\"hotBiddersRatio\":" + c.hotBiddersRatio
          + ",\"numInFlightAuctions\":" + c.numInFlightAuctions + ",\"numActivePeople\":" + c.numActivePeople + ",\"outOfOrderGroupSize\":" + c.outOfOrderGroupSize + "}\n");
      for (long n = 0; g.hasNext(); n++) {
        Generator.NextEvent e = g.nextEvent();
        StringBuilder sb = new StringBuilder();
        sb.append("{\"n\":").append(n).append(",\"ts\":").append(e.eventTimestamp).append(",\"wm\":").append(e.watermark).append(',');
        Event ev = e.event;
        if (ev.newPerson != null) {
          Person p = ev.newPerson;
          sb.append("\"type\":\"person\",\"id\":").append(p.id).append(",\"name\":").append(str(p.name)).append(",\"emailAddress\":").append(str(p.emailAddress))
              .append(",\"creditCard\":").append(str(p.creditCard)).append(",\"city\":").append(str(p.city)).append(",\"state\":").append(str(p.state))
              .append(",\"dateTime\":").append(p.dateTime.getMillis()).append(",\"extra\":").append(str(p.extra));
        } else if (ev.newAuction != null) {
          Auction a = ev.newAuction;
          sb.append("\"type\":\"auction\",\"id\":").append(a.id).append(",\"itemName\":").append(str(a.itemName)).append(",\"description\":").append(str(a.description))
              .append(",\"initialBid\":").append(a.initialBid).append(",\"reserve\":").append(a.reserve).append(",\"dateTime\":").append(a.dateTime.getMillis())
              .append(",\"expires\":").append(a.expires.getMillis()).append(",\"seller\":").append(a.seller).append(",\"category\":").append(a.category)
              .append(",\"extra\":").append(str(a.extra));
        } else {
          Bid b = ev.bid;
          sb.append("\"type\":\"bid\",\"auction\":").append(b.auction).append(",\"bidder\":").append(b.bidder).append(",\"price\":").append(b.price)
              .append(",\"dateTime\":").append(b.dateTime.getMillis()).append(",\"extra\":").append(str(b.extra));
        }
        sb.append("}\n");
        w.write(sb.toString());
      }
    }
  }

  /** A JSON string literal (escapes quote, backslash and control characters). */
  private static String str(String s) {
    StringBuilder sb = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char ch = s.charAt(i);
      if (ch == '"' || ch == '\\') sb.append('\\').append(ch);
      else if (ch < 0x20) sb.append(String.format("\\u%04x", (int) ch));
      else sb.append(ch);
    }
    return sb.append('"').toString();
  }
}

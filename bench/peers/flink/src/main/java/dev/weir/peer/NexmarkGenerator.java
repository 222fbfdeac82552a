package dev.weir.peer;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * weir's Nexmark generator (src/connectors/nexmark/generator.ts and config.ts) in Java, so
 * that Flink processes exactly the events weir does: Apache Beam's reference generator
 * (default configuration: constant rate, out-of-order group size 1) plus weir's
 * deterministic channel/url. Event n is a function of n alone. bench/peers/run.ts checks
 * the first events of this class against weir's generator before it times anything.
 */
final class NexmarkGenerator {
    static final long BASE_TIME = 1436918400000L; // Date.UTC(2015, 6, 15)
    static final int PERSON_PROPORTION = 1, AUCTION_PROPORTION = 3, PROPORTION_DENOMINATOR = 50;
    static final long FIRST_PERSON_ID = 1000, FIRST_AUCTION_ID = 1000, FIRST_CATEGORY_ID = 10;
    static final int NUM_EVENT_GENERATORS = 100, EVENT_RATE = 10000;
    static final int AVG_PERSON = 200, AVG_AUCTION = 500, AVG_BID = 100;
    static final int HOT_AUCTION_RATIO = 2, HOT_SELLERS_RATIO = 4, HOT_BIDDERS_RATIO = 4;
    static final int NUM_IN_FLIGHT_AUCTIONS = 100, NUM_ACTIVE_PEOPLE = 1000;
    static final int PERSON_ID_LEAD = 10, AUCTION_ID_LEAD = 10, NUM_CATEGORIES = 5, HOT_RATIO = 100;

    private static final String[] US_STATES = "AZ,CA,ID,OR,WA,WY".split(",");
    private static final String[] US_CITIES = "Phoenix,Los Angeles,San Francisco,Boise,Portland,Bend,Redmond,Seattle,Kent,Cheyenne".split(",");
    private static final String[] FIRST_NAMES = "Peter,Paul,Luke,John,Saul,Vicky,Kate,Julie,Sarah,Deiter,Walter".split(",");
    private static final String[] LAST_NAMES = "Shultz,Abrams,Spencer,White,Bartels,Walton,Smith,Jones,Noris".split(",");
    private static final String[] HOT_CHANNELS = {"Google", "Facebook", "Baidu", "Apple"};
    private static final int CHANNELS_NUMBER = 10_000;

    /** Inter-event delay in µs for the whole generator (Beam's GeneratorConfig, constant rate). */
    private static final long DELAY_US = ((1_000_000L + EVENT_RATE / 2) / EVENT_RATE) * NUM_EVENT_GENERATORS;

    private final Random random = new Random();
    private final Random channelRandom = new Random();
    private final Map<Integer, String> channelUrls = new HashMap<>();
    private final String[] hotUrls = new String[HOT_CHANNELS.length];

    NexmarkGenerator() {
        for (int i = 0; i < hotUrls.length; i++) hotUrls[i] = baseUrl(new Random(-1 - i));
    }

    static long timestampForEvent(long eventNumber) {
        return BASE_TIME + eventNumber * DELAY_US / 1000;
    }

    /** Event number n: 0 person, 1 auction, 2 bid in {@code kind}, fields in the other members. */
    static final class Event {
        int kind;
        long timestamp;
        // person
        long personId; String name, emailAddress, creditCard, city, state;
        // auction
        long auctionId; String itemName, description; long initialBid, reserve, expires, seller, category;
        // bid
        long auction, bidder, price; String channel, url;
        String extra;
    }

    Event eventAt(long n, Event e) {
        long timestamp = timestampForEvent(n);
        long eventId = n;
        random.setSeed(eventId);
        long rem = eventId % PROPORTION_DENOMINATOR;
        e.timestamp = timestamp;
        if (rem < PERSON_PROPORTION) person(eventId, timestamp, e);
        else if (rem < PERSON_PROPORTION + AUCTION_PROPORTION) auction(n, eventId, timestamp, e);
        else bid(eventId, e);
        return e;
    }

    private void person(long eventId, long timestamp, Event e) {
        e.kind = 0;
        e.personId = lastBase0PersonId(eventId) + FIRST_PERSON_ID;
        e.name = FIRST_NAMES[random.nextInt(FIRST_NAMES.length)] + " " + LAST_NAMES[random.nextInt(LAST_NAMES.length)];
        e.emailAddress = nextString(random, 7, ' ') + "@" + nextString(random, 5, ' ') + ".com";
        StringBuilder cc = new StringBuilder();
        for (int i = 0; i < 4; i++) {
            if (i > 0) cc.append(' ');
            cc.append(String.format("%04d", random.nextInt(10000)));
        }
        e.creditCard = cc.toString();
        e.city = US_CITIES[random.nextInt(US_CITIES.length)];
        e.state = US_STATES[random.nextInt(US_STATES.length)];
        int size = 8 + e.name.length() + e.emailAddress.length() + e.creditCard.length() + e.city.length() + e.state.length();
        e.extra = nextExtra(random, size, AVG_PERSON);
    }

    private long nextBase0PersonId(long eventId) {
        long numPeople = lastBase0PersonId(eventId) + 1;
        long activePeople = Math.min(numPeople, NUM_ACTIVE_PEOPLE);
        long n = nextLong(random, activePeople + PERSON_ID_LEAD);
        return numPeople - activePeople + n;
    }

    private void auction(long eventsCountSoFar, long eventId, long timestamp, Event e) {
        e.kind = 1;
        e.auctionId = lastBase0AuctionId(eventId) + FIRST_AUCTION_ID;
        long seller;
        if (random.nextInt(HOT_SELLERS_RATIO) > 0) seller = Math.floorDiv(lastBase0PersonId(eventId), HOT_RATIO) * HOT_RATIO;
        else seller = nextBase0PersonId(eventId);
        e.seller = seller + FIRST_PERSON_ID;
        e.category = FIRST_CATEGORY_ID + random.nextInt(NUM_CATEGORIES);
        e.initialBid = nextPrice(random);
        long numEventsForAuctions = (long) NUM_IN_FLIGHT_AUCTIONS * PROPORTION_DENOMINATOR / AUCTION_PROPORTION;
        long horizonMs = timestampForEvent(eventsCountSoFar + numEventsForAuctions) - timestamp;
        e.expires = timestamp + 1 + nextLong(random, Math.max(horizonMs * 2, 1));
        e.itemName = nextString(random, 20, ' ');
        e.description = nextString(random, 100, ' ');
        e.reserve = e.initialBid + nextPrice(random);
        int size = 8 + e.itemName.length() + e.description.length() + 8 + 8 + 8 + 8 + 8;
        e.extra = nextExtra(random, size, AVG_AUCTION);
    }

    private long nextBase0AuctionId(long eventId) {
        long maxAuction = lastBase0AuctionId(eventId);
        long minAuction = Math.max(maxAuction - NUM_IN_FLIGHT_AUCTIONS, 0);
        return minAuction + nextLong(random, maxAuction - minAuction + 1 + AUCTION_ID_LEAD);
    }

    private void bid(long eventId, Event e) {
        e.kind = 2;
        long auction;
        if (random.nextInt(HOT_AUCTION_RATIO) > 0) auction = Math.floorDiv(lastBase0AuctionId(eventId), HOT_RATIO) * HOT_RATIO;
        else auction = nextBase0AuctionId(eventId);
        e.auction = auction + FIRST_AUCTION_ID;
        long bidder;
        if (random.nextInt(HOT_BIDDERS_RATIO) > 0) bidder = Math.floorDiv(lastBase0PersonId(eventId), HOT_RATIO) * HOT_RATIO + 1;
        else bidder = nextBase0PersonId(eventId);
        e.bidder = bidder + FIRST_PERSON_ID;
        e.price = nextPrice(random);
        e.extra = nextExtra(random, 8 + 8 + 8 + 8, AVG_BID);
        channelRandom.setSeed(-1 - eventId);
        if (channelRandom.nextInt(2) > 0) {
            int i = channelRandom.nextInt(HOT_CHANNELS.length);
            e.channel = HOT_CHANNELS[i];
            e.url = hotUrls[i];
        } else {
            int c = channelRandom.nextInt(CHANNELS_NUMBER);
            e.channel = "channel-" + c;
            e.url = channelUrls.computeIfAbsent(c, k -> {
                Random ur = new Random(-1_000_000L - k);
                String u = baseUrl(ur);
                if (ur.nextInt(10) > 0) u += "&channel_id=" + Math.abs(Integer.reverse(k));
                return u;
            });
        }
    }

    static long lastBase0PersonId(long eventId) {
        long epoch = eventId / PROPORTION_DENOMINATOR;
        long offset = eventId % PROPORTION_DENOMINATOR;
        if (offset >= PERSON_PROPORTION) offset = PERSON_PROPORTION - 1;
        return epoch * PERSON_PROPORTION + offset;
    }

    static long lastBase0AuctionId(long eventId) {
        long epoch = eventId / PROPORTION_DENOMINATOR;
        long offset = eventId % PROPORTION_DENOMINATOR;
        if (offset < PERSON_PROPORTION) {
            epoch--;
            offset = AUCTION_PROPORTION - 1;
        } else if (offset >= PERSON_PROPORTION + AUCTION_PROPORTION) {
            offset = AUCTION_PROPORTION - 1;
        } else {
            offset -= PERSON_PROPORTION;
        }
        return epoch * AUCTION_PROPORTION + offset;
    }

    private static String baseUrl(Random r) {
        return "https://www.nexmark.com/" + nextString(r, 5, '_') + "/" + nextString(r, 5, '_') + "/" + nextString(r, 5, '_') + "/item.htm?query=1";
    }

    private static long nextLong(Random r, long n) {
        if (n < Integer.MAX_VALUE) return r.nextInt((int) n);
        return Math.abs(r.nextLong() % n);
    }

    private static long nextPrice(Random r) {
        return Math.round(Math.pow(10.0, r.nextDouble() * 6.0) * 100.0);
    }

    private static String nextString(Random r, int maxLength, char special) {
        int len = 3 + r.nextInt(maxLength - 3);
        StringBuilder sb = new StringBuilder(len);
        while (len-- > 0) {
            if (r.nextInt(13) == 0) sb.append(special);
            else sb.append((char) ('a' + r.nextInt(26)));
        }
        return special == ' ' ? sb.toString().trim() : sb.toString();
    }

    private static String nextExactString(Random r, int length) {
        StringBuilder sb = new StringBuilder(length);
        int rnd = 0, n = 0;
        for (int i = 0; i < length; i++) {
            if (n == 0) { rnd = r.nextInt(); n = 6; }
            sb.append((char) ('a' + rnd % 26));
            rnd /= 26;
            n--;
        }
        return sb.toString();
    }

    private static String nextExtra(Random r, int currentSize, int desiredAverageSize) {
        if (currentSize > desiredAverageSize) return "";
        int avg = desiredAverageSize - currentSize;
        int delta = (int) Math.round(avg * 0.2);
        int minSize = avg - delta;
        int desiredSize = minSize + (delta == 0 ? 0 : r.nextInt(2 * delta));
        return nextExactString(r, desiredSize);
    }
}

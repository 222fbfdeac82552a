package dev.weir.peer;

import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.Map;

import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.table.api.DataTypes;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import org.apache.flink.table.functions.ScalarFunction;
import org.apache.flink.types.Row;

/**
 * The Nexmark queries on Flink SQL, as the Nexmark benchmark runs them on Flink: one table
 * of events (event_type 0 person, 1 auction, 2 bid; nested rows; event time `dateTime`
 * with a 4 s bounded-out-of-orderness watermark), views `person`, `auction`, `bid`, and
 * each query inserting into a blackhole sink. The events come from {@link NexmarkGenerator}
 * (weir's generator in Java, so both systems process the same events). The SQL below is
 * written for this runner from the queries' published definitions (Beam's Nexmark and
 * the Flink Nexmark suite's SQL semantics).
 */
final class NexmarkQueries {
    private NexmarkQueries() {}

    static final Map<String, String> SQL = Map.ofEntries(
        Map.entry("q0", "SELECT auction, bidder, price, dateTime, extra FROM bid"),
        Map.entry("q1", "SELECT auction, bidder, 0.908 * price AS price, dateTime, extra FROM bid"),
        Map.entry("q2", "SELECT auction, price FROM bid WHERE MOD(auction, 123) = 0"),
        Map.entry("q3", "SELECT P.name, P.city, P.state, A.id FROM auction AS A JOIN person AS P ON A.seller = P.id "
            + "WHERE A.category = 10 AND P.state IN ('OR', 'ID', 'CA')"),
        Map.entry("q4", "SELECT Q.category, AVG(Q.final) FROM ("
            + " SELECT MAX(B.price) AS final, A.category FROM auction A, bid B"
            + " WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires"
            + " GROUP BY A.id, A.category) Q GROUP BY Q.category"),
        Map.entry("q5", "SELECT AB.auction, AB.num FROM ("
            + " SELECT auction, COUNT(*) AS num, window_start AS starttime, window_end AS endtime"
            + " FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))"
            + " GROUP BY auction, window_start, window_end) AS AB"
            + " JOIN (SELECT MAX(CB.num) AS maxn, CB.starttime, CB.endtime FROM ("
            + "   SELECT COUNT(*) AS num, window_start AS starttime, window_end AS endtime"
            + "   FROM TABLE(HOP(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '2' SECOND, INTERVAL '10' SECOND))"
            + "   GROUP BY auction, window_start, window_end) AS CB GROUP BY CB.starttime, CB.endtime) AS MB"
            + " ON AB.starttime = MB.starttime AND AB.endtime = MB.endtime AND AB.num >= MB.maxn"),
        Map.entry("q7", "SELECT B.auction, B.price, B.bidder, B.dateTime, B.extra FROM bid B"
            + " JOIN (SELECT MAX(price) AS maxprice, window_end AS dateTime"
            + "   FROM TABLE(TUMBLE(TABLE bid, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))"
            + "   GROUP BY window_start, window_end) B1 ON B.price = B1.maxprice"
            + " WHERE B.dateTime BETWEEN B1.dateTime - INTERVAL '10' SECOND AND B1.dateTime"),
        Map.entry("q8", "SELECT P.id, P.name, P.starttime FROM ("
            + " SELECT id, name, window_start AS starttime, window_end AS endtime"
            + " FROM TABLE(TUMBLE(TABLE person, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))"
            + " GROUP BY id, name, window_start, window_end) P"
            + " JOIN (SELECT seller, window_start AS starttime, window_end AS endtime"
            + " FROM TABLE(TUMBLE(TABLE auction, DESCRIPTOR(dateTime), INTERVAL '10' SECOND))"
            + " GROUP BY seller, window_start, window_end) A"
            + " ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime"),
        Map.entry("q9", "SELECT id, itemName, description, initialBid, reserve, dateTime, expires, seller, category, extra,"
            + " auction, bidder, price, bid_dateTime, bid_extra FROM ("
            + " SELECT A.*, B.auction, B.bidder, B.price, B.dateTime AS bid_dateTime, B.extra AS bid_extra,"
            + "   ROW_NUMBER() OVER (PARTITION BY A.id ORDER BY B.price DESC, B.dateTime ASC) AS rownum"
            + " FROM auction A, bid B WHERE A.id = B.auction AND B.dateTime BETWEEN A.dateTime AND A.expires)"
            + " WHERE rownum <= 1"),
        Map.entry("q11", "SELECT B.bidder, COUNT(*) AS bid_count, SESSION_START(B.dateTime, INTERVAL '10' SECOND) AS starttime,"
            + " SESSION_END(B.dateTime, INTERVAL '10' SECOND) AS endtime FROM bid B"
            + " GROUP BY B.bidder, SESSION(B.dateTime, INTERVAL '10' SECOND)"),
        Map.entry("q12", "SELECT bidder, COUNT(*) AS bid_count, window_start, window_end"
            + " FROM TABLE(TUMBLE(TABLE bid_proctime, DESCRIPTOR(p_time), INTERVAL '10' SECOND))"
            + " GROUP BY bidder, window_start, window_end"),
        Map.entry("q14", "SELECT auction, bidder, 0.908 * price AS price,"
            + " CASE WHEN HOUR(dateTime) >= 8 AND HOUR(dateTime) <= 18 THEN 'dayTime'"
            + "      WHEN HOUR(dateTime) <= 6 OR HOUR(dateTime) >= 20 THEN 'nightTime' ELSE 'otherTime' END AS bidTimeType,"
            + " dateTime, extra, count_char(extra, 'c') AS c_counts FROM bid"
            + " WHERE 0.908 * price > 1000000 AND 0.908 * price < 50000000"),
        Map.entry("q15", "SELECT DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS `day`, COUNT(*) AS total_bids,"
            + rankCounts("*", "bids") + ", COUNT(DISTINCT bidder) AS total_bidders," + rankCounts("DISTINCT bidder", "bidders")
            + ", COUNT(DISTINCT auction) AS total_auctions," + rankCounts("DISTINCT auction", "auctions")
            + " FROM bid GROUP BY DATE_FORMAT(dateTime, 'yyyy-MM-dd')"),
        Map.entry("q16", "SELECT channel, DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS `day`, MAX(DATE_FORMAT(dateTime, 'HH:mm')) AS `minute`,"
            + " COUNT(*) AS total_bids," + rankCounts("*", "bids") + ", COUNT(DISTINCT bidder) AS total_bidders,"
            + rankCounts("DISTINCT bidder", "bidders") + ", COUNT(DISTINCT auction) AS total_auctions,"
            + rankCounts("DISTINCT auction", "auctions") + " FROM bid GROUP BY channel, DATE_FORMAT(dateTime, 'yyyy-MM-dd')"),
        Map.entry("q17", "SELECT auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd') AS `day`, COUNT(*) AS total_bids,"
            + rankCounts("*", "bids") + ", MIN(price) AS min_price, MAX(price) AS max_price, AVG(price) AS avg_price,"
            + " SUM(price) AS sum_price FROM bid GROUP BY auction, DATE_FORMAT(dateTime, 'yyyy-MM-dd')"),
        Map.entry("q18", "SELECT auction, bidder, price, channel, url, dateTime, extra FROM ("
            + " SELECT *, ROW_NUMBER() OVER (PARTITION BY bidder, auction ORDER BY dateTime DESC) AS rank_number FROM bid)"
            + " WHERE rank_number <= 1"),
        Map.entry("q19", "SELECT auction, bidder, price, channel, url, dateTime, extra FROM ("
            + " SELECT *, ROW_NUMBER() OVER (PARTITION BY auction ORDER BY price DESC) AS rank_number FROM bid)"
            + " WHERE rank_number <= 10"),
        Map.entry("q20", "SELECT auction, bidder, price, channel, url, B.dateTime, B.extra, itemName, description,"
            + " initialBid, reserve, A.dateTime AS auction_dateTime, expires, seller, category, A.extra AS auction_extra"
            + " FROM bid AS B JOIN auction AS A ON B.auction = A.id WHERE A.category = 10"));

    /** The query's SQL with `dateTime` quoted (DATETIME is a keyword of Flink's SQL parser). */
    static String sql(String query) {
        String q = SQL.get(query);
        return q == null ? null : quoteDateTime(q);
    }

    static String quoteDateTime(String sql) {
        return sql.replaceAll("\\bdateTime\\b", "`dateTime`");
    }

    /** `COUNT(x) FILTER (…) AS rankN_name` for the three price ranks of q15–q17. */
    private static String rankCounts(String x, String name) {
        return " COUNT(" + x + ") FILTER (WHERE price < 10000) AS rank1_" + name
            + ", COUNT(" + x + ") FILTER (WHERE price >= 10000 AND price < 1000000) AS rank2_" + name
            + ", COUNT(" + x + ") FILTER (WHERE price >= 1000000) AS rank3_" + name;
    }

    /** q14's user-defined function: occurrences of a character in a string. */
    public static final class CountChar extends ScalarFunction {
        public long eval(String s, String c) {
            if (s == null || c == null || c.isEmpty()) return 0;
            char ch = c.charAt(0);
            long n = 0;
            for (int i = 0; i < s.length(); i++) if (s.charAt(i) == ch) n++;
            return n;
        }
    }

    static final TypeInformation<Row> PERSON = Types.ROW_NAMED(
        new String[] {"id", "name", "emailAddress", "creditCard", "city", "state", "dateTime", "extra"},
        Types.LONG, Types.STRING, Types.STRING, Types.STRING, Types.STRING, Types.STRING, Types.LOCAL_DATE_TIME, Types.STRING);
    static final TypeInformation<Row> AUCTION = Types.ROW_NAMED(
        new String[] {"id", "itemName", "description", "initialBid", "reserve", "dateTime", "expires", "seller", "category", "extra"},
        Types.LONG, Types.STRING, Types.STRING, Types.LONG, Types.LONG, Types.LOCAL_DATE_TIME, Types.LOCAL_DATE_TIME, Types.LONG, Types.LONG, Types.STRING);
    static final TypeInformation<Row> BID = Types.ROW_NAMED(
        new String[] {"auction", "bidder", "price", "channel", "url", "dateTime", "extra"},
        Types.LONG, Types.LONG, Types.LONG, Types.STRING, Types.STRING, Types.LOCAL_DATE_TIME, Types.STRING);
    static final TypeInformation<Row> EVENT = Types.ROW_NAMED(
        new String[] {"event_type", "person", "auction", "bid", "event_time"}, Types.INT, PERSON, AUCTION, BID, Types.LOCAL_DATE_TIME);

    static LocalDateTime time(long ms) {
        return LocalDateTime.ofInstant(Instant.ofEpochMilli(ms), ZoneOffset.UTC);
    }

    /**
     * The row of sequence number n. DataGeneratorSource cuts [0, events) into one contiguous
     * range per subtask; read as event numbers, subtask 1 would start at event events/2 and
     * run half the stream ahead of subtask 0 in event time. Sequence n is mapped to event
     * number (n mod share) * parallelism + n / share (share = events / parallelism), so the
     * range of subtask k holds events k, k + p, k + 2p, … in order: every subtask's event
     * time rises from the first event and the subtasks advance through event time together,
     * as in weir's NexmarkSource (interleaved splits) and in the Nexmark repository's Flink
     * source (GeneratorConfig.split: parallel timelines from the same first event number).
     * The mapping is a bijection on [0, events), so the events are the same whatever the
     * splits; ORDER_VIOLATIONS counts a subtask's event numbers going backwards (0 when the
     * ranges are the equal contiguous shares assumed here).
     */
    static final class EventRows implements GeneratorFunction<Long, Row> {
        static final java.util.concurrent.atomic.AtomicLong CPU_AT_FIRST_EVENT = new java.util.concurrent.atomic.AtomicLong();
        static final java.util.concurrent.atomic.AtomicLong NANOS_AT_FIRST_EVENT = new java.util.concurrent.atomic.AtomicLong();
        static final java.util.concurrent.atomic.AtomicLong ORDER_VIOLATIONS = new java.util.concurrent.atomic.AtomicLong();
        private final long share;
        private final int parallelism;
        private transient NexmarkGenerator generator;
        private transient NexmarkGenerator.Event e;
        private transient long last;

        EventRows(long events, int parallelism) {
            this.share = events / parallelism;
            this.parallelism = parallelism;
        }

        @Override
        public Row map(Long sequence) {
            if (generator == null) {
                generator = new NexmarkGenerator();
                e = new NexmarkGenerator.Event();
                last = -1;
                if (CPU_AT_FIRST_EVENT.compareAndSet(0, Main.processCpuNanos())) NANOS_AT_FIRST_EVENT.set(System.nanoTime());
            }
            long n = (sequence % share) * parallelism + sequence / share;
            if (n < last) ORDER_VIOLATIONS.incrementAndGet();
            last = n;
            generator.eventAt(n, e);
            LocalDateTime t = time(e.timestamp);
            switch (e.kind) {
                case 0:
                    return Row.of(0, Row.of(e.personId, e.name, e.emailAddress, e.creditCard, e.city, e.state, t, e.extra), null, null, t);
                case 1:
                    return Row.of(1, null, Row.of(e.auctionId, e.itemName, e.description, e.initialBid, e.reserve, t, time(e.expires), e.seller, e.category, e.extra), null, t);
                default:
                    return Row.of(2, null, null, Row.of(e.auction, e.bidder, e.price, e.channel, e.url, t, e.extra), t);
            }
        }
    }

    /** Registers the events table and the person/auction/bid views (and q12's processing-time view). */
    static StreamTableEnvironment tables(StreamExecutionEnvironment env, long events, int parallelism) {
        StreamTableEnvironment t = StreamTableEnvironment.create(env);
        DataStream<Row> rows = env.fromSource(new DataGeneratorSource<>(new EventRows(events, parallelism), events, RateLimiterStrategy.noOp(), EVENT),
            WatermarkStrategy.noWatermarks(), "nexmark");
        t.createTemporaryView("events", t.fromDataStream(rows, Schema.newBuilder()
            .columnByExpression("rowtime", "CAST(event_time AS TIMESTAMP(3))")
            .watermark("rowtime", "rowtime - INTERVAL '4' SECOND")
            .build()));
        t.executeSql(quoteDateTime("CREATE TEMPORARY VIEW person AS SELECT person.id, person.name, person.emailAddress, person.creditCard,"
            + " person.city, person.state, rowtime AS dateTime, person.extra FROM events WHERE event_type = 0"));
        t.executeSql(quoteDateTime("CREATE TEMPORARY VIEW auction AS SELECT auction.id, auction.itemName, auction.description, auction.initialBid,"
            + " auction.reserve, rowtime AS dateTime, auction.expires, auction.seller, auction.category, auction.extra"
            + " FROM events WHERE event_type = 1"));
        t.executeSql(quoteDateTime("CREATE TEMPORARY VIEW bid AS SELECT bid.auction, bid.bidder, bid.price, bid.channel, bid.url,"
            + " rowtime AS dateTime, bid.extra FROM events WHERE event_type = 2"));
        t.executeSql(quoteDateTime("CREATE TEMPORARY VIEW bid_proctime AS SELECT *, PROCTIME() AS p_time FROM bid"));
        t.createTemporarySystemFunction("count_char", CountChar.class);
        return t;
    }
}

package dev.weir.peer;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.util.Collector;

/**
 * Apache Flink 2.3.0 running weir's benchmark workloads in a local MiniCluster.
 *
 * <pre>
 *   count  --keys K --records R --backend rocksdb|hashmap --parallelism P --interval-ms I --dir D
 *          the keyed count of bench:throughput: key i = (i * 0x9e3779b1 mod 2^32) mod K,
 *          ValueState&lt;Long&gt; count per key, discarding sink.
 *   rounds --keys N --rounds R --update-fraction F --backend rocksdb|hashmap --incremental true|false --dir D
 *          the large-state rounds of bench:checkpoint: load N keys with 100-byte values,
 *          checkpoint, then R rounds of "update F*N random keys, checkpoint" (a rate limiter
 *          releases each round when the previous checkpoint completed); then a second job
 *          restores the last checkpoint and reports the restore time.
 * </pre>
 *
 * Prints one JSON object on stdout. Times exclude the JVM's and the MiniCluster's start,
 * which are reported apart (startup_ms). Checkpoint figures come from Flink's own
 * checkpoint statistics (the REST API of the MiniCluster).
 */
public final class Main {
    private Main() {}

    public static void main(String[] argv) throws Exception {
        long jvmStartNanos = System.nanoTime();
        Map<String, String> a = parse(argv);
        String cmd = argv.length > 0 ? argv[0] : "";
        String json;
        switch (cmd) {
            case "count": json = count(a); break;
            case "rounds": json = rounds(a); break;
            case "nexmark": json = nexmark(a); break;
            case "nexmark-plan": planNexmark(a); System.exit(0); return;
            case "nexmark-dump": dumpNexmark(a); System.exit(0); return;
            default:
                System.err.println("usage: count|rounds --option value ...");
                System.exit(2);
                return;
        }
        System.out.println(json.substring(0, json.length() - 1) + ",\"peak_rss_bytes\":" + peakRss()
                + ",\"main_ms\":" + (System.nanoTime() - jvmStartNanos) / 1_000_000 + "}");
        System.exit(0);
    }

    // ---- the keyed count --------------------------------------------------------------

    static long keyOf(long i, long keys) {
        // Math.imul(i, 0x9e3779b1) >>> 0 in JavaScript: the low 32 bits, unsigned.
        long h = Integer.toUnsignedLong((int) i * 0x9e3779b1);
        return h % keys;
    }

    /** Keyed count; emits the new count like weir's bench job. */
    public static final class Counter extends KeyedProcessFunction<Long, Long, Long> {
        private transient ValueState<Long> count;

        @Override
        public void open(org.apache.flink.api.common.functions.OpenContext ctx) {
            count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
        }

        @Override
        public void processElement(Long key, Context ctx, Collector<Long> out) throws Exception {
            Long c = count.value();
            long n = c == null ? 1 : c + 1;
            count.update(n);
            out.collect(n);
        }
    }

    static String count(Map<String, String> a) throws Exception {
        long keys = Long.parseLong(a.getOrDefault("keys", "1000000"));
        long records = Long.parseLong(a.getOrDefault("records", "2000000"));
        int parallelism = Integer.parseInt(a.getOrDefault("parallelism", "1"));
        Path dir = Path.of(a.getOrDefault("dir", "/tmp/weir-flink-peer"));
        int restPort = freePort();
        Configuration conf = baseConf(a, dir, restPort);
        long t0 = System.nanoTime();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        final long k = keys;
        DataGeneratorSource<Long> source = new DataGeneratorSource<>(i -> keyOf(i, k), records, RateLimiterStrategy.noOp(), Types.LONG);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "generator")
                .keyBy(x -> x, Types.LONG)
                .process(new Counter()).uid("count")
                .sinkTo(new DiscardingSink<>());
        JobClient client = env.executeAsync("keyed-count");
        CheckpointPoller poller = new CheckpointPoller(restPort, client.getJobID().toString());
        poller.start();
        JobExecutionResult result = client.getJobExecutionResult().get();
        long wallMs = (System.nanoTime() - t0) / 1_000_000;
        poller.stopPolling();
        long net = result.getNetRuntime();
        return "{\"workload\":\"count\",\"backend\":\"" + backendLabel(a) + "\",\"parallelism\":" + parallelism
                + ",\"keys\":" + keys + ",\"records\":" + records
                + ",\"run_ms\":" + net + ",\"records_per_second\":" + (records * 1000.0 / net)
                + ",\"startup_ms\":" + (wallMs - net)
                + ",\"checkpoints\":" + poller.lastJson() + "}";
    }

    // ---- the large-state rounds ---------------------------------------------------------

    /** Value of record i: 100 bytes derived from i (incompressible enough, deterministic). */
    static byte[] valueOf(long i) {
        byte[] v = new byte[100];
        long x = i * 0x9E3779B97F4A7C15L + 1;
        for (int j = 0; j < v.length; j += 8) {
            x ^= x << 13; x ^= x >>> 7; x ^= x << 17;
            for (int b = 0; b < 8 && j + b < v.length; b++) v[j + b] = (byte) (x >>> (8 * b));
        }
        return v;
    }

    /** Key of record i: the first n records load every key once, later ones pick a key at random. */
    static long roundsKeyOf(long i, long n) {
        if (i < n) return i;
        long x = i * 0xBF58476D1CE4E5B9L;
        x ^= x >>> 31;
        return Long.remainderUnsigned(x, n);
    }

    public static final class Put extends KeyedProcessFunction<Long, Long, Long> {
        private transient ValueState<byte[]> value;

        @Override
        public void open(org.apache.flink.api.common.functions.OpenContext ctx) {
            value = getRuntimeContext().getState(new ValueStateDescriptor<>("v", org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
        }

        @Override
        public void processElement(Long i, Context ctx, Collector<Long> out) throws Exception {
            value.update(valueOf(i));
        }
    }

    /** Restores the state and reports when the operator is open (restore done) and how many keys it saw. */
    public static final class Probe extends KeyedProcessFunction<Long, Long, Long> {
        static volatile long openedNanos;
        static volatile boolean requireState;
        private transient ValueState<byte[]> value;

        @Override
        public void open(org.apache.flink.api.common.functions.OpenContext ctx) {
            value = getRuntimeContext().getState(new ValueStateDescriptor<>("v", org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo.BYTE_PRIMITIVE_ARRAY_TYPE_INFO));
            openedNanos = System.nanoTime();
        }

        @Override
        public void processElement(Long i, Context ctx, Collector<Long> out) throws Exception {
            byte[] v = value.value();
            if (requireState && v == null) throw new IllegalStateException("key " + ctx.getCurrentKey() + " missing after restore");
            out.collect(i);
        }
    }

    /** Runs the probe job (restored from {@code from}, or without state) and returns ms from submission to its operator's open(). */
    static long probeJob(Map<String, String> a, Path dir, Path from, long keys) throws Exception {
        Configuration rc = baseConf(a, dir, freePort());
        if (from != null) rc.setString("execution.state-recovery.path", from.toUri().toString());
        Probe.requireState = from != null;
        StreamExecutionEnvironment renv = StreamExecutionEnvironment.getExecutionEnvironment(rc);
        renv.setParallelism(1);
        DataGeneratorSource<Long> probeSource = new DataGeneratorSource<>(i -> i, 1000, RateLimiterStrategy.noOp(), Types.LONG);
        renv.fromSource(probeSource, WatermarkStrategy.noWatermarks(), "rounds")
                .keyBy(i -> roundsKeyOf(i, keys), Types.LONG)
                .process(new Probe()).uid("state")
                .sinkTo(new DiscardingSink<>());
        long r0 = System.nanoTime();
        renv.execute(from != null ? "restore" : "probe");
        return (Probe.openedNanos - r0) / 1_000_000;
    }

    static String rounds(Map<String, String> a) throws Exception {
        long n = Long.parseLong(a.getOrDefault("keys", "1000000"));
        int rounds = Integer.parseInt(a.getOrDefault("rounds", "5"));
        double fraction = Double.parseDouble(a.getOrDefault("update-fraction", "0.01"));
        long perRound = Math.max(1, Math.round(n * fraction));
        long total = n + rounds * perRound + 1; // never reached: the job is cancelled after the last round's checkpoint
        Path dir = Path.of(a.getOrDefault("dir", "/tmp/weir-flink-peer"));
        int restPort = freePort();
        Configuration conf = baseConf(a, dir, restPort);
        conf.setString("execution.checkpointing.interval", a.getOrDefault("interval-ms", "500") + " ms");
        conf.setString("execution.checkpointing.externalized-checkpoint-retention", "RETAIN_ON_CANCELLATION");
        long t0 = System.nanoTime();
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(1);
        final long keys = n;
        DataGeneratorSource<Long> source = new DataGeneratorSource<>(i -> i, total, new RoundsRateLimiterStrategy(n, perRound, rounds), Types.LONG);
        env.fromSource(source, WatermarkStrategy.noWatermarks(), "rounds")
                .keyBy(i -> roundsKeyOf(i, keys), Types.LONG)
                .process(new Put()).uid("state")
                .sinkTo(new DiscardingSink<>());
        JobClient client = env.executeAsync("rounds");
        CheckpointPoller poller = new CheckpointPoller(restPort, client.getJobID().toString());
        poller.start();
        long deadline = System.nanoTime() + Long.parseLong(a.getOrDefault("max-seconds", "1800")) * 1_000_000_000L;
        while (!RoundsRateLimiterStrategy.DONE.get()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("rounds did not finish in time");
            if (client.getJobStatus().get().isGloballyTerminalState()) throw new IllegalStateException("job ended early: " + client.getJobStatus().get());
            Thread.sleep(50);
        }
        long runMs = (System.nanoTime() - t0) / 1_000_000;
        // Wait (bounded) until the statistics the poller keeps include the last round's checkpoint.
        var ids = RoundsRateLimiterStrategy.ROUND_CHECKPOINTS;
        long lastId = ids.get(ids.size() - 1);
        long statsDeadline = System.nanoTime() + 60_000_000_000L;
        while (!poller.hasDetails(lastId) && System.nanoTime() < statsDeadline) Thread.sleep(50);
        poller.stopPolling();
        client.cancel().get();
        long wallMs = (System.nanoTime() - t0) / 1_000_000;

        // Restore: a job from the newest retained checkpoint; its time until the stateful
        // operator is open (state downloaded and opened) minus the same for an identical job
        // without state, run right after it in this warm JVM (so the MiniCluster's start and
        // the deployment are not counted), is the restore time. A first stateless run warms up.
        Path latest = newestCheckpoint(dir.resolve("checkpoints"));
        if (latest == null) throw new IllegalStateException("no retained checkpoint to restore under " + dir);
        probeJob(a, dir.resolve("warmup"), null, keys);
        long restoredMs = probeJob(a, dir.resolve("restore"), latest, keys);
        long freshMs = probeJob(a, dir.resolve("fresh"), null, keys);
        String restore = String.valueOf(Math.max(0, restoredMs - freshMs));
        return "{\"workload\":\"rounds\",\"backend\":\"" + backendLabel(a) + "\",\"keys\":" + n + ",\"rounds\":" + rounds
                + ",\"updates_per_round\":" + perRound + ",\"run_ms\":" + runMs
                + ",\"load_ms\":" + (RoundsRateLimiterStrategy.loadEndNanos - RoundsRateLimiterStrategy.loadStartNanos) / 1_000_000
                + ",\"round_checkpoints\":" + RoundsRateLimiterStrategy.ROUND_CHECKPOINTS
                + ",\"wall_ms\":" + wallMs + ",\"restore_ms\":" + restore
                + ",\"checkpoint_dir_bytes\":" + dirSize(dir.resolve("checkpoints"))
                + ",\"checkpoints\":" + poller.lastJson() + "}";
    }

    // ---- Nexmark ---------------------------------------------------------------------------

    /** Plans every query (parse, validate, optimize) in one JVM without running it: a quick check of the SQL. */
    static void planNexmark(Map<String, String> a) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(baseConf(a, Path.of(a.getOrDefault("dir", "/tmp/weir-flink-plan")), freePort()));
        var tables = NexmarkQueries.tables(env, 1000, 1);
        int failed = 0;
        for (String q : new java.util.TreeSet<>(NexmarkQueries.SQL.keySet())) {
            try {
                tables.sqlQuery(NexmarkQueries.sql(q)).explain();
                System.out.println(q + ": planned");
            } catch (Exception e) {
                failed++;
                System.out.println(q + ": " + e.getMessage().lines().findFirst().orElse(""));
            }
        }
        if (failed > 0) System.exit(1);
    }

    /** Runs one Nexmark query on --events events into a blackhole sink. */
    static String nexmark(Map<String, String> a) throws Exception {
        String query = a.getOrDefault("query", "q5");
        String sql = NexmarkQueries.sql(query);
        if (sql == null) throw new IllegalArgumentException("unknown query " + query + "; known: " + new java.util.TreeSet<>(NexmarkQueries.SQL.keySet()));
        long events = Long.parseLong(a.getOrDefault("events", "10000000"));
        int parallelism = Integer.parseInt(a.getOrDefault("parallelism", "1"));
        if (events % parallelism != 0) throw new IllegalArgumentException("--events must be a multiple of --parallelism (each subtask reads an equal, interleaved share)");
        long maxSeconds = Long.parseLong(a.getOrDefault("max-seconds", "600"));
        Path dir = Path.of(a.getOrDefault("dir", "/tmp/weir-flink-peer"));
        int restPort = freePort();
        Configuration conf = baseConf(a, dir, restPort);
        long t0 = System.nanoTime();
        if (Boolean.parseBoolean(a.getOrDefault("tuned", "false"))) {
            // The Nexmark repository's published Flink configuration (sql-client-defaults / flink-conf):
            // mini-batch (2 s, 5,000 rows) and split distinct aggregation.
            conf.setString("table.exec.mini-batch.enabled", "true");
            conf.setString("table.exec.mini-batch.allow-latency", "2 s");
            conf.setString("table.exec.mini-batch.size", "5000");
            conf.setString("table.optimizer.distinct-agg.split.enabled", "true");
        }
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(conf);
        env.setParallelism(parallelism);
        var tables = NexmarkQueries.tables(env, events, parallelism);
        var result = tables.sqlQuery(sql).executeInsert(org.apache.flink.table.api.TableDescriptor.forConnector("blackhole").build());
        JobClient client = result.getJobClient().orElseThrow();
        CheckpointPoller poller = new CheckpointPoller(restPort, client.getJobID().toString());
        poller.start();
        JobExecutionResult r;
        try {
            r = client.getJobExecutionResult().get(maxSeconds, java.util.concurrent.TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            client.cancel().get(30, java.util.concurrent.TimeUnit.SECONDS);
            throw new IllegalStateException(query + " did not finish within --max-seconds " + maxSeconds);
        }
        long cpuEnd = processCpuNanos();
        long endNanos = System.nanoTime();
        long wallMs = (endNanos - t0) / 1_000_000;
        poller.stopPolling();
        long net = r.getNetRuntime();
        long cpuNanos = cpuEnd - NexmarkQueries.EventRows.CPU_AT_FIRST_EVENT.get();
        double fromFirstEventSec = (endNanos - NexmarkQueries.EventRows.NANOS_AT_FIRST_EVENT.get()) / 1e9;
        return "{\"workload\":\"nexmark\",\"query\":\"" + query + "\",\"backend\":\"" + backendLabel(a) + "\",\"parallelism\":" + parallelism
                + ",\"events\":" + events + ",\"run_ms\":" + net + ",\"events_per_second\":" + (events * 1000.0 / net)
                + ",\"seconds_from_first_event\":" + fromFirstEventSec
                + ",\"cpu_seconds\":" + cpuNanos / 1e9 + ",\"events_per_cpu_second\":" + (events / (cpuNanos / 1e9))
                + ",\"order_violations\":" + NexmarkQueries.EventRows.ORDER_VIOLATIONS.get()
                + ",\"startup_ms\":" + (wallMs - net) + ",\"checkpoints\":" + poller.lastJson() + "}";
    }

    /** Prints events [0, --events) as JSON lines shaped like weir's NexmarkEvent, for the cross-check. */
    static void dumpNexmark(Map<String, String> a) {
        long count = Long.parseLong(a.getOrDefault("events", "10000"));
        NexmarkGenerator g = new NexmarkGenerator();
        NexmarkGenerator.Event e = new NexmarkGenerator.Event();
        StringBuilder out = new StringBuilder();
        for (long n = 0; n < count; n++) {
            g.eventAt(n, e);
            switch (e.kind) {
                case 0 -> out.append("{\"type\":\"person\",\"person\":{\"id\":").append(e.personId)
                        .append(",\"name\":").append(q(e.name)).append(",\"emailAddress\":").append(q(e.emailAddress))
                        .append(",\"creditCard\":").append(q(e.creditCard)).append(",\"city\":").append(q(e.city))
                        .append(",\"state\":").append(q(e.state)).append(",\"dateTime\":").append(e.timestamp)
                        .append(",\"extra\":").append(q(e.extra)).append("}}");
                case 1 -> out.append("{\"type\":\"auction\",\"auction\":{\"id\":").append(e.auctionId)
                        .append(",\"itemName\":").append(q(e.itemName)).append(",\"description\":").append(q(e.description))
                        .append(",\"initialBid\":").append(e.initialBid).append(",\"reserve\":").append(e.reserve)
                        .append(",\"dateTime\":").append(e.timestamp).append(",\"expires\":").append(e.expires)
                        .append(",\"seller\":").append(e.seller).append(",\"category\":").append(e.category)
                        .append(",\"extra\":").append(q(e.extra)).append("}}");
                default -> out.append("{\"type\":\"bid\",\"bid\":{\"auction\":").append(e.auction)
                        .append(",\"bidder\":").append(e.bidder).append(",\"price\":").append(e.price)
                        .append(",\"channel\":").append(q(e.channel)).append(",\"url\":").append(q(e.url))
                        .append(",\"dateTime\":").append(e.timestamp).append(",\"extra\":").append(q(e.extra)).append("}}");
            }
            out.append('\n');
            if (out.length() > 1 << 20) { System.out.print(out); out.setLength(0); }
        }
        System.out.print(out);
        System.out.flush();
    }

    /** A JSON string literal (the generator's strings are ASCII; chars below 'a' from nextExactString included). */
    static String q(String s) {
        StringBuilder b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }

    // ---- configuration and helpers ----------------------------------------------------

    static String backendLabel(Map<String, String> a) {
        String b = a.getOrDefault("backend", "rocksdb");
        if (!b.equals("rocksdb")) return b;
        return Boolean.parseBoolean(a.getOrDefault("incremental", "true")) ? "rocksdb-incremental" : "rocksdb-full";
    }

    static Configuration baseConf(Map<String, String> a, Path dir, int restPort) throws IOException {
        Files.createDirectories(dir);
        Configuration conf = new Configuration();
        conf.setString("rest.address", "127.0.0.1");
        conf.setString("rest.bind-address", "127.0.0.1");
        conf.setString("rest.port", String.valueOf(restPort));
        conf.setString("jobmanager.bind-host", "127.0.0.1");
        conf.setString("taskmanager.bind-host", "127.0.0.1");
        conf.setString("taskmanager.host", "127.0.0.1");
        conf.setString("web.checkpoints.history", "1000");
        conf.setString("state.backend.type", a.getOrDefault("backend", "rocksdb"));
        conf.setString("execution.checkpointing.incremental", a.getOrDefault("incremental", "true"));
        conf.setString("execution.checkpointing.storage", "filesystem");
        conf.setString("execution.checkpointing.dir", dir.resolve("checkpoints").toUri().toString());
        conf.setString("execution.checkpointing.interval", a.getOrDefault("interval-ms", "10000") + " ms");
        conf.setString("execution.checkpointing.num-retained", a.getOrDefault("retained", "2"));
        conf.setString("state.backend.rocksdb.localdir", dir.resolve("rocksdb").toString());
        conf.setString("io.tmp.dirs", dir.resolve("tmp").toString());
        return conf;
    }

    static Path newestCheckpoint(Path root) throws IOException {
        if (!Files.isDirectory(root)) return null;
        Path best = null;
        long bestId = -1;
        try (var jobs = Files.list(root)) {
            for (Path job : (Iterable<Path>) jobs::iterator) {
                if (!Files.isDirectory(job)) continue;
                try (var chks = Files.list(job)) {
                    for (Path c : (Iterable<Path>) chks::iterator) {
                        String name = c.getFileName().toString();
                        if (!name.startsWith("chk-") || !Files.exists(c.resolve("_metadata"))) continue;
                        long id = Long.parseLong(name.substring(4));
                        if (id > bestId) { bestId = id; best = c; }
                    }
                }
            }
        }
        return best;
    }

    static long dirSize(Path root) throws IOException {
        if (!Files.exists(root)) return 0;
        try (var s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    /** CPU time of this JVM (all threads), ns. */
    static long processCpuNanos() {
        var os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof com.sun.management.OperatingSystemMXBean sun) return sun.getProcessCpuTime();
        throw new IllegalStateException("this JVM does not report its process CPU time");
    }

    static long peakRss() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        } catch (IOException e) { /* not Linux */ }
        return -1;
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    static Map<String, String> parse(String[] argv) {
        Map<String, String> m = new HashMap<>();
        for (int i = 1; i + 1 < argv.length; i += 2) {
            if (!argv[i].startsWith("--")) throw new IllegalArgumentException("expected --option, got " + argv[i]);
            m.put(argv[i].substring(2), argv[i + 1]);
        }
        return m;
    }

    /**
     * Polls the MiniCluster's checkpoint statistics while the job runs and keeps the last
     * answer (the history with sizes, durations and per-checkpoint sync/async parts is
     * gone once the job's MiniCluster shuts down).
     */
    static final class CheckpointPoller extends Thread {
        private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
        private final String base;
        private volatile boolean running = true;
        private volatile String last = "null";

        CheckpointPoller(int port, String jobId) {
            super("checkpoint-poller");
            setDaemon(true);
            base = "http://127.0.0.1:" + port + "/jobs/" + jobId + "/checkpoints";
        }

        @Override
        public void run() {
            while (running) {
                poll();
                try { Thread.sleep(200); } catch (InterruptedException e) { return; }
            }
        }

        void poll() {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(base)).timeout(Duration.ofSeconds(2)).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() != 200 || !r.body().startsWith("{")) return;
                last = r.body();
                // Per-checkpoint sync/async parts live in the subtask details of each vertex.
                var m = COMPLETED_ID.matcher(r.body());
                while (m.find()) {
                    String id = m.group(1);
                    if (details.containsKey(id)) continue;
                    String d = get(base + "/details/" + id);
                    if (d == null) continue;
                    StringBuilder perVertex = new StringBuilder("{");
                    var vm = VERTEX_ID.matcher(d.substring(Math.max(0, d.indexOf("\"tasks\""))));
                    while (vm.find()) {
                        String sub = get(base + "/details/" + id + "/subtasks/" + vm.group(1));
                        if (sub == null) continue;
                        if (perVertex.length() > 1) perVertex.append(',');
                        perVertex.append('"').append(vm.group(1)).append("\":").append(sub);
                    }
                    details.put(id, perVertex.append('}').toString());
                }
            } catch (Exception e) {
                // the cluster may not be up yet or already down
            }
        }

        private static final java.util.regex.Pattern COMPLETED_ID = java.util.regex.Pattern.compile("\"id\":(\\d+),\"status\":\"COMPLETED\"");
        private static final java.util.regex.Pattern VERTEX_ID = java.util.regex.Pattern.compile("\"([0-9a-f]{32})\":\\{");
        private final java.util.Map<String, String> details = new java.util.concurrent.ConcurrentHashMap<>();

        private String get(String url) throws Exception {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.ofString());
            return r.statusCode() == 200 && r.body().startsWith("{") ? r.body() : null;
        }

        void stopPolling() throws InterruptedException {
            running = false;
            join(2000);
        }

        /** The last statistics answer plus {"details": {checkpoint id: {vertex id: subtask details}}}. */
        boolean hasDetails(long id) { return details.containsKey(String.valueOf(id)) && last.contains("\"id\":" + id + ","); }

        String lastJson() {
            if (last.equals("null")) return last;
            StringBuilder b = new StringBuilder(last.substring(0, last.length() - 1)).append(",\"details\":{");
            boolean first = true;
            for (var e : details.entrySet()) {
                if (!first) b.append(',');
                first = false;
                b.append('"').append(e.getKey()).append("\":").append(e.getValue());
            }
            return b.append("}}").toString();
        }
    }
}

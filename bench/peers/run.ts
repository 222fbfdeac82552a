/**
 * weir and Apache Flink 2.3.0 side by side, alternating, same parameters, one table.
 *
 *   npm run bench:flink                                  # human table
 *   npm run bench:flink -- --json                        # one JSON object on stdout
 *   npm run bench:flink -- --workloads count --keys 1000000 --records 4000000 --repeat 3
 *   npm run bench:flink -- --workloads rounds --state-keys 2000000 --rounds 5
 *
 * Workloads
 * - count: the keyed count of bench:throughput (same key sequence, ValueState count per
 *   key, checkpoints every 10 s): weir lsm vs Flink RocksDB (incremental), weir heap vs
 *   Flink HashMap. Throughput excludes the JVM's and the MiniCluster's start (Flink's
 *   net job runtime; the start is reported apart); weir's figure is its job time.
 * - rounds: the large-state rounds of bench:checkpoint (load N keys with 100-byte values,
 *   checkpoint, then R rounds of "update 1% of the keys, checkpoint"), incremental and
 *   full: checkpointed size, duration, sync and async parts (Flink's own checkpoint
 *   statistics), restore time, load rate. weir's side is bench/checkpoint/run.ts.
 *
 * - nexmark: the Nexmark queries (`--queries q0,q5,…`, `--events N`): weir's bench:nexmark
 *   against Flink SQL on the same events (bench/peers/flink's NexmarkGenerator is weir's
 *   generator in Java; the first 10,000 events of both are compared before anything is
 *   timed), RocksDB incremental vs weir lsm, at each `--nexmark-parallelism` (default 1,2:
 *   weir on the main thread / `--workers 2`, Flink parallelism 1 / 2). Same settings on
 *   both sides: event time with a 4 s bounded-out-of-orderness watermark (Flink Nexmark's
 *   DDL), each subtask reading an interleaved share of the event numbers in order (so the
 *   subtasks advance through event time together, like the Nexmark repository's parallel
 *   source timelines), checkpoints every `--interval-ms`. Figures: events/s (Flink's net
 *   job time, its start reported apart), events per CPU-second of the process from the
 *   first event (per core), peak RSS, checkpoints (count, median duration and size).
 *   Every run is bounded by --events and --max-seconds (a run over it is killed and shown
 *   as failed with the reason).
 *
 *   npm run bench:flink -- --workloads nexmark --events 400000 --json-out nexmark.json
 *   npx tsx bench/charts/render.ts nexmark.json …    # the SVG charts of docs/benchmarks.md
 *
 * Each run is its own process (wrapped in /usr/bin/time for the peak RSS of both), the
 * order alternates between repetitions, and the table shows medians and weir/Flink ratios.
 * Flink's side is the Maven project in bench/peers/flink, built on first use (Maven
 * Central); a missing `java`/`mvn` fails with the reason.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    /** Also write the JSON report (with every run's figures, for bench/charts/render.ts) to this file. */
    'json-out': { type: 'string' },
    workloads: { type: 'string', default: 'count,rounds' },
    keys: { type: 'string', default: '1000000' },
    records: { type: 'string', default: '4000000' },
    parallelism: { type: 'string', default: '1' },
    'state-keys': { type: 'string', default: '2000000' },
    rounds: { type: 'string', default: '5' },
    repeat: { type: 'string', default: '3' },
    queries: { type: 'string', default: 'q0,q1,q2,q3,q4,q5,q7,q8,q9,q11,q12,q14,q15,q16,q17,q18,q19,q20' },
    events: { type: 'string', default: '1000000' },
    /** Parallelism of the Nexmark runs: weir --workers N (N > 1: subtasks on N worker threads), Flink parallelism N. */
    'nexmark-parallelism': { type: 'string', default: '1,2' },
    /** Checkpoint interval of the Nexmark runs, both systems. */
    'interval-ms': { type: 'string', default: '5000' },
    /** Flink SQL with the Nexmark repository's published options (mini-batch 2 s / 5,000 rows, split distinct aggregation). */
    'flink-tuned': { type: 'boolean', default: false },
    /** Time limit of one Nexmark run; a run over it is killed and reported as such. */
    'max-seconds': { type: 'string', default: '600' },
  },
});

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const flinkDir = join(here, 'flink');
const repeat = Math.max(1, Math.min(10, Number(args.repeat)));

function need(cmd: string, why: string): void {
  const r = spawnSync(cmd, ['-version'], { stdio: 'ignore' });
  if (r.error) throw new Error(`${cmd} is not installed: ${why}`);
}

function buildFlinkPeer(): string {
  const jar = join(flinkDir, 'target', 'weir-flink-peer-1.0.jar');
  if (!existsSync(jar) || !existsSync(join(flinkDir, 'target', 'lib'))) {
    need('mvn', 'the Flink peer is a Maven project (apt-get install maven)');
    log('building the Flink peer (mvn package, dependencies from Maven Central)…');
    execFileSync('mvn', ['-q', '-B', 'package', '-DskipTests'], { cwd: flinkDir, stdio: ['ignore', 'inherit', 'inherit'] });
  }
  return `${jar}:${join(flinkDir, 'target', 'lib', '*')}`;
}

function log(s: string): void {
  if (!args.json) process.stderr.write(`${s}\n`);
}

interface Measured<T> {
  out: T;
  peakRssBytes: number;
}

/** Runs a command under /usr/bin/time, parses its last stdout line as JSON and the peak RSS. */
function measured<T>(cmd: string, argv: string[], cwd: string): Measured<T> {
  const r = spawnSync('/usr/bin/time', ['-f', 'WEIR_PEAK_RSS_KB=%M', cmd, ...argv], { cwd, encoding: 'utf8', maxBuffer: 256 << 20 });
  if (r.error) throw new Error(`cannot run ${cmd}: ${r.error.message} (is /usr/bin/time installed? apt-get install time)`);
  const rss = /WEIR_PEAK_RSS_KB=(\d+)/.exec(r.stderr);
  if (r.status !== 0 || !rss) throw new Error(`${cmd} ${argv.join(' ')} failed (exit ${r.status}):\n${r.stderr.slice(-3000)}`);
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  return { out: JSON.parse(line) as T, peakRssBytes: Number(rss[1]) * 1024 };
}

/** As measured(), but a failed or timed-out run (killed after `timeoutSeconds`) becomes its reason. */
function measuredOrError<T>(cmd: string, argv: string[], cwd: string, timeoutSeconds: number): Measured<T> | { error: string } {
  const r = spawnSync('/usr/bin/time', ['-f', 'WEIR_PEAK_RSS_KB=%M', cmd, ...argv], { cwd, encoding: 'utf8', maxBuffer: 256 << 20, timeout: timeoutSeconds * 1000, killSignal: 'SIGKILL' });
  if (r.error && (r.error as NodeJS.ErrnoException).code !== 'ETIMEDOUT') throw new Error(`cannot run ${cmd}: ${r.error.message} (is /usr/bin/time installed? apt-get install time)`);
  if (r.signal) return { error: `killed (${r.signal}) after ${timeoutSeconds} s` };
  const rss = /WEIR_PEAK_RSS_KB=(\d+)/.exec(r.stderr);
  if (r.status !== 0 || !rss) {
    const reason = r.stderr.split('\n').filter((l) => /Exception|Error|error|failed|did not finish/.test(l)).slice(0, 3).join(' | ');
    return { error: `exit ${r.status}: ${reason.slice(0, 400) || r.stderr.slice(-400)}` };
  }
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  return { out: JSON.parse(line) as T, peakRssBytes: Number(rss[1]) * 1024 };
}

/** Runs that failed or hit the time limit (the table shows – for them). */
const failures: string[] = [];

const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---- count -----------------------------------------------------------------------------

interface FlinkCount { records_per_second: number; run_ms: number; startup_ms: number; checkpoints: FlinkStats | null }
interface WeirThroughputWorkers { benchmark: 'throughput-workers'; rows: { median: number; steadyMedian?: number }[] }
interface WeirThroughput { benchmark?: 'throughput'; rows: { backend: string; recordsPerSecond: number; seconds: number; checkpoints: number }[] }

interface Row {
  workload: string;
  pair: string;
  metric: string;
  weir: number;
  flink: number;
  /** weir / flink: > 1 means weir's number is larger (better for rates, worse for times and bytes). */
  ratio: number;
  better: 'higher' | 'lower';
  weirEach: number[];
  flinkEach: number[];
}

function row(workload: string, pair: string, metric: string, better: 'higher' | 'lower', weirEach: number[], flinkEach: number[]): Row {
  const weir = median(weirEach);
  const flink = median(flinkEach);
  return { workload, pair, metric, weir, flink, ratio: weir / flink, better, weirEach, flinkEach };
}

/** The JVM's and MiniCluster's start before each Flink count job (not in its records/s). */
const flinkStartMs: number[] = [];

function runCount(cp: string, rows: Row[]): void {
  const keys = args.keys;
  const records = args.records;
  for (const parallelism of args.parallelism.split(',')) {
    for (const [weirBackend, flinkBackend, flinkIncremental] of [['lsm', 'rocksdb', 'true'], ['heap', 'hashmap', 'false']] as const) {
      const w: Measured<WeirThroughput>[] = [];
      const f: Measured<FlinkCount>[] = [];
      for (let i = 0; i < repeat; i++) {
        const runWeir = () => {
          log(`count p${parallelism}: weir ${weirBackend} (${i + 1}/${repeat})`);
          // p1: the job on the main thread; pN: parallelism N on N worker threads (bench:throughput --workers N)
          const m = parallelism === '1'
            ? measured<WeirThroughput>(process.execPath, ['--import', 'tsx', 'bench/throughput/run.ts', '--json', '--backends', weirBackend, '--keys', keys, '--records', records, '--parallelism', parallelism], root)
            : measured<WeirThroughputWorkers>(process.execPath, ['--import', 'tsx', 'bench/throughput/run.ts', '--json', '--backends', weirBackend, '--keys', keys, '--records', records, '--workers', parallelism, '--rounds', '1'], root);
          w.push('benchmark' in m.out && m.out.benchmark === 'throughput-workers'
            // the steady window (10-90 % of the records: no worker start, no drain), as Flink's rate leaves its start out
            ? { out: { rows: [{ backend: weirBackend, recordsPerSecond: m.out.rows[0]!.steadyMedian ?? m.out.rows[0]!.median, seconds: NaN, checkpoints: NaN }] }, peakRssBytes: m.peakRssBytes }
            : (m as Measured<WeirThroughput>));
        };
        const runFlink = () => {
          log(`count p${parallelism}: flink ${flinkBackend} (${i + 1}/${repeat})`);
          const dir = mkdtempSync(join(tmpdir(), 'weir-flink-'));
          try {
            f.push(measured<FlinkCount>('java', ['-cp', cp, 'dev.weir.peer.Main', 'count', '--keys', keys, '--records', records, '--backend', flinkBackend, '--incremental', flinkIncremental, '--parallelism', parallelism, '--dir', dir], root));
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        };
        if (i % 2 === 0) { runWeir(); runFlink(); } else { runFlink(); runWeir(); }
      }
      const pair = `weir ${weirBackend} vs Flink ${flinkBackend === 'rocksdb' ? 'RocksDB incremental' : 'HashMap'}, p${parallelism}`;
      rows.push(row('count', pair, 'records/s', 'higher', w.map((x) => x.out.rows[0]!.recordsPerSecond), f.map((x) => x.out.records_per_second)));
      rows.push(row('count', pair, 'records/s per core used', 'higher',
        w.map((x) => x.out.rows[0]!.recordsPerSecond / Math.min(Number(parallelism), cpus().length)), // p1: one event loop; pN: N worker threads
        f.map((x) => x.out.records_per_second / Math.min(Number(parallelism), cpus().length))));
      rows.push(row('count', pair, 'peak RSS MiB', 'lower', w.map((x) => x.peakRssBytes / 2 ** 20), f.map((x) => x.peakRssBytes / 2 ** 20)));
      flinkStartMs.push(...f.map((x) => x.out.startup_ms));
    }
  }
}

// ---- rounds ----------------------------------------------------------------------------

interface FlinkHistoryEntry { id: number; status: string; checkpointed_size: number; state_size: number; end_to_end_duration: number; trigger_timestamp?: number; latest_ack_timestamp?: number }
interface FlinkSubtaskDetails { summary?: { checkpoint_duration?: { sync?: { max: number }; async?: { max: number } } } }
interface FlinkStats { history: FlinkHistoryEntry[]; details: Record<string, Record<string, FlinkSubtaskDetails>> }
interface FlinkRounds { keys: number; run_ms: number; load_ms: number; restore_ms: number | null; round_checkpoints: number[]; checkpoints: FlinkStats | null }

interface WeirRound { uploadedBytes: number; fullSize?: number; durationMillis: number; syncMillis?: number }
interface WeirMode { mode: 'incremental' | 'full'; rounds: WeirRound[]; median: { uploadedBytes: number; durationMillis: number }; syncMillisP50: number; restoreMillis: number }
interface WeirCheckpointBench { results: { keys: number; loadKeysPerSecond: number; modes: WeirMode[] }[] }

/** The Flink figures of the round checkpoints (not the load's): sizes, durations, sync and async. */
function flinkRoundFigures(r: FlinkRounds): { bytes: number; millis: number; sync: number; async: number } {
  const stats = r.checkpoints;
  if (!stats) throw new Error('Flink reported no checkpoint statistics');
  const ids = r.round_checkpoints.slice(1);
  if (ids.length === 0) throw new Error('Flink completed no round checkpoints');
  const entries = ids.map((id) => {
    const h = stats.history.find((x) => x.id === id);
    if (!h) throw new Error(`checkpoint ${id} is not in Flink's statistics history`);
    return h;
  });
  const sub = (id: number, part: 'sync' | 'async') =>
    Math.max(...Object.values(stats.details[String(id)] ?? {}).map((v) => v.summary?.checkpoint_duration?.[part]?.max ?? NaN));
  return {
    bytes: median(entries.map((e) => e.checkpointed_size)),
    millis: median(entries.map((e) => e.end_to_end_duration)),
    sync: median(ids.map((id) => sub(id, 'sync'))),
    async: median(ids.map((id) => sub(id, 'async'))),
  };
}

/** Per-checkpoint figures of the rounds runs (the charts draw them over time). */
const roundsSeries: { system: 'weir' | 'flink'; mode: 'incremental' | 'full'; run: number; checkpoints: { bytes: number; fullBytes: number; durationMillis: number }[] }[] = [];

function runRounds(cp: string, rows: Row[]): void {
  const keys = Number(args['state-keys']);
  // weir's bench:checkpoint sizes its state in bytes: 16-byte key + 100-byte value per key.
  const sizeBytes = keys * 116;
  const w: Measured<WeirCheckpointBench>[] = [];
  const f: { mode: string; m: Measured<FlinkRounds> }[] = [];
  for (let i = 0; i < repeat; i++) {
    const runWeir = () => {
      log(`rounds: weir lsm, ${keys} keys (${i + 1}/${repeat})`);
      w.push(measured<WeirCheckpointBench>(process.execPath, ['--import', 'tsx', 'bench/checkpoint/run.ts', '--json', '--sizes', String(sizeBytes), '--rounds', args.rounds], root));
    };
    const runFlink = () => {
      for (const incremental of ['true', 'false']) {
        log(`rounds: flink rocksdb incremental=${incremental}, ${keys} keys (${i + 1}/${repeat})`);
        const dir = mkdtempSync(join(tmpdir(), 'weir-flink-'));
        try {
          f.push({ mode: incremental === 'true' ? 'incremental' : 'full', m: measured<FlinkRounds>('java', ['-cp', cp, 'dev.weir.peer.Main', 'rounds', '--keys', String(keys), '--rounds', args.rounds, '--backend', 'rocksdb', '--incremental', incremental, '--dir', dir], root) });
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      }
    };
    if (i % 2 === 0) { runWeir(); runFlink(); } else { runFlink(); runWeir(); }
  }
  for (const mode of ['incremental', 'full'] as const) {
    const pair = `weir lsm vs Flink RocksDB, ${mode}, ${keys.toLocaleString('en-US')} keys`;
    const wm = w.map((x) => x.out.results[0]!.modes.find((m) => m.mode === mode)!);
    const fm = f.filter((x) => x.mode === mode).map((x) => ({ fig: flinkRoundFigures(x.m.out), m: x.m }));
    // Every checkpoint of every run, in order (the load's first, then the rounds'), for the charts.
    for (const [i, m] of wm.entries()) {
      roundsSeries.push({ system: 'weir', mode, run: i, checkpoints: m.rounds.map((r) => ({ bytes: r.uploadedBytes, fullBytes: r.fullSize ?? NaN, durationMillis: r.durationMillis })) });
    }
    for (const [i, x] of fm.entries()) {
      const ids = new Set(x.m.out.round_checkpoints);
      const hist = (x.m.out.checkpoints?.history ?? []).filter((h) => ids.has(h.id)).sort((a, b) => a.id - b.id);
      roundsSeries.push({ system: 'flink', mode, run: i, checkpoints: hist.map((h) => ({ bytes: h.checkpointed_size, fullBytes: h.state_size, durationMillis: h.end_to_end_duration })) });
    }
    rows.push(row('rounds', pair, 'checkpointed bytes per round', 'lower', wm.map((m) => m.median.uploadedBytes), fm.map((x) => x.fig.bytes)));
    rows.push(row('rounds', pair, 'checkpoint duration ms', 'lower', wm.map((m) => m.median.durationMillis), fm.map((x) => x.fig.millis)));
    rows.push(row('rounds', pair, 'sync part ms (p50)', 'lower', wm.map((m) => m.syncMillisP50), fm.map((x) => x.fig.sync)));
    rows.push(row('rounds', pair, 'restore ms', 'lower', wm.map((m) => m.restoreMillis), fm.map((x) => x.m.out.restore_ms ?? NaN)));
  }
  const load = f.filter((x) => x.mode === 'incremental');
  rows.push(row('rounds', `weir lsm vs Flink RocksDB, ${keys.toLocaleString('en-US')} keys`, 'peak RSS MiB', 'lower', w.map((x) => x.peakRssBytes / 2 ** 20), load.map((x) => x.m.peakRssBytes / 2 ** 20)));
  rows.push(row('rounds', `weir lsm vs Flink RocksDB, ${keys.toLocaleString('en-US')} keys`, 'load keys/s', 'higher', w.map((x) => x.out.results[0]!.loadKeysPerSecond),
    // Flink's load: from its first record to the source having emitted every key once.
    load.map((x) => keys / (x.m.out.load_ms / 1000))));
}

// ---- nexmark ---------------------------------------------------------------------------

/** Fails unless Flink's Java generator yields exactly weir's first 10,000 events. */
async function checkSameEvents(cp: string): Promise<void> {
  const { NexmarkGenerator } = await import('../../src/connectors/nexmark/index.ts');
  const { isDeepStrictEqual } = await import('node:util');
  const r = spawnSync('java', ['-cp', cp, 'dev.weir.peer.Main', 'nexmark-dump', '--events', '10000'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`nexmark-dump failed: ${r.stderr.slice(-2000)}`);
  const lines = r.stdout.trim().split('\n');
  if (lines.length !== 10_000) throw new Error(`nexmark-dump printed ${lines.length} events, expected 10000`);
  const g = new NexmarkGenerator();
  for (let n = 0; n < lines.length; n++) {
    const java: unknown = JSON.parse(lines[n]!);
    const weir: unknown = JSON.parse(JSON.stringify(g.event(n)));
    if (!isDeepStrictEqual(java, weir)) throw new Error(`event ${n} differs between Flink's and weir's generator:\n${lines[n]}\n${JSON.stringify(weir)}`);
  }
  log('nexmark: Flink and weir generate the same first 10,000 events');
}

interface FlinkNexmark {
  events_per_second: number;
  seconds_from_first_event: number;
  events: number;
  events_per_cpu_second: number;
  cpu_seconds: number;
  startup_ms: number;
  order_violations: number;
  checkpoints: FlinkStats | null;
}

interface WeirNexmark {
  query: string;
  eventsPerSecond: number;
  eventsPerCpuSecond: number;
  startupSeconds: number;
  outputRecords: number;
  checkpoints: { durationMillis: number; uploadedBytes: number; fullBytes: number }[];
}

/** One run's figures, as the table and the charts (bench/charts/render.ts) read them. */
interface NexmarkRun {
  system: 'weir' | 'flink';
  query: string;
  parallelism: number;
  /** Before the first event: the JVM's and MiniCluster's start (Flink), worker threads loading the job (weir). */
  startMillis?: number;
  /** From the first event to the end of the job. */
  eventsPerSecond: number;
  eventsPerCpuSecond: number;
  peakRssMiB: number;
  checkpoints: { durationMillis: number; bytes: number; fullBytes: number }[];
  error?: string;
}

/** The completed checkpoints of a Flink run, oldest first. */
function flinkCompleted(stats: FlinkStats | null): { durationMillis: number; bytes: number; fullBytes: number }[] {
  return (stats?.history ?? [])
    .filter((h) => h.status === 'COMPLETED')
    .sort((a, b) => a.id - b.id)
    .map((h) => ({ durationMillis: h.end_to_end_duration, bytes: h.checkpointed_size, fullBytes: h.state_size }));
}

const nexmarkRuns: NexmarkRun[] = [];

async function runNexmark(cp: string, rows: Row[]): Promise<void> {
  if (!existsSync(join(root, 'bench', 'nexmark', 'run.ts'))) throw new Error('bench/nexmark/run.ts (weir\'s bench:nexmark) is missing');
  await checkSameEvents(cp);
  const parallelisms = args['nexmark-parallelism'].split(',').map(Number);
  const intervalMs = Number(args['interval-ms']);
  const maxSeconds = Number(args['max-seconds']);
  let turn = 0;
  for (const query of args.queries.split(',')) {
    for (const p of parallelisms) {
      // Flink's source gives each subtask an equal share of the events.
      const events = String(Number(args.events) - (Number(args.events) % p));
      const w: NexmarkRun[] = [];
      const f: NexmarkRun[] = [];
      for (let i = 0; i < repeat; i++) {
        const runWeir = () => {
          log(`nexmark ${query} p${p}: weir lsm, ${p === 1 ? 'main thread' : `${p} worker threads`} (${i + 1}/${repeat})`);
          const m = measuredOrError<WeirNexmark>(process.execPath, ['--import', 'tsx', 'bench/nexmark/run.ts', '--json', '--query', query, '--events', events, '--state-backend', 'lsm',
            '--workers', String(p), '--interval', `${intervalMs}ms`, '--max-seconds', String(maxSeconds)], root, maxSeconds + 60);
          const run: NexmarkRun = 'error' in m
            ? { system: 'weir', query, parallelism: p, eventsPerSecond: NaN, eventsPerCpuSecond: NaN, peakRssMiB: NaN, checkpoints: [], error: m.error }
            : {
                system: 'weir', query, parallelism: p, startMillis: m.out.startupSeconds * 1000, eventsPerSecond: m.out.eventsPerSecond, eventsPerCpuSecond: m.out.eventsPerCpuSecond, peakRssMiB: m.peakRssBytes / 2 ** 20,
                checkpoints: m.out.checkpoints.map((c) => ({ durationMillis: c.durationMillis, bytes: c.uploadedBytes, fullBytes: c.fullBytes })),
              };
          w.push(run);
        };
        const runFlink = () => {
          log(`nexmark ${query} p${p}: flink SQL, rocksdb incremental (${i + 1}/${repeat})`);
          const dir = mkdtempSync(join(tmpdir(), 'weir-flink-'));
          try {
            const m = measuredOrError<FlinkNexmark>('java', ['-cp', cp, 'dev.weir.peer.Main', 'nexmark', '--query', query, '--events', events, '--parallelism', String(p), '--backend', 'rocksdb',
              '--incremental', 'true', '--interval-ms', String(intervalMs), '--max-seconds', String(maxSeconds), '--tuned', String(args['flink-tuned']), '--dir', dir], root, maxSeconds + 120);
            let run: NexmarkRun;
            if ('error' in m) run = { system: 'flink', query, parallelism: p, eventsPerSecond: NaN, eventsPerCpuSecond: NaN, peakRssMiB: NaN, checkpoints: [], error: m.error };
            else {
              if (m.out.order_violations !== 0) throw new Error(`Flink's source read ${m.out.order_violations} events out of event-number order (split shapes changed?)`);
              run = {
                system: 'flink', query, parallelism: p, startMillis: m.out.startup_ms, eventsPerSecond: m.out.events / m.out.seconds_from_first_event, eventsPerCpuSecond: m.out.events_per_cpu_second, peakRssMiB: m.peakRssBytes / 2 ** 20,
                checkpoints: flinkCompleted(m.out.checkpoints),
              };
              flinkStartMs.push(m.out.startup_ms);
            }
            f.push(run);
          } finally {
            rmSync(dir, { recursive: true, force: true });
          }
        };
        // Alternate who goes first, across repetitions and across queries.
        if ((turn++ + i) % 2 === 0) { runWeir(); runFlink(); } else { runFlink(); runWeir(); }
      }
      nexmarkRuns.push(...w, ...f);
      const pair = `${query}: weir lsm ${p === 1 ? '(main thread)' : `--workers ${p}`} vs Flink SQL${args['flink-tuned'] ? ' (mini-batch, split distinct)' : ''} RocksDB incremental, p${p}`;
      const ok = (xs: NexmarkRun[]) => xs.filter((x) => x.error === undefined);
      const cps = (xs: NexmarkRun[], f: (c: NexmarkRun['checkpoints'][number]) => number) => ok(xs).map((x) => median(x.checkpoints.map(f)));
      rows.push(row('nexmark', pair, 'events/s', 'higher', ok(w).map((x) => x.eventsPerSecond), ok(f).map((x) => x.eventsPerSecond)));
      rows.push(row('nexmark', pair, 'events per CPU-second (per core)', 'higher', ok(w).map((x) => x.eventsPerCpuSecond), ok(f).map((x) => x.eventsPerCpuSecond)));
      rows.push(row('nexmark', pair, 'start ms (not in the rates)', 'lower', ok(w).map((x) => x.startMillis ?? NaN), ok(f).map((x) => x.startMillis ?? NaN)));
      rows.push(row('nexmark', pair, 'peak RSS MiB', 'lower', ok(w).map((x) => x.peakRssMiB), ok(f).map((x) => x.peakRssMiB)));
      rows.push(row('nexmark', pair, 'checkpoints completed', 'higher', ok(w).map((x) => x.checkpoints.length), ok(f).map((x) => x.checkpoints.length)));
      rows.push(row('nexmark', pair, 'checkpoint duration ms (median)', 'lower', cps(w, (c) => c.durationMillis), cps(f, (c) => c.durationMillis)));
      rows.push(row('nexmark', pair, 'checkpointed bytes (median)', 'lower', cps(w, (c) => c.bytes), cps(f, (c) => c.bytes)));
      for (const x of [...w, ...f]) if (x.error !== undefined) failures.push(`${x.system} ${query} p${p}: ${x.error}`);
      writeReport(rows);
    }
  }
}

// ---- main ------------------------------------------------------------------------------

need('java', 'Flink runs on the JVM (Java 17: apt-get install openjdk-17-jdk-headless)');
const cp = buildFlinkPeer();
const rows: Row[] = [];
const workloads = args.workloads.split(',');
const startedAt = new Date().toISOString();
const loadavgAtStart = loadavg();
/** The report so far; also written to --json-out (after every Nexmark query too, so a long run keeps what it measured). */
function writeReport(rows: Row[]) {
  const report = {
    benchmark: 'weir-vs-flink', flink: '2.3.0', node: process.version, cpus: cpus().length, startedAt, endedAt: new Date().toISOString(),
    loadavgAtStart, loadavgAtEnd: loadavg(), repeat, argv: process.argv.slice(2), flinkStartMsMedian: median(flinkStartMs),
    rows, nexmarkRuns, roundsSeries, failures,
  };
  if (args['json-out']) writeFileSync(args['json-out'], `${JSON.stringify(report, null, 1)}\n`);
  return report;
}
if (workloads.includes('count')) runCount(cp, rows);
if (workloads.includes('rounds')) runRounds(cp, rows);
if (workloads.includes('nexmark')) await runNexmark(cp, rows);

const report = writeReport(rows);
if (args.json) {
  process.stdout.write(`${JSON.stringify(report)}\n`);
} else {
  const fmt = (n: number) => (Number.isFinite(n) ? (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)) : '–');
  const lines = [['workload', 'pair', 'metric', 'weir', 'Flink', 'weir/Flink', 'weir ahead?'].join('\t')];
  for (const r of rows) {
    const ahead = Number.isFinite(r.ratio) ? (r.better === 'higher' ? r.ratio >= 1 : r.ratio <= 1) ? 'yes' : 'no' : '–';
    lines.push([r.workload, r.pair, r.metric, fmt(r.weir), fmt(r.flink), Number.isFinite(r.ratio) ? r.ratio.toFixed(2) : '–', ahead].join('\t'));
  }
  for (const f of failures) lines.push(`failed: ${f}`);
  process.stdout.write(`${lines.join('\n')}\nmedians of ${repeat} alternating runs; Flink's JVM + MiniCluster start (not in its rates): ${fmt(median(flinkStartMs))} ms; loadavg at start ${loadavgAtStart.map((x) => x.toFixed(1)).join(' ')}, at end ${loadavg().map((x) => x.toFixed(1)).join(' ')}\n`);
}

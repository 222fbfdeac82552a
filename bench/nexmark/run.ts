/**
 * Nexmark on weir: one query over a generated stream of Nexmark events (Beam's generator,
 * src/connectors/nexmark), checkpoints every --interval to a local directory.
 *
 *   npm run bench:nexmark -- --query q5 --events 10000000 [--workers N] [--json]
 *   npm run bench:nexmark -- --all --events 2000000          # every query, one child process each
 *
 * Reports events/s (wall clock, first event to end of the job; the job's start before its
 * first event is reported apart), events per CPU-second of the process over the same span
 * (events/s per core: the work done by one core, threads included), the
 * checkpoints taken during the run (count, duration median/max, bytes uploaded, size of
 * the last one) and the peak RSS of the process. The events are those of Beam's default
 * configuration (10 ms of event time per event, as bench/peers/flink generates them, so
 * the two run the same stream); --rate N makes event time advance at N events/s instead
 * (one generator, Beam's integer µs arithmetic: at most 1,000,000). --workers N > 1 runs
 * the job (bench/nexmark/nexmark-job.ts) with parallelism N on N worker threads.
 * The watermark is Flink Nexmark's: 4 s bounded out-of-orderness (NEXMARK_WATERMARK_DELAY_MS).
 * Every run is bounded: --events, and --max-seconds (default 600) after which the process
 * fails with the reason (a child of --all is killed at that limit).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { StreamEnvironment } from '../../src/index.ts';
import nexmarkJob, { NEXMARK_WATERMARK_DELAY_MS, type FirstEventMark } from './nexmark-job.ts';
import type { CheckpointEvent } from '../../src/checkpoint/index.ts';
import { queries } from './queries/index.ts';

const { values } = parseArgs({
  options: {
    query: { type: 'string', default: 'q5' },
    all: { type: 'boolean', default: false },
    events: { type: 'string', default: '10000000' },
    workers: { type: 'string', default: '1' },
    backend: { type: 'string', default: 'lsm' },
    /** Alias of --backend (bench/peers passes it). */
    'state-backend': { type: 'string' },
    interval: { type: 'string', default: '10s' },
    rate: { type: 'string' },
    'max-seconds': { type: 'string', default: '600' },
    json: { type: 'boolean', default: false },
  },
});

interface CheckpointRow {
  id: number;
  durationMillis: number;
  syncMaxMillis: number;
  asyncMaxMillis: number;
  uploadedBytes: number;
  fullBytes: number;
}

interface Result {
  query: string;
  events: number;
  workers: number;
  backend: string;
  /** From the job's start to its end. */
  seconds: number;
  /** From the job's start to its first event (worker threads loading the job module; reported apart). */
  startupSeconds: number;
  /** events / seconds from the first event to the end. */
  eventsPerSecond: number;
  /** CPU time of the process (all threads) from the first event to the end. */
  cpuSeconds: number;
  eventsPerCpuSecond: number;
  outputRecords: number;
  checkpoints: CheckpointRow[];
  peakRssBytes: number;
}

function fail(message: string): never {
  console.error(`bench:nexmark: ${message}`);
  process.exit(2);
}

const workers = Number(values.workers);
if (!Number.isInteger(workers) || workers < 1) fail(`--workers must be a positive integer, got ${values.workers}`);
const events = Number(values.events);
if (!Number.isSafeInteger(events) || events < 1) fail(`--events must be a positive integer, got ${values.events}`);
if (values['state-backend'] !== undefined) values.backend = values['state-backend'];
const rate = values.rate === undefined ? undefined : Number(values.rate);
if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > 1_000_000)) fail(`--rate must be an integer in [1, 1000000] (Beam's integer µs arithmetic), got ${values.rate}`);
const timelineLabel = rate === undefined ? "Beam's default (10 ms per event)" : `${rate.toLocaleString('en-US')} events/s`;
if (values.backend !== 'heap' && values.backend !== 'lsm') fail(`--backend must be heap or lsm, got ${values.backend}`);
const maxSeconds = Number(values['max-seconds']);
if (!(maxSeconds > 0)) fail(`--max-seconds must be > 0, got ${values['max-seconds']}`);
const watermarkLabel = `${NEXMARK_WATERMARK_DELAY_MS / 1000} s bounded out-of-orderness (Flink Nexmark's)`;

async function runQuery(name: string): Promise<Result> {
  const query = queries[name];
  if (!query) fail(`unknown query ${name}; queries: ${Object.keys(queries).join(' ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'weir-nexmark-'));
  try {
    const checkpoints: CheckpointRow[] = [];
    const env = new StreamEnvironment({
      parallelism: workers, stateBackend: values.backend as 'heap' | 'lsm', checkpoints: join(dir, 'cp'), stateDir: join(dir, 'state'), checkpointInterval: values.interval,
      observer: {
        checkpointEvent(e: CheckpointEvent) {
          if (e.type !== 'completed') return;
          checkpoints.push({
            id: e.info.checkpointId, durationMillis: e.info.durationMillis, syncMaxMillis: e.stats.syncMaxMillis, asyncMaxMillis: e.stats.asyncMaxMillis,
            uploadedBytes: e.info.checkpointedSize, fullBytes: e.info.fullSize,
          });
        },
      },
    });
    const mark = join(dir, 'first-event.json');
    const args = ['--query', name, '--events', String(events), '--first-event-file', mark, ...(rate === undefined ? [] : ['--rate', String(rate)])];
    env.configure({
      // --workers N > 1: the subtasks on N worker threads (parallelism N); 1: on the main thread
      ...(workers > 1 ? { workers, jobModule: { url: pathToFileURL(join(import.meta.dirname, 'nexmark-job.ts')).href, args } } : {}),
    });
    nexmarkJob(env, args);
    const t0 = performance.timeOrigin + performance.now();
    const result = await env.execute(`nexmark-${name}`);
    const t1 = performance.timeOrigin + performance.now();
    const cpu = process.cpuUsage();
    if (!existsSync(mark)) fail(`${name}: the source never marked its first event`);
    const first = JSON.parse(readFileSync(mark, 'utf8')) as FirstEventMark;
    const cpuSeconds = (cpu.user + cpu.system - first.cpuMicros) / 1e6;
    const running = (t1 - first.epochMillis) / 1000;
    return {
      query: name, events, workers, backend: values.backend, seconds: (t1 - t0) / 1000, startupSeconds: (first.epochMillis - t0) / 1000,
      eventsPerSecond: events / running, cpuSeconds, eventsPerCpuSecond: events / cpuSeconds,
      outputRecords: result.metrics.recordsOut, checkpoints, peakRssBytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each query in its own process, so peak RSS is that query's. */
function runChild(name: string): Result {
  const args = ['--import', 'tsx', new URL(import.meta.url).pathname, '--query', name, '--events', String(events), '--workers', String(workers), '--backend', values.backend, '--interval', values.interval, ...(rate === undefined ? [] : ['--rate', String(rate)]), '--json'];
  const r = spawnSync(process.execPath, [...args, '--max-seconds', String(maxSeconds)], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: (maxSeconds + 30) * 1000, killSignal: 'SIGKILL' });
  if (r.status !== 0) throw new Error(`${name} failed (exit ${r.status}${r.signal ? `, ${r.signal}: over --max-seconds ${maxSeconds}` : ''}): ${r.stderr}`);
  return JSON.parse(r.stdout) as Result;
}

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const results: Result[] = [];
if (values.all) {
  for (const name of Object.keys(queries)) {
    if (!values.json) console.error(`running ${name} …`);
    results.push(runChild(name));
  }
} else {
  const limit = setTimeout(() => fail(`${values.query} did not finish within --max-seconds ${maxSeconds} (${events} events)`), maxSeconds * 1000);
  limit.unref();
  results.push(await runQuery(values.query));
  clearTimeout(limit);
}

if (values.json) {
  console.log(JSON.stringify(values.all ? { benchmark: 'nexmark', events, workers, backend: values.backend, eventTime: timelineLabel, watermark: watermarkLabel, results } : { ...results[0], watermark: watermarkLabel }));
} else {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const mb = (b: number) => (b / 1024 / 1024).toFixed(1);
  const rows = [['query', 'events', 'seconds', 'start s', 'events/s', 'events/cpu-s', 'output', 'checkpoints', 'cp median ms', 'cp max ms', 'cp uploaded MB', 'last cp MB', 'peak RSS MB']];
  for (const r of results) {
    const d = r.checkpoints.map((c) => c.durationMillis);
    rows.push([
      r.query, fmt(r.events), r.seconds.toFixed(1), r.startupSeconds.toFixed(1), fmt(r.eventsPerSecond), fmt(r.eventsPerCpuSecond), fmt(r.outputRecords), String(r.checkpoints.length),
      d.length ? fmt(median(d)) : '-', d.length ? fmt(Math.max(...d)) : '-', mb(r.checkpoints.reduce((a, c) => a + c.uploadedBytes, 0)),
      r.checkpoints.length ? mb(r.checkpoints.at(-1)!.fullBytes) : '-', mb(r.peakRssBytes),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  console.log(`backend ${values.backend}, workers ${workers}, checkpoint interval ${values.interval}, event time ${timelineLabel}, watermark ${watermarkLabel}; events/s and events/cpu-s (events per CPU-second of the process: per core) from the first event on; start s: the job's start before it`);
}

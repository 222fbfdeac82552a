/**
 * Throughput of a keyed count (generator → keyBy → ValueState count → discarding
 * sink) with heap and lsm state, checkpoints every 10 s to a local directory, against
 * a plain TypeScript loop counting in a Map (the limit of what the framework adds to).
 *
 *   npm run bench:throughput                  # human table
 *   npm run bench:throughput -- --json        # one JSON object
 *   npm run bench:throughput -- --keys 100000,1000000,10000000 --records 3000000
 *   npm run bench:throughput -- --workers 1,2     # the job on 1 and on 2 worker threads, side by side
 *   npm run bench:throughput -- --memory 256m      # the lsm state within a 256 MiB budget (as weir run --memory)
 *
 * With --workers W1,W2,…: for each backend the job (keyed-count-job.ts, loaded by every
 * worker) runs at parallelism W on W worker threads (0: parallelism --parallelism on the
 * main thread), the configurations alternating for --rounds rounds; the table shows
 * each one's median and its ratio to the first: over the whole run and in the steady window
 * (10 %–90 % of the records, without worker start and drain), with the CPU time per record.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { StreamEnvironment, GeneratorSource, type KeyedProcessFunction, type Sink, type ValueState } from '../../src/index.ts';
import keyedCount from './keyed-count-job.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    keys: { type: 'string', default: '100000,1000000' },
    records: { type: 'string' },
    backends: { type: 'string', default: 'plain,heap,lsm' },
    parallelism: { type: 'string', default: '1' },
    interval: { type: 'string', default: '10s' },
    workers: { type: 'string' },
    rounds: { type: 'string', default: '3' },
    /** The lsm state's memory budget (`stateMemory`, as `weir run --memory`), e.g. 256m; unset: the default. */
    memory: { type: 'string' },
  },
});

const memory = values.memory === undefined ? {} : { stateMemory: values.memory };

/** Record i's key: a multiplicative hash spreads consecutive records over all keys. */
const keyOf = (i: number, keys: number): number => (Math.imul(i, 0x9e3779b1) >>> 0) % keys;

class CountingSink implements Sink<number> {
  readonly name = 'count';
  n = 0;
  createWriter() {
    return { write: () => void this.n++ };
  }
}

/** Keyed count; the state handle is taken once in open() (it follows the current key). A factory: one instance per subtask. */
function counter(): KeyedProcessFunction<number, number, number> {
  let count!: ValueState<number>;
  return {
    open(ctx) {
      count = ctx.getValueState<number>('count');
    },
    processElement(_k, _ctx, out) {
      const c = (count.value() ?? 0) + 1;
      count.update(c);
      out.collect(c);
    },
  };
}

interface Row {
  backend: string;
  keys: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  checkpoints: number;
  lastCheckpointMillis?: number;
  lastCheckpointBytes?: number;
}

function plain(keys: number, records: number): Row {
  const t0 = performance.now();
  const counts = new Map<number, number>();
  let out = 0;
  for (let i = 0; i < records; i++) {
    const k = keyOf(i, keys);
    const c = (counts.get(k) ?? 0) + 1;
    counts.set(k, c);
    out += c & 1;
  }
  const seconds = (performance.now() - t0) / 1000;
  if (out < 0) console.log(out);
  return { backend: 'plain loop (Map)', keys, records, seconds, recordsPerSecond: records / seconds, checkpoints: 0 };
}

async function job(backend: 'heap' | 'lsm', keys: number, records: number): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-'));
  try {
    const env = new StreamEnvironment({
      parallelism: Number(values.parallelism), stateBackend: backend, checkpoints: join(dir, 'cp'), stateDir: join(dir, 'state'), ...memory,
      checkpointInterval: values.interval, batchSize: 1024,
    });
    const sink = new CountingSink();
    env
      .fromSource(new GeneratorSource({ generate: (i) => keyOf(i, keys), count: records, splits: 8 }))
      .keyBy((k) => k)
      .process<number>(counter)
      .sinkTo(sink);
    const t0 = performance.now();
    const handle = await env.start('bench');
    const result = await handle.done;
    const seconds = (performance.now() - t0) / 1000;
    if (sink.n !== records) throw new Error(`sink saw ${sink.n} records, expected ${records}`);
    const last = handle.progress().lastCheckpoint;
    return {
      backend, keys, records, seconds, recordsPerSecond: records / seconds, checkpoints: result.metrics.checkpointsCompleted,
      ...(last ? { lastCheckpointMillis: Math.round(last.durationMillis), lastCheckpointBytes: last.checkpointedSize } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One run of the keyed count as a job module (see moduleJob). */
interface ModuleRow extends Row {
  /** Records/s between 10 % and 90 % of the records reached the sinks: the steady state, without worker start or drain. */
  steadyPerSecond: number;
  /** Seconds from start() until 10 % of the records reached the sinks (worker threads start, module loads). */
  startSeconds: number;
  /** CPU time of the whole process (every thread) per record in the steady window, in microseconds. */
  cpuMicrosPerRecord: number;
}

/**
 * The keyed count as a job module at parallelism `p` on `workers` worker threads (0: on
 * this thread). Besides the whole run it measures the steady window (10 %–90 % of the
 * records at the sinks, sampled every 10 ms): its rate, and the process's CPU time per
 * record in it (all threads), which a busy machine disturbs much less than wall time.
 */
async function moduleJob(backend: 'heap' | 'lsm', keys: number, records: number, workers: number, p: number): Promise<ModuleRow> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-'));
  try {
    const args = ['--keys', String(keys), '--records', String(records)];
    const env = new StreamEnvironment({
      parallelism: p, stateBackend: backend, checkpoints: join(dir, 'cp'), stateDir: join(dir, 'state'), ...memory,
      checkpointInterval: values.interval, batchSize: 1024, workers,
      jobModule: { url: pathToFileURL(join(import.meta.dirname, 'keyed-count-job.ts')).href, args },
    });
    keyedCount(env, args);
    const t0 = performance.now();
    const handle = await env.start('bench');
    const marks: { at: number; records: number; cpu: number }[] = [];
    const cpuMicros = (): number => {
      const u = process.cpuUsage();
      return u.user + u.system;
    };
    const sample = setInterval(() => {
      const n = handle.progress().metrics.recordsOut;
      const next = marks.length === 0 ? 0.1 : 0.9;
      if (marks.length < 2 && n >= next * records) marks.push({ at: performance.now(), records: n, cpu: cpuMicros() });
    }, 10);
    let result;
    try {
      result = await handle.done;
    } finally {
      clearInterval(sample);
    }
    const seconds = (performance.now() - t0) / 1000;
    if (result.metrics.recordsOut !== records) throw new Error(`the sinks saw ${result.metrics.recordsOut} records, expected ${records}`);
    if (marks.length < 2) throw new Error(`the run was too short to sample its steady state (${marks.length} of 2 marks): use more --records`);
    const [a, b] = marks as [typeof marks[0], typeof marks[0]];
    const last = handle.progress().lastCheckpoint;
    return {
      backend: `${backend} p=${p} ${workers === 0 ? 'main thread' : `${workers} worker${workers > 1 ? 's' : ''}`}`, keys, records, seconds,
      recordsPerSecond: records / seconds, checkpoints: result.metrics.checkpointsCompleted,
      steadyPerSecond: (b.records - a.records) / ((b.at - a.at) / 1000),
      startSeconds: (a.at - t0) / 1000,
      cpuMicrosPerRecord: (b.cpu - a.cpu) / (b.records - a.records),
      ...(last ? { lastCheckpointMillis: Math.round(last.durationMillis), lastCheckpointBytes: last.checkpointedSize } : {}),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

if (values.workers !== undefined) {
  const workerCounts = values.workers.split(',').map(Number);
  const rounds = Number(values.rounds);
  interface WorkersRow {
    backend: string; keys: number; records: number; workers: number; parallelism: number;
    /** Whole runs (start to end), records/s. */
    recordsPerSecond: number[]; median: number; ratio: number;
    /** Steady window (10 %–90 %), records/s, and its median's ratio to the first configuration. */
    steadyPerSecond: number[]; steadyMedian: number; steadyRatio: number;
    startSeconds: number; cpuMicrosPerRecord: number;
  }
  const out: WorkersRow[] = [];
  for (const keys of values.keys.split(',').map(Number)) {
    const records = values.records ? Number(values.records) : 2_000_000;
    for (const b of values.backends.split(',').filter((x) => x !== 'plain') as ('heap' | 'lsm')[]) {
      const runs = new Map<number, ModuleRow[]>(workerCounts.map((w) => [w, []]));
      for (let r = 0; r < rounds; r++) {
        // Alternate the order each round so drift on a shared machine does not favour one configuration.
        const order = r % 2 === 0 ? workerCounts : [...workerCounts].reverse();
        for (const w of order) {
          const row = await moduleJob(b, keys, records, w, w === 0 ? Number(values.parallelism) : w);
          runs.get(w)!.push(row);
          if (!values.json) console.error(`${row.backend} ${keys} keys round ${r + 1}: ${Math.round(row.recordsPerSecond)} rec/s whole run, ${Math.round(row.steadyPerSecond)} rec/s steady, ${row.cpuMicrosPerRecord.toFixed(2)} µs CPU/record, start ${row.startSeconds.toFixed(1)} s`);
        }
      }
      const first = runs.get(workerCounts[0]!)!;
      const base = median(first.map((x) => x.recordsPerSecond));
      const steadyBase = median(first.map((x) => x.steadyPerSecond));
      for (const w of workerCounts) {
        const rs = runs.get(w)!;
        const m = median(rs.map((x) => x.recordsPerSecond));
        const sm = median(rs.map((x) => x.steadyPerSecond));
        out.push({
          backend: b, keys, records, workers: w, parallelism: w === 0 ? Number(values.parallelism) : w,
          recordsPerSecond: rs.map((x) => x.recordsPerSecond), median: m, ratio: m / base,
          steadyPerSecond: rs.map((x) => x.steadyPerSecond), steadyMedian: sm, steadyRatio: sm / steadyBase,
          startSeconds: median(rs.map((x) => x.startSeconds)), cpuMicrosPerRecord: median(rs.map((x) => x.cpuMicrosPerRecord)),
        });
      }
    }
  }
  if (values.json) {
    console.log(JSON.stringify({ benchmark: 'throughput-workers', rounds, loadAverage: loadavg(), rows: out }));
  } else {
    const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
    console.log(`load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(' ')}`);
    console.log(['backend', 'keys', 'records', 'workers', 'steady rec/s', `vs ${workerCounts[0]} workers`, 'whole-run rec/s', `vs ${workerCounts[0]} workers`, 'start s', 'CPU µs/record', 'steady runs'].join('\t'));
    for (const r of out) {
      console.log([
        r.backend, fmt(r.keys), fmt(r.records), r.workers, fmt(r.steadyMedian), `${r.steadyRatio.toFixed(2)}x`, fmt(r.median), `${r.ratio.toFixed(2)}x`,
        r.startSeconds.toFixed(1), r.cpuMicrosPerRecord.toFixed(2), r.steadyPerSecond.map(fmt).join(' '),
      ].join('\t'));
    }
  }
  process.exit(0);
}

const rows: Row[] = [];
for (const keys of values.keys.split(',').map(Number)) {
  const records = values.records ? Number(values.records) : Math.max(2_000_000, keys * 2);
  for (const b of values.backends.split(',')) {
    if (b === 'plain') rows.push(plain(keys, records));
    else rows.push(await job(b as 'heap' | 'lsm', keys, records));
    if (!values.json) {
      const r = rows.at(-1)!;
      console.error(`${r.backend} ${r.keys} keys: ${Math.round(r.recordsPerSecond)} rec/s`);
    }
  }
}

if (values.json) {
  console.log(JSON.stringify({ benchmark: 'throughput', parallelism: Number(values.parallelism), rows }));
} else {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  console.log(['backend', 'keys', 'records', 'seconds', 'records/s', 'vs plain', 'checkpoints'].join('\t'));
  for (const r of rows) {
    const p = rows.find((x) => x.keys === r.keys && x.backend.startsWith('plain'));
    console.log([r.backend, fmt(r.keys), fmt(r.records), r.seconds.toFixed(2), fmt(r.recordsPerSecond), p ? `${(p.recordsPerSecond / r.recordsPerSecond).toFixed(1)}x slower` : '', r.checkpoints].join('\t'));
  }
}

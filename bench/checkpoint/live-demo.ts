/**
 * Live checkpoints of the demo (examples/sessions.ts, lsm, incremental, every 10 s,
 * parallelism 2) while it runs at full speed: runs `weir run` for --seconds, reads the
 * REST API's checkpoint history and phases (docs/rest-api.md "Checkpoint phases") and
 * prints p50/p99 of the duration and of each phase, plus the records processed.
 *
 *   node --import tsx bench/checkpoint/live-demo.ts --seconds 300
 *   node --import tsx bench/checkpoint/live-demo.ts --roots /tmp/old-tree,. --rounds 2 --seconds 150 --json
 *   node --import tsx bench/checkpoint/live-demo.ts --workers 0,2 --rounds 2 --seconds 300   # main thread vs 2 workers
 *
 * --workers W1,W2 runs each checkout with `weir run --workers W` for each W (alternating
 * like the roots; unset: weir run's default). Every run also reports the process's peak
 * RSS (VmHWM of /proc/<pid>/status, read just before it is stopped: all its threads).
 * --roots runs the demo of each checkout in turn (alternating, --rounds times), so a
 * before/after pair shares the machine's state; each root is a weir checkout with its
 * node_modules. Trees older than the phases (before 2026-12-02) report durations only.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    seconds: { type: 'string', default: '150' },
    roots: { type: 'string', default: '.' },
    rounds: { type: 'string', default: '1' },
    'job-args': { type: 'string', default: '' },
    workers: { type: 'string' },
  },
});

const PHASES = [
  'startDelayMillis', 'alignmentMillis', 'syncMillis', 'flushWaitMillis', 'flushQueuedMillis', 'flushEncodeMillis', 'flushWriteMillis',
  'flushInstallMillis', 'uploadMillis', 'ackLatencyMillis', 'finalizeMillis',
] as const;

interface RunResult {
  root: string;
  /** `--workers` given to weir run; undefined: its default. */
  workers: number | undefined;
  round: number;
  /** Peak RSS of the demo's process, MiB. */
  peakRssMiB: number;
  seconds: number;
  completed: number;
  failed: number;
  recordsIn: number;
  recordsPerSecond: number;
  durationMillis: { p50: number; p99: number; max: number };
  phases: Record<string, { p50: number; p99: number }> | undefined;
  checkpointedBytes: { p50: number };
}

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

async function getJson(url: string): Promise<any> {
  const r = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r.json();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Peak resident set of a live process (all its threads), MiB; NaN when /proc cannot tell. */
function peakRssMiB(pid: number | undefined): number {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

async function runOnce(root: string, workers: number | undefined, round: number, seconds: number): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-live-demo-'));
  const port = await freePort();
  const jobArgs = args['job-args'] ? ['--', ...args['job-args'].split(' ')] : [];
  const child = spawn(process.execPath, [
    join(root, 'bin/weir.js'), 'run', join(root, 'examples/sessions.ts'), '--checkpoints', join(dir, 'cp'), '--state-dir', join(dir, 'state'),
    '--ui-port', String(port), '--no-progress', ...(workers === undefined ? [] : ['--workers', String(workers)]), ...jobArgs,
  ], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const base = `http://127.0.0.1:${port}/api/jobs/sessions`;
  try {
    // Bounded: the server answers within 60 s or the run fails with the child's stderr.
    const t0 = Date.now();
    for (;;) {
      try {
        await getJson(base);
        break;
      } catch {
        if (Date.now() - t0 > 60_000 || child.exitCode !== null) throw new Error(`the demo did not start:\n${stderr}`);
        await sleep(500);
      }
    }
    const started = Date.now();
    // The monitor remembers 50 checkpoints: read the history every 30 s and keep all.
    const seen = new Map<number, any>();
    while (Date.now() - started < seconds * 1000) {
      await sleep(Math.min(30_000, seconds * 1000 - (Date.now() - started)));
      const cps = await getJson(`${base}/checkpoints`);
      for (const h of cps.history) if (h.status !== 'in_progress') seen.set(h.id, h);
    }
    const job = await getJson(base);
    const done = [...seen.values()].filter((h) => h.status === 'completed');
    const withPhases = done.filter((h) => h.phases !== undefined && h.phases !== null);
    const elapsed = (Date.now() - started) / 1000;
    return {
      root,
      workers,
      round,
      peakRssMiB: Math.round(peakRssMiB(child.pid)),
      seconds: Math.round(elapsed),
      completed: done.length,
      failed: [...seen.values()].filter((h) => h.status === 'failed').length,
      recordsIn: job.recordsIn,
      recordsPerSecond: Math.round(job.recordsIn / ((Date.now() - job.startTime) / 1000)),
      durationMillis: {
        p50: Math.round(percentile(done.map((h) => h.durationMillis), 50)),
        p99: Math.round(percentile(done.map((h) => h.durationMillis), 99)),
        max: Math.round(Math.max(...done.map((h) => h.durationMillis))),
      },
      phases: withPhases.length === 0 ? undefined : Object.fromEntries(PHASES.map((k) => [k, {
        p50: Math.round(percentile(withPhases.map((h) => h.phases[k]), 50)),
        p99: Math.round(percentile(withPhases.map((h) => h.phases[k]), 99)),
      }])),
      checkpointedBytes: { p50: percentile(done.map((h) => h.checkpointedSize), 50) },
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGINT');
    const guard = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await exited;
    clearTimeout(guard);
    rmSync(dir, { recursive: true, force: true });
  }
}

const roots = args.roots.split(',').map((r) => resolve(r));
const workerCounts: (number | undefined)[] = args.workers === undefined ? [undefined] : args.workers.split(',').map(Number);
const configs = roots.flatMap((root) => workerCounts.map((workers) => ({ root, workers })));
const results: RunResult[] = [];
for (let round = 0; round < Number(args.rounds); round++) {
  for (const { root, workers } of round % 2 === 0 ? configs : [...configs].reverse()) {
    const r = await runOnce(root, workers, round, Number(args.seconds));
    results.push(r);
    if (!args.json) {
      process.stderr.write(`round ${round} ${root} workers ${workers ?? 'default'}: ${r.completed} checkpoints, p50 ${r.durationMillis.p50} ms, p99 ${r.durationMillis.p99} ms, ${r.recordsPerSecond} rec/s, peak RSS ${r.peakRssMiB} MiB\n`);
    }
  }
}

if (args.json) {
  process.stdout.write(`${JSON.stringify({ bench: 'checkpoint-live-demo', results }, null, 2)}\n`);
} else {
  const cols = ['root', 'workers', 'round', 's', 'cps', 'rec/s', 'peak RSS MiB', 'p50 ms', 'p99 ms', ...PHASES.map((k) => `${k.replace('Millis', '')} p50/p99`)];
  const rows = results.map((r) => [
    r.root, String(r.workers ?? 'default'), String(r.round), String(r.seconds), String(r.completed), String(r.recordsPerSecond), String(r.peakRssMiB),
    String(r.durationMillis.p50), String(r.durationMillis.p99),
    ...PHASES.map((k) => (r.phases ? `${r.phases[k]!.p50}/${r.phases[k]!.p99}` : '–')),
  ]);
  const width = cols.map((c, i) => Math.max(c.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padStart(width[i]!)).join('  ');
  console.log(line(cols));
  for (const row of rows) console.log(line(row));
}

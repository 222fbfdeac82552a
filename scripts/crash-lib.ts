/**
 * The crash harness behind `npm run test:crash` (scripts/crash.ts) and test/crash/: runs
 * examples/wordcount.ts through the real bin/weir.js in child processes, SIGKILLs them at
 * random moments and at chosen crash points (WEIR_CRASH_AT, src/util/crash-points.ts),
 * resumes each time with `--resume latest`, and at the end checks that the committed
 * output is exactly the counts 1..n of every word, that `weir checkpoints verify` finds
 * no problem and that `weir checkpoints gc --dry-run` finds no orphan.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../', import.meta.url).pathname;
const bin = join(root, 'bin/weir.js');
const job = join(root, 'examples/wordcount.ts');

export const POINTS = ['snapshot-sync', 'snapshot-async', 'upload', 'metadata-before', 'metadata-after', 'subsume-delete', 'compaction', 'manifest-synced', 'recovered', 'restore'] as const;
/** Points only reached when a run restores a checkpoint. */
const RESTORE_POINTS: readonly string[] = ['recovered', 'restore'];
/** Points only the lsm backend reaches. */
const LSM_POINTS: readonly string[] = ['compaction', 'manifest-synced'];

export interface Variant {
  readonly name: string;
  readonly flags: readonly string[];
  readonly lsm: boolean;
}

export const VARIANTS: readonly Variant[] = [
  // Worker threads (issue 12): lsm-incremental and heap run their subtasks on 2 worker threads, lsm-full on the main thread.
  { name: 'lsm-incremental', flags: ['--state-backend', 'lsm', '--incremental', 'true', '--workers', '2'], lsm: true },
  { name: 'lsm-full', flags: ['--state-backend', 'lsm', '--incremental', 'false', '--workers', '0'], lsm: true },
  { name: 'heap', flags: ['--state-backend', 'heap', '--workers', '2'], lsm: false },
];

/** The seeded generator the fault injector uses (mulberry32), so test schedules are reproducible. */
export { seededRandom as rng } from '../src/storage/fault-injecting-storage.ts';

/** Writes `lines` lines of words from a vocabulary of `vocab` words (skewed); returns the expected count per word. */
export function makeInput(file: string, lines: number, vocab: number, random: () => number): Map<string, number> {
  const words = Array.from({ length: vocab }, (_, i) => (i % 7 === 0 ? `Wört${i}` : `w${i}`));
  const expected = new Map<string, number>();
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = Math.floor(random() * 9);
    const ws: string[] = [];
    for (let k = 0; k < n; k++) ws.push(words[Math.floor(random() * random() * words.length)]!);
    const line = ws.join(i % 5 === 0 ? ', ' : ' ') + (i % 11 === 0 ? '!?' : '');
    out.push(line);
    for (const w of line.toLowerCase().split(/[^\p{L}\p{N}]+/u)) if (w !== '') expected.set(w, (expected.get(w) ?? 0) + 1);
  }
  writeFileSync(file, out.join('\n') + '\n');
  return expected;
}

export interface RunOutcome {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stderr: string;
  /** The crash point the process killed itself at, if it did. */
  readonly crashedAt: string | undefined;
  /** Killed by the guard timer: the run hung. */
  readonly hung: boolean;
}

export interface KillPlan {
  /** SIGKILL after this many more completed checkpoints (+ extraMs), or after fallbackMs. */
  readonly afterCheckpoints?: number;
  readonly extraMs?: number;
  readonly fallbackMs?: number;
  /** WEIR_CRASH_AT value. */
  readonly crashAt?: string;
}

export function newestCheckpoint(jobDir: string): number {
  let max = 0;
  try {
    for (const name of readdirSync(jobDir)) {
      const m = /^chk-(\d+)$/.exec(name);
      if (m && existsSync(join(jobDir, name, '_metadata'))) max = Math.max(max, Number(m[1]));
    }
  } catch {
    // not created yet
  }
  return max;
}

/**
 * Runs `weir <args>` and applies the kill plan. A run that prints nothing for `guardMs`
 * (every checkpoint logs a line, so a working run never goes quiet that long), or runs
 * longer than max(6 × guardMs, 10 min) in all, is HUNG: it is asked for a Node diagnostic
 * report first (SIGUSR2: JS stacks of the main thread and the workers, libuv handles),
 * whose summary is appended to the returned output, then SIGKILLed. A busy machine makes
 * runs slow, not silent, so slowness alone is not reported as a hang.
 */
export function runWeir(args: readonly string[], env: NodeJS.ProcessEnv, plan: KillPlan, jobDir: string, guardMs = 90_000): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
    if (plan.crashAt !== undefined) childEnv['WEIR_CRASH_AT'] = plan.crashAt;
    else delete childEnv['WEIR_CRASH_AT'];
    const reportDir = mkdtempSync(join(tmpdir(), 'weir-report-'));
    const child = spawn(process.execPath, ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${reportDir}`, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: childEnv });
    let stderr = '';
    let stdout = '';
    const started = Date.now();
    let lastOutput = started;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      lastOutput = Date.now();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      lastOutput = Date.now();
    });
    let hung = false;
    let hungWhy = '';
    const timers: NodeJS.Timeout[] = [];
    const watchdog = setInterval(() => {
      const now = Date.now();
      const quiet = now - lastOutput >= guardMs;
      if (!quiet && now - started < Math.max(guardMs * 6, 600_000)) return;
      clearInterval(watchdog);
      hung = true;
      hungWhy = quiet ? `no output for ${guardMs} ms` : `still running after ${now - started} ms`;
      child.kill('SIGUSR2');
      timers.push(setTimeout(() => child.kill('SIGKILL'), 3000));
    }, 250);
    let poll: NodeJS.Timeout | undefined;
    if (plan.afterCheckpoints !== undefined) {
      const start = newestCheckpoint(jobDir);
      poll = setInterval(() => {
        if (newestCheckpoint(jobDir) >= start + plan.afterCheckpoints!) {
          clearInterval(poll);
          timers.push(setTimeout(() => child.kill('SIGKILL'), plan.extraMs ?? 0));
        }
      }, 5);
    }
    if (plan.fallbackMs !== undefined) {
      timers.push(setTimeout(() => {
        // The planned checkpoints did not come in time (worker threads take 30 s to start on
        // a busy machine): kill now, a kill like any other. A run that really stalls goes
        // silent and the watchdog above reports it with its diagnostic report.
        child.kill('SIGKILL');
      }, plan.fallbackMs));
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(watchdog);
      clearInterval(poll);
      for (const t of timers) clearTimeout(t);
      const m = /weir-crash-point (\S+) \d+/.exec(stderr);
      const report = hung ? `\n--- HUNG: ${hungWhy}${diagnosticSummary(reportDir)}` : '';
      rmSync(reportDir, { recursive: true, force: true });
      resolve({ code, signal, stderr: stderr + stdout + report, crashedAt: m?.[1], hung });
    });
  });
}

/** The parts of a Node diagnostic report (written on SIGUSR2) that tell where a process waits. */
export function diagnosticSummary(reportDir: string): string {
  const file = readdirSync(reportDir).find((f) => f.endsWith('.json'));
  if (file === undefined) return '\n(no diagnostic report was written: the process did not answer SIGUSR2 within 3 s)';
  try {
    interface Stack { message?: string; stack?: string[] }
    interface Report {
      javascriptStack?: Stack;
      libuv?: { type: string; is_active?: boolean; is_referenced?: boolean; remaining?: number }[];
      workers?: { javascriptStack?: Stack; libuv?: { type: string; is_active?: boolean }[] }[];
    }
    const r = JSON.parse(readFileSync(join(reportDir, file), 'utf8')) as Report;
    const stack = (s: Stack | undefined): string => [s?.message ?? '', ...(s?.stack ?? []).slice(0, 12)].join('\n    ');
    const handles = (l: { type: string; is_active?: boolean }[] | undefined): string => {
      const n = new Map<string, number>();
      for (const h of l ?? []) if (h.is_active) n.set(h.type, (n.get(h.type) ?? 0) + 1);
      return [...n].map(([t, c]) => `${t}×${c}`).join(' ');
    };
    const workers = (r.workers ?? []).map((w, i) => `\n  worker ${i}: active handles ${handles(w.libuv)}\n    ${stack(w.javascriptStack)}`).join('');
    return `\n--- diagnostic report: main thread active handles ${handles(r.libuv)}\n    ${stack(r.javascriptStack)}${workers}`;
  } catch (err) {
    return `\n(diagnostic report unreadable: ${String(err)})`;
  }
}

/**
 * Starts a second `weir run` on the same job directory once the first one holds it (its
 * lease exists). While the first runs, the second must exit 2 naming the holder. If the
 * first is gone before the second got its answer (it finished, or was killed, so its
 * lease is stale), the second may run: it is then waited for, and it must end cleanly.
 */
function secondProcess(args: readonly string[], env: NodeJS.ProcessEnv, jobDir: string): {
  outcome(first: RunOutcome): Promise<{ refused: boolean; finished: boolean; error?: string }>;
} {
  // The lease a killed run left behind is still there when the first run starts: wait until
  // the lease file is a new one (the first run took it over or created it), else both
  // processes race for the stale lease's takeover and either may be the one refused.
  const lease = join(jobDir, '_lease');
  const stale = existsSync(lease) ? readFileSync(lease, 'utf8') : undefined;
  const started = (async () => {
    for (let i = 0; i < 2000; i++) {
      const now = existsSync(lease) ? readFileSync(lease, 'utf8') : undefined;
      if (now !== undefined && now !== stale) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    // A second process that takes over (the first was killed meanwhile) runs the whole job:
    // under load that took over 120 s (workers started in 23-33 s), and the default guard
    // killed a run that was fine. The first run's silence guard bounds it instead.
    return weirCli(args, env, 900_000);
  })();
  return {
    async outcome(first) {
      const r = await started;
      if (r.code === 2 && /is in use by run [0-9a-f]+ \(pid \d+ on /.test(r.stderr) && r.stderr.trim().split('\n').length === 1) {
        return { refused: true, finished: false };
      }
      if (r.code === 0 && (first.signal === 'SIGKILL' || first.code === 0)) return { refused: false, finished: /job finished/.test(r.stderr) };
      return { refused: false, finished: false, error: `second process on the job directory exited ${r.code ?? 'by a signal (killed by its 900 s guard?)'} while the first ran: ${r.stderr.slice(-1500)}` };
    },
  };
}

/** Runs `weir <args>` to completion (for `checkpoints verify|gc`), SIGKILLed after `timeoutMs`. */
export async function weirCli(args: readonly string[], env?: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...(env ? { env: { ...process.env, ...env } } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Problems with the committed output: every word must have exactly the counts 1..n. Empty = exact. */
export function checkCounts(dir: string, expected: ReadonlyMap<string, number>): string[] {
  const got = new Map<string, number[]>();
  for (const name of existsSync(dir) ? readdirSync(dir) : []) {
    if (name.startsWith('.') || name.startsWith('_')) continue;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as { word: string; count: number };
      let list = got.get(r.word);
      if (!list) got.set(r.word, (list = []));
      list.push(r.count);
    }
  }
  const problems: string[] = [];
  for (const w of got.keys()) if (!expected.has(w)) problems.push(`unexpected word ${w}`);
  for (const [word, n] of expected) {
    const counts = (got.get(word) ?? []).sort((a, b) => a - b);
    if (counts.length !== n || counts.some((c, i) => c !== i + 1)) {
      problems.push(`word ${word}: ${counts.length} counts, expected 1..${n}${counts.length < 20 ? ` (got ${counts.join(',')})` : ''}`);
    }
    if (problems.length > 10) break;
  }
  return problems;
}

export interface RoundResult {
  readonly variant: string;
  readonly kills: number;
  readonly killsByPoint: Record<string, number>;
  readonly runs: number;
  readonly outputProblems: readonly string[];
  readonly verifyProblems: number;
  readonly orphans: number;
  readonly checkpointsRetained: number;
  /** Second processes started on the job directory while a run held it (all refused). */
  readonly secondRefused?: number;
  readonly error?: string;
}

export interface RoundOptions {
  readonly variant: Variant;
  /** Kills to aim for in this round (the job is then run to the end). */
  readonly kills: number;
  readonly lines: number;
  readonly vocab: number;
  readonly random: () => number;
  /** Share of kills at chosen crash points (the rest at random moments). Default 0.6. */
  readonly pointShare?: number;
  readonly parallelism?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly log?: (line: string) => void;
  /** Instead of random choices: the kills in order, each a crash point (`name` or `name:nth`) or 'random'. */
  readonly sequence?: readonly string[];
  /** A run that prints nothing for this long is killed and reported as hung (default 90 s; see runWeir). */
  readonly guardMs?: number;
  /** Keep a copy of the directories of a round that hung (for debugging). */
  readonly keepOnHang?: boolean;
  /**
   * Share of runs during which a SECOND process is started on the same job directory
   * (issue 9, defect 3): it must fail at start naming the holder (exit 2), and the first
   * run must not notice. Default 0.
   */
  readonly secondProcessShare?: number;
}

/**
 * One round: fresh input and directories, runs killed until `kills` kills happened (or
 * the job finished), then runs to the end and checks output, verify and gc --dry-run.
 */
export async function crashRound(o: RoundOptions): Promise<RoundResult> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-crash-'));
  const killsByPoint: Record<string, number> = {};
  let kills = 0;
  let runs = 0;
  try {
    const input = join(dir, 'input.txt');
    const expected = makeInput(input, o.lines, o.vocab, o.random);
    const output = join(dir, 'out');
    const checkpoints = join(dir, 'checkpoints');
    const jobDir = join(checkpoints, 'wordcount');
    const args = [
      'run', job, '--checkpoints', checkpoints, '--state-dir', join(dir, 'state'), '--checkpoint-interval', '50ms', '--retained', '2',
      '--parallelism', String(o.parallelism ?? 2), '--no-progress', '--ui-port', '0', ...o.variant.flags, '--resume', 'latest',
      '--', '--input', input, '--output', output,
    ];
    const points = POINTS.filter((p) => o.variant.lsm || !LSM_POINTS.includes(p));
    const maxRuns = o.kills * 2 + 10;
    let finished = false;
    let secondRefused = 0;
    for (; runs < maxRuns && !finished; runs++) {
      let plan: KillPlan = {};
      const planned = o.sequence?.[kills];
      if (planned !== undefined) {
        plan = planned === 'random'
          ? { afterCheckpoints: 1, extraMs: Math.floor(o.random() * 150), fallbackMs: 45_000 }
          : { crashAt: planned.includes(':') ? planned : `${planned}:1` };
      } else if (o.sequence === undefined && kills < o.kills) {
        if (o.random() < (o.pointShare ?? 0.6)) {
          const usable = points.filter((p) => !RESTORE_POINTS.includes(p) || newestCheckpoint(jobDir) > 0);
          const point = usable[Math.floor(o.random() * usable.length)]!;
          plan = { crashAt: `${point}:${1 + Math.floor(o.random() * 4)}` };
        } else {
          plan = { afterCheckpoints: Math.floor(o.random() * 3), extraMs: Math.floor(o.random() * 150), fallbackMs: 45_000 };
        }
      }
      const second = (o.secondProcessShare ?? 0) > 0 && o.random() < o.secondProcessShare! ? secondProcess(args, o.env ?? {}, jobDir) : undefined;
      const r = await runWeir(args, o.env ?? {}, plan, jobDir, o.guardMs);
      writeFileSync(join(dir, `run-${runs}.log`), `${JSON.stringify(plan)}\n${r.stderr}`);
      if (second !== undefined) {
        const s2 = await second.outcome(r);
        if (s2.error !== undefined) {
          return { variant: o.variant.name, kills, killsByPoint, runs: runs + 1, outputProblems: [], verifyProblems: -1, orphans: -1, checkpointsRetained: 0, secondRefused, error: `run ${runs}: ${s2.error}` };
        }
        if (s2.refused) secondRefused++;
        else finished ||= s2.finished;
      }
      if (r.hung) {
        if (o.keepOnHang) cpSync(dir, `${dir}-hung`, { recursive: true });
        return { variant: o.variant.name, kills, killsByPoint, runs: runs + 1, outputProblems: [], verifyProblems: -1, orphans: -1, checkpointsRetained: 0, error: `run ${runs} (${JSON.stringify(plan)}) HUNG${o.keepOnHang ? `, copy in ${dir}-hung` : ''}: ${r.stderr.slice(-3000)}` };
      }
      if (r.signal === 'SIGKILL') {
        kills++;
        const where = r.crashedAt ?? 'random';
        killsByPoint[where] = (killsByPoint[where] ?? 0) + 1;
        o.log?.(`  ${o.variant.name}: kill ${kills} at ${where}${plan.crashAt ? ` (${plan.crashAt})` : ''}`);
      } else if (r.code === 0) {
        finished = true; // the job reached its end (a planned kill came too late or its point was never reached)
      } else {
        return { variant: o.variant.name, kills, killsByPoint, runs: runs + 1, outputProblems: [], verifyProblems: -1, orphans: -1, checkpointsRetained: 0, error: `run ${runs} exited ${r.code}: ${r.stderr.slice(-2000)}` };
      }
    }
    if (!finished) {
      return { variant: o.variant.name, kills, killsByPoint, runs, outputProblems: [], verifyProblems: -1, orphans: -1, checkpointsRetained: 0, error: 'the job never finished' };
    }
    const outputProblems = checkCounts(output, expected);
    const verify = await weirCli(['checkpoints', 'verify', checkpoints, '--job', 'wordcount', '--json']);
    const v = verify.code === 0 ? (JSON.parse(verify.stdout) as { problems: unknown[]; checkpoints: number[] }) : undefined;
    const gc = await weirCli(['checkpoints', 'gc', checkpoints, '--job', 'wordcount', '--dry-run', '--json']);
    const g = gc.code === 0 ? (JSON.parse(gc.stdout) as { orphans: unknown[] }) : undefined;
    return {
      variant: o.variant.name, kills, killsByPoint, runs, outputProblems,
      verifyProblems: v ? v.problems.length : -1,
      orphans: g ? g.orphans.length : -1,
      checkpointsRetained: v ? v.checkpoints.length : 0,
      secondRefused,
      ...(v && g ? {} : { error: `verify exited ${verify.code}: ${verify.stderr}${verify.stdout}; gc exited ${gc.code}: ${gc.stderr}${gc.stdout}` }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

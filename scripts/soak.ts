/**
 * Soak: `npm run soak -- --minutes N [--rate 20000] [--users 200000] [--interval 1s] [--sample 10] [--json out.json]`
 *
 * Runs the demo job (examples/sessions.ts) through bin/weir.js with a checkpoint every
 * second (lsm, incremental, local storage in a temp directory), and every --sample
 * seconds records the process's resident memory (VmRSS), open file descriptors
 * (/proc/<pid>/fd), the bytes in checkpoint storage and in the local state directory,
 * and the newest checkpoint id. At the end it prints a table and a JSON summary with a
 * verdict per series: "bounded" when the mean of the last quarter of samples is within
 * 25% (or a small absolute margin) of the mean of the second quarter, "GROWING"
 * otherwise. The user set is bounded (--users), so the job's state has a steady size
 * once every user has been seen; growth past that point is a leak.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '3' },
    rate: { type: 'string', default: '20000' },
    users: { type: 'string', default: '200000' },
    interval: { type: 'string', default: '1s' },
    sample: { type: 'string', default: '10' },
    json: { type: 'string' },
  },
});
const root = new URL('../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'weir-soak-'));
const checkpoints = join(dir, 'checkpoints');
const stateDir = join(dir, 'state');

function dirBytes(path: string, depth = 0): number {
  if (depth > 12) return 0;
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(path);
  } catch {
    return 0;
  }
  for (const n of names) {
    const p = join(path, n);
    try {
      const s = statSync(p);
      total += s.isDirectory() ? dirBytes(p, depth + 1) : s.size;
    } catch {
      // deleted while we looked
    }
  }
  return total;
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

function newestCheckpoint(): number {
  try {
    return Math.max(0, ...readdirSync(join(checkpoints, 'sessions')).map((n) => /^chk-(\d+)$/.exec(n)).filter((m) => m !== null).map((m) => Number(m[1])));
  } catch {
    return 0;
  }
}

interface Sample { t: number; rssMiB: number; fds: number; storageMiB: number; stateMiB: number; checkpoint: number }

const child = spawn(process.execPath, [
  join(root, 'bin/weir.js'), 'run', join(root, 'examples/sessions.ts'), '--checkpoints', checkpoints, '--state-dir', stateDir,
  '--checkpoint-interval', values.interval, '--retained', '2', '--no-progress', '--ui-port', '0', '--', '--users', values.users, '--rate', values.rate,
], { stdio: ['ignore', 'ignore', 'pipe'] });
let stderr = '';
child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
let exited = false;
child.on('exit', () => (exited = true));
const pid = child.pid!;
const samples: Sample[] = [];
const t0 = performance.now();
const endAt = t0 + Number(values.minutes) * 60_000;
const mib = (b: number): number => Math.round((b / 1048576) * 10) / 10;
console.log(`soak: ${values.minutes} min, rate ${values.rate}/s, ${values.users} users, checkpoint every ${values.interval}, sample every ${values.sample}s (pid ${pid}, ${dir})`);
console.log(`${'t(s)'.padStart(6)} ${'RSS MiB'.padStart(9)} ${'fds'.padStart(5)} ${'storage MiB'.padStart(12)} ${'state MiB'.padStart(10)} ${'chk'.padStart(6)}`);
try {
  for (let i = 0; performance.now() < endAt && !exited && i < 100_000; i++) {
    await sleep(Number(values.sample) * 1000);
    if (exited) break;
    let fds = NaN;
    try {
      fds = readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      // exited
    }
    const s: Sample = { t: Math.round((performance.now() - t0) / 1000), rssMiB: mib(rssBytes(pid)), fds, storageMiB: mib(dirBytes(checkpoints)), stateMiB: mib(dirBytes(stateDir)), checkpoint: newestCheckpoint() };
    samples.push(s);
    console.log(`${String(s.t).padStart(6)} ${String(s.rssMiB).padStart(9)} ${String(s.fds).padStart(5)} ${String(s.storageMiB).padStart(12)} ${String(s.stateMiB).padStart(10)} ${String(s.checkpoint).padStart(6)}`);
  }
} finally {
  if (!exited) child.kill('SIGTERM');
}
await sleep(3000);
if (!exited) child.kill('SIGKILL');

function verdict(key: keyof Sample, slackAbs: number): { first: number; last: number; verdict: string } {
  const q = Math.max(1, Math.floor(samples.length / 4));
  const mean = (xs: Sample[]): number => xs.reduce((a, s) => a + (s[key]), 0) / Math.max(1, xs.length);
  const second = mean(samples.slice(q, 2 * q));
  const last = mean(samples.slice(-q));
  const growing = samples.length >= 8 && last > second * 1.25 && last - second > slackAbs;
  return { first: Math.round(second * 10) / 10, last: Math.round(last * 10) / 10, verdict: samples.length < 8 ? 'too few samples' : growing ? 'GROWING' : 'bounded' };
}
const summary = {
  minutes: Number(values.minutes), rate: Number(values.rate), users: Number(values.users), samples: samples.length,
  checkpointsCompleted: samples.at(-1)?.checkpoint ?? 0,
  jobDiedEarly: exited && performance.now() < endAt,
  rss: verdict('rssMiB', 50), fds: verdict('fds', 10), storage: verdict('storageMiB', 20), state: verdict('stateMiB', 50),
};
console.log(`\nverdict (mean of 2nd quarter → last quarter): RSS ${summary.rss.first} → ${summary.rss.last} MiB ${summary.rss.verdict}; fds ${summary.fds.first} → ${summary.fds.last} ${summary.fds.verdict}; storage ${summary.storage.first} → ${summary.storage.last} MiB ${summary.storage.verdict}; local state ${summary.state.first} → ${summary.state.last} MiB ${summary.state.verdict}`);
if (summary.jobDiedEarly) console.log(`the job ended early:\n${stderr.slice(-3000)}`);
console.log(JSON.stringify({ ...summary, series: samples }));
if (values.json) writeFileSync(values.json, JSON.stringify({ ...summary, series: samples }, null, 1));
rmSync(dir, { recursive: true, force: true });

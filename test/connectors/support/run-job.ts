/** Runs `bin/weir.js run <job>` in a child process, optionally SIGKILLed after more completed checkpoints. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diagnosticSummary, newestCheckpoint } from '../../../scripts/crash-lib.ts';

const root = new URL('../../../', import.meta.url).pathname;

export interface Outcome { code: number | null; signal: NodeJS.Signals | null; stderr: string }

/** With `kill`, SIGKILLs the job `extraMs` after `checkpoints` more completed checkpoints in `jobDir` (usually mid-checkpoint). */
export function runJob(job: string, args: string[], jobDir: string, kill: { checkpoints: number; extraMs: number } | undefined): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // A run that does not end within the guard is killed, after a diagnostic report
    // (SIGUSR2: JS stacks, active handles) that says where it waited.
    const reportDir = mkdtempSync(join(tmpdir(), 'weir-report-'));
    const child = spawn(process.execPath, ['--report-on-signal', '--report-signal=SIGUSR2', `--report-directory=${reportDir}`, join(root, 'bin/weir.js'), 'run', join(root, job), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let hung = false;
    let hardKill: NodeJS.Timeout | undefined;
    const guard = setTimeout(() => {
      hung = true;
      child.kill('SIGUSR2');
      hardKill = setTimeout(() => child.kill('SIGKILL'), 3000);
    }, 300_000);
    let poll: NodeJS.Timeout | undefined;
    if (kill) {
      const start = newestCheckpoint(jobDir);
      poll = setInterval(() => {
        if (newestCheckpoint(jobDir) >= start + kill.checkpoints) {
          clearInterval(poll);
          setTimeout(() => child.kill('SIGKILL'), kill.extraMs);
        }
      }, 5);
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(guard);
      clearTimeout(hardKill);
      const report = hung ? `\n--- HUNG: still running after 300 s${diagnosticSummary(reportDir)}` : '';
      rmSync(reportDir, { recursive: true, force: true });
      resolve({ code, signal, stderr: stderr + report });
    });
  });
}

/** Asserts-free tally: word → sorted counts, from {"word","count"} JSON values. */
export function tally(values: readonly string[]): Map<string, number[]> {
  const got = new Map<string, number[]>();
  for (const v of values) {
    const r = JSON.parse(v) as { word: string; count: number };
    let l = got.get(r.word);
    if (!l) got.set(r.word, (l = []));
    l.push(r.count);
  }
  for (const l of got.values()) l.sort((a, b) => a - b);
  return got;
}

export function makeLines(n: number, random: () => number): { lines: string[]; expected: Map<string, number>; totalWords: number } {
  const vocab = Array.from({ length: 200 }, (_, i) => (i % 7 === 0 ? `Wört${i}` : `w${i}`));
  const expected = new Map<string, number>();
  const lines: string[] = [];
  let totalWords = 0;
  for (let i = 0; i < n; i++) {
    const words: string[] = [];
    const k = 1 + Math.floor(random() * 6);
    for (let j = 0; j < k; j++) words.push(vocab[Math.floor(random() * random() * vocab.length)]!);
    const line = words.join(i % 5 === 0 ? ', ' : ' ');
    lines.push(line);
    for (const w of line.toLowerCase().split(/[^\p{L}\p{N}]+/u)) {
      if (w === '') continue;
      expected.set(w, (expected.get(w) ?? 0) + 1);
      totalWords++;
    }
  }
  return { lines, expected, totalWords };
}

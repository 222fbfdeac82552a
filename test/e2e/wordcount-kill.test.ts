/**
 * End to end: `weir run examples/wordcount.ts` in a child process (the real bin/weir.js),
 * killed with SIGKILL at random points — many of them in the middle of a checkpoint,
 * since one starts every 50 ms — and resumed each time with `--resume latest`, until a
 * run finishes. The committed output must then hold, for every word, exactly the
 * counts 1..n (n = its occurrences in the input), each once: nothing lost, nothing
 * duplicated. Run for lsm incremental, lsm full and heap.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/weir.js');
const job = join(root, 'examples/wordcount.ts');

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function makeInput(file: string, lines: number, random: () => number): Map<string, number> {
  const vocab = Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? `Wört${i}` : `w${i}`));
  const expected = new Map<string, number>();
  const out: string[] = [];
  for (let i = 0; i < lines; i++) {
    const n = Math.floor(random() * 9);
    const words: string[] = [];
    for (let k = 0; k < n; k++) words.push(vocab[Math.floor(random() * random() * vocab.length)]!);
    const line = words.join(k(i)) + (i % 11 === 0 ? '!?' : '');
    out.push(line);
    for (const w of line.toLowerCase().split(/[^\p{L}\p{N}]+/u)) if (w !== '') expected.set(w, (expected.get(w) ?? 0) + 1);
  }
  writeFileSync(file, out.join('\n') + '\n');
  return expected;
}

function k(i: number): string {
  return i % 5 === 0 ? ', ' : ' ';
}

interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the job; with `kill`, SIGKILLs it `kill.extraMs` after it completed `kill.checkpoints`
 * more checkpoints (checkpoints start every 50 ms, so the kill usually lands while one is
 * being taken), or after `kill.fallbackMs` whatever happened.
 */
function runOnce(args: string[], jobDir: string, kill: { checkpoints: number; extraMs: number; fallbackMs: number } | undefined): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'run', job, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    let poll: NodeJS.Timeout | undefined;
    let fallback: NodeJS.Timeout | undefined;
    if (kill) {
      // Completed checkpoints are never deleted below `retained` (1), so count the newest id instead.
      const start = newestCheckpoint(jobDir);
      poll = setInterval(() => {
        if (newestCheckpoint(jobDir) >= start + kill.checkpoints) {
          clearInterval(poll);
          setTimeout(() => child.kill('SIGKILL'), kill.extraMs);
        }
      }, 5);
      fallback = setTimeout(() => child.kill('SIGKILL'), kill.fallbackMs);
    }
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(fallback);
      clearTimeout(guard);
      resolve({ code, signal, stderr });
    });
  });
}

function newestCheckpoint(jobDir: string): number {
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

function committedCounts(dir: string): Map<string, number[]> {
  const counts = new Map<string, number[]>();
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.') || name.startsWith('_')) continue;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as { word: string; count: number };
      let list = counts.get(r.word);
      if (!list) counts.set(r.word, (list = []));
      list.push(r.count);
    }
  }
  return counts;
}

const variants: { name: string; flags: string[]; seed: number }[] = [
  { name: 'lsm incremental', flags: ['--state-backend', 'lsm', '--incremental', 'true'], seed: 11 },
  { name: 'lsm full', flags: ['--state-backend', 'lsm', '--incremental', 'false'], seed: 22 },
  { name: 'heap', flags: ['--state-backend', 'heap'], seed: 33 },
];

for (const v of variants) {
  test(`wordcount survives SIGKILLs and resumes exactly once (${v.name})`, { timeout: 170_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-e2e-'));
    try {
      const random = rng(v.seed);
      const input = join(dir, 'input.txt');
      const expected = makeInput(input, 100_000, random);
      const output = join(dir, 'out');
      const args = [
        '--checkpoints', join(dir, 'checkpoints'), '--state-dir', join(dir, 'state'), '--checkpoint-interval', '50ms',
        '--parallelism', '2', '--no-progress', ...v.flags, '--resume', 'latest', '--', '--input', input, '--output', output,
      ];
      let kills = 0;
      let finished: RunOutcome | undefined;
      for (let run = 0; run < 12 && !finished; run++) {
        // Four killed runs (after 1–3 more completed checkpoints + 0–40 ms), then runs to the end.
        const kill = kills < 4 ? { checkpoints: 1 + Math.floor(random() * 2), extraMs: Math.floor(random() * 120), fallbackMs: 20_000 } : undefined;
        const r = await runOnce(args, join(dir, 'checkpoints', 'wordcount'), kill);
        if (r.signal === 'SIGKILL') kills++;
        else {
          assert.equal(r.code, 0, `run ${run} failed:\n${r.stderr}`);
          finished = r;
        }
      }
      assert.ok(finished, 'the job never finished');
      assert.ok(kills >= 3, `only ${kills} runs were killed (the job finished too fast to test recovery)`);
      const got = committedCounts(output);
      assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), 'committed words differ from the input words');
      for (const [word, n] of expected) {
        const counts = got.get(word)!.sort((a, b) => a - b);
        assert.equal(counts.length, n, `word ${word}: ${counts.length} committed counts, expected ${n}`);
        for (let i = 0; i < n; i++) assert.equal(counts[i], i + 1, `word ${word}: counts are not exactly 1..${n}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * Shared by the wordcount end-to-end tests: input generation, running
 * `bin/weir.js run examples/wordcount.ts` in a child process with kills, and reading the
 * committed output.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newestCheckpoint } from '../../scripts/crash-lib.ts';

const root = new URL('../../', import.meta.url).pathname;
const bin = join(root, 'bin/weir.js');
const job = join(root, 'examples/wordcount.ts');

export { rng } from '../../scripts/crash-lib.ts';

export function makeInput(file: string, lines: number, random: () => number): Map<string, number> {
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

export interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Runs the job; with `kill`, SIGKILLs it `kill.extraMs` after it completed `kill.checkpoints`
 * more checkpoints (checkpoints start every 50 ms, so the kill usually lands while one is
 * being taken), or after `kill.fallbackMs` whatever happened.
 */
export function runOnce(args: string[], jobDir: string | null, kill: { checkpoints: number; extraMs: number; fallbackMs: number } | undefined, env?: NodeJS.ProcessEnv): Promise<RunOutcome> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, 'run', job, ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    let poll: NodeJS.Timeout | undefined;
    let fallback: NodeJS.Timeout | undefined;
    if (kill && jobDir !== null) {
      // Completed checkpoints are never deleted below `retained` (1), so count the newest id instead.
      const start = newestCheckpoint(jobDir);
      poll = setInterval(() => {
        if (newestCheckpoint(jobDir) >= start + kill.checkpoints) {
          clearInterval(poll);
          setTimeout(() => child.kill('SIGKILL'), kill.extraMs);
        }
      }, 5);
    }
    if (kill) fallback = setTimeout(() => child.kill('SIGKILL'), kill.fallbackMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(poll);
      clearTimeout(fallback);
      clearTimeout(guard);
      resolve({ code, signal, stderr });
    });
  });
}


export function committedCounts(dir: string): Map<string, number[]> {
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


/**
 * Runs the job with `args` until it finishes, SIGKILLing the first `kills` runs after 1–2
 * more completed checkpoints + 0–120 ms (checkpoints start every 50 ms, so usually in the
 * middle of one). `jobDir` is where `chk-N/_metadata` appear (null: kill on a timer).
 */
export async function runWithKills(args: string[], jobDir: string | null, kills: number, random: () => number, env?: NodeJS.ProcessEnv): Promise<{ kills: number; finished: RunOutcome }> {
  let done = 0;
  for (let run = 0; run < kills + 8; run++) {
    const kill = done < kills ? { checkpoints: 1 + Math.floor(random() * 2), extraMs: Math.floor(random() * 120), fallbackMs: jobDir ? 20_000 : 1500 + Math.floor(random() * 1500) } : undefined;
    const r = await runOnce(args, jobDir, kill, env);
    if (r.signal === 'SIGKILL') done++;
    else {
      assert.equal(r.code, 0, `run ${run} failed:\n${r.stderr}`);
      return { kills: done, finished: r };
    }
  }
  assert.fail('the job never finished');
}

/**
 * Asserts that for every word of the input the committed counts are exactly 1..n, and
 * that no in-progress part file is left (the last run removed the crashed runs' ones).
 */
export function checkWordCounts(output: string, expected: ReadonlyMap<string, number>): void {
  const leftovers = readdirSync(output).filter((n) => n.endsWith('.inprogress'));
  assert.deepEqual(leftovers, [], 'in-progress part files left behind');
  const got = committedCounts(output);
  assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort(), 'committed words differ from the input words');
  for (const [word, n] of expected) {
    const counts = got.get(word)!.sort((a, b) => a - b);
    assert.equal(counts.length, n, `word ${word}: ${counts.length} committed counts, expected ${n}`);
    for (let i = 0; i < n; i++) assert.equal(counts[i], i + 1, `word ${word}: counts are not exactly 1..${n}`);
  }
}

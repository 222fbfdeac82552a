/**
 * End to end: `weir run examples/wordcount.ts` in a child process (the real bin/weir.js),
 * killed with SIGKILL at random points — many of them in the middle of a checkpoint,
 * since one starts every 50 ms — and resumed each time with `--resume latest`, until a
 * run finishes. The committed output must then hold, for every word, exactly the
 * counts 1..n (n = its occurrences in the input), each once: nothing lost, nothing
 * duplicated. Run for lsm incremental and heap on 2 worker threads, lsm full on the main thread.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkWordCounts, makeInput, rng, runWithKills } from './wordcount-harness.ts';

const variants: { name: string; flags: string[]; seed: number }[] = [
  { name: 'lsm incremental, 2 worker threads', flags: ['--state-backend', 'lsm', '--incremental', 'true', '--workers', '2'], seed: 11 },
  { name: 'lsm full, main thread', flags: ['--state-backend', 'lsm', '--incremental', 'false', '--workers', '0'], seed: 22 },
  { name: 'heap, 2 worker threads', flags: ['--state-backend', 'heap', '--workers', '2'], seed: 33 },
];

for (const v of variants) {
  test(`wordcount survives SIGKILLs and resumes exactly once (${v.name})`, { timeout: 600_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-e2e-'));
    try {
      const random = rng(v.seed);
      const input = join(dir, 'input.txt');
      // Large enough that four kills (each after 1–2 more checkpoints + up to 120 ms) land
      // before the end of input even as the runtime gets faster.
      const expected = makeInput(input, 400_000, random);
      const output = join(dir, 'out');
      const args = [
        '--checkpoints', join(dir, 'checkpoints'), '--state-dir', join(dir, 'state'), '--checkpoint-interval', '50ms',
        '--parallelism', '2', '--no-progress', ...v.flags, '--resume', 'latest', '--', '--input', input, '--output', output,
      ];
      // Four killed runs, then runs to the end.
      const { kills } = await runWithKills(args, join(dir, 'checkpoints', 'wordcount'), 4, random);
      assert.ok(kills >= 3, `only ${kills} runs were killed (the job finished too fast to test recovery)`);
      checkWordCounts(output, expected);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * Storage faults: wordcount through bin/weir.js with 10% of its checkpoint storage's
 * write and delete calls failing (WEIR_FAULTS, src/storage/faults-from-env.ts, wraps the
 * job's storage in FaultInjectingStorage), plus two SIGKILLs. The job keeps processing:
 * checkpoints whose uploads fail are declined and their files cleaned, later ones
 * complete, and the committed output is still exactly 1..n per word. At the end
 * `weir checkpoints verify` is clean and, once the job has been started again (start-up
 * deletes what failed deletes left behind), `gc --dry-run` finds no orphan.
 *
 * S3 transient errors (retried with backoff) and permanent ones (fail fast) are tested
 * in test/storage/s3-retry.test.ts and test/storage/s3-classify.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkCounts, makeInput, rng, runWeir, weirCli } from '../../scripts/crash-lib.ts';

const root = new URL('../../', import.meta.url).pathname;
// 10% of calls fail, on a schedule fixed by the seed. These seeds put a fault among the
// first three write/delete calls of every run (mulberry32: seed 7 → calls 0,1,28; 23 → 0,1,9;
// 13 → 2,3,4; …), so even a short last run (the kills may land late) injects some: with
// seeds 7+run, run 2's first fault was call 26 and a fast last run made fewer calls.
const SEEDS = [7, 23, 13, 39, 27, 19, 35, 3];

for (const backend of [['--state-backend', 'lsm', '--incremental', 'true'], ['--state-backend', 'heap']]) {
  // Usually 10–20 s; a fresh-clone CI run (session 5) took 109 s once, when runs waited out
  // the 30 s fallback for their kill: the limit leaves room for two such runs under load.
  test(`10% storage faults: checkpoints declined and cleaned, later ones complete, output exact (${backend[1]})`, { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-faults-'));
    try {
      const input = join(dir, 'input.txt');
      const expected = makeInput(input, 150_000, 3000, rng(7));
      const checkpoints = join(dir, 'checkpoints');
      const jobDir = join(checkpoints, 'wordcount');
      const output = join(dir, 'out');
      const args = [
        'run', join(root, 'examples/wordcount.ts'), '--checkpoints', checkpoints, '--state-dir', join(dir, 'state'), '--checkpoint-interval', '50ms',
        '--retained', '2', '--parallelism', '2', '--no-progress', '--ui-port', '0', ...backend, '--resume', 'latest', '--', '--input', input, '--output', output,
      ];
      let injected = 0;
      let declined = 0;
      let completed = 0;
      let finished = '';
      for (let run = 0; run < 8; run++) {
        const report = join(dir, `faults-${run}.json`);
        const env = { WEIR_FAULTS: `rate:0.1,seed:${SEEDS[run]},report:${report}` };
        const r = await runWeir(args, env, run < 2 ? { afterCheckpoints: 3, extraMs: 30, fallbackMs: 30_000 } : {}, jobDir);
        if (existsSync(report)) injected += (JSON.parse(readFileSync(report, 'utf8')) as { errors: number }).errors;
        declined += (r.stderr.match(/declined: .*injected failure/g) ?? []).length;
        completed += (r.stderr.match(/"msg":"checkpoint \d+ completed"/g) ?? []).length;
        if (r.signal === 'SIGKILL') continue;
        assert.equal(r.code, 0, r.stderr);
        finished = r.stderr;
        break;
      }
      assert.ok(finished !== '', 'the job never finished');
      assert.ok(injected >= 1, `only ${injected} faults were injected in the runs that were not killed`);
      assert.ok(declined >= 1, 'no checkpoint was declined because of an injected fault');
      // Checkpoints complete despite the faults (counted over every run: when the kills land
      // late, the last run may only take its final checkpoint).
      assert.ok(completed >= 3, `only ${completed} checkpoints completed across the runs`);
      assert.deepEqual(checkCounts(output, expected), []);
      const v = await weirCli(['checkpoints', 'verify', checkpoints, '--job', 'wordcount', '--json']);
      assert.equal(v.code, 0, v.stderr + v.stdout);
      assert.deepEqual((JSON.parse(v.stdout) as { problems: unknown[] }).problems, []);
      // Start once more without faults: recovery deletes leftovers of failed deletes; nothing else changes.
      const again = await runWeir(args, {}, {}, jobDir);
      assert.equal(again.code, 0, again.stderr);
      const g = await weirCli(['checkpoints', 'gc', checkpoints, '--job', 'wordcount', '--dry-run', '--json']);
      assert.deepEqual((JSON.parse(g.stdout) as { orphans: unknown[] }).orphans, []);
      assert.deepEqual(checkCounts(output, expected), []);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

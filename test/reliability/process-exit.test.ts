/**
 * A finished `weir run` process exits: nothing (such as the LSM's shared compaction
 * worker thread) keeps it alive. Found by the crash harness: a run resumed from the
 * last checkpoint of a finished input (restore, final checkpoint, end) printed "job
 * finished" and then hung with a live worker MessagePort.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeInput, rng, runWeir } from '../../scripts/crash-lib.ts';

const root = new URL('../../', import.meta.url).pathname;

test('weir run exits after the job finished, also right after a restore (lsm, worker thread)', { timeout: 480_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-exit-'));
  try {
    const input = join(dir, 'input.txt');
    makeInput(input, 40_000, 4000, rng(12));
    const jobDir = join(dir, 'checkpoints', 'wordcount');
    const args = [
      'run', join(root, 'examples/wordcount.ts'), '--checkpoints', join(dir, 'checkpoints'), '--state-dir', join(dir, 'state'), '--checkpoint-interval', '50ms',
      '--retained', '2', '--parallelism', '2', '--no-progress', '--ui-port', '0', '--state-backend', 'lsm', '--incremental', 'false', '--resume', 'latest',
      '--', '--input', input, '--output', join(dir, 'out'),
    ];
    for (let run = 0; run < 4; run++) {
      // Hung = silent for 60 s (a slow first checkpoint on a busy machine is not); a run that
      // printed "job finished" and then stays alive goes silent, so it is caught.
      const r = await runWeir(args, {}, {}, jobDir, 60_000);
      assert.equal(r.hung, false, `run ${run} did not exit after the job ended:\n${r.stderr.slice(-1500)}`);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /job finished/);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

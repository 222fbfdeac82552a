/**
 * After the final checkpoint (end of input) a job only drains: with 2 worker threads that
 * takes a while, and periodic triggers used to go on every interval, each refused by the
 * job and logged as a failed checkpoint ("participant refused the trigger": 8 in one run
 * of this test before the coordinator paused periodic triggering at release).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeInput, rng } from '../../scripts/crash-lib.ts';

const root = new URL('../../', import.meta.url).pathname;

test('no periodic checkpoint is triggered (and refused) after the final checkpoint while the job drains', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-final-'));
  try {
    const input = join(dir, 'input.txt');
    makeInput(input, 60_000, 5_000, rng(5));
    const args = [
      join(root, 'bin/weir.js'), 'run', join(root, 'examples/wordcount.ts'), '--checkpoints', join(dir, 'cp'), '--state-dir', join(dir, 'state'),
      '--checkpoint-interval', '20ms', '--parallelism', '2', '--no-progress', '--ui-port', '0', '--state-backend', 'heap', '--workers', '2',
      '--', '--input', input, '--output', join(dir, 'out'),
    ];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr.on('data', (d: Buffer) => (log += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, log.slice(-2000));
    const finished = /job finished: (\d+) records in, \d+ out, (\d+) checkpoints/.exec(log);
    assert.ok(finished, `no end-of-job line:\n${log.slice(-2000)}`);
    assert.ok(Number(finished[1]) === 60_000 && Number(finished[2]) >= 1, `nothing to check: ${finished[0]}`);
    assert.match(log, /end of input: taking the final checkpoint/);
    assert.doesNotMatch(log, /refused the trigger/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * `weir run`'s default task slots (issue 12): with neither `--workers` nor the job saying,
 * the subtasks run on one worker thread per core (at most the parallelism) and the main
 * thread keeps the coordinator; a job that cannot run on workers (here: a createBackend
 * function) runs on the main thread and the log says why; `--workers 0` keeps the main
 * thread. Each run's output is checked exactly, and each run's log must show where its
 * subtasks ran — a run that logged neither fails.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkExactCounts, committedLines, tempDir } from '../runtime/helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/weir.js', import.meta.url));
const JOB = fileURLToPath(new URL('../runtime/fixtures/worker-count-job.ts', import.meta.url));
const { dir: work, cleanup } = tempDir('weir-default-workers-');
after(cleanup);
// The fixture's sources trickle until this file exists: here it does from the start.
const RELEASE = join(work, 'release');
writeFileSync(RELEASE, '');

const RECORDS = 3000;
const KEYS = 40;

function weirRun(name: string, flags: string[], jobArgs: string[] = []): Promise<{ code: number; stderr: string; output: string }> {
  const output = join(work, name, 'out');
  const args = [
    BIN, 'run', JOB, '--checkpoints', join(work, name, 'cp'), '--state-dir', join(work, name, 'state'), '--parallelism', '2',
    '--checkpoint-interval', '200ms', '--ui-port', '0', ...flags, '--', '--output', output, '--records', String(RECORDS), '--keys', String(KEYS),
    '--release', RELEASE, '--fast', String(RECORDS), ...jobArgs,
  ];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 300_000, maxBuffer: 64 << 20 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stderr, output });
    });
  });
}

function expected(): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < RECORDS; i++) {
    const k = (i * 7919) % KEYS;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** The worker threads a run's log says it started (`worker N (thread T) started in …`). */
function workersStarted(stderr: string): number {
  return new Set([...stderr.matchAll(/worker (\d+) \(thread \d+\) started in/g)].map((m) => m[1])).size;
}

test('weir run puts the subtasks on one worker per core by default (at most the parallelism)', async () => {
  const r = await weirRun('default', []);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(checkExactCounts(committedLines(r.output), expected()), undefined);
  assert.equal(workersStarted(r.stderr), Math.min(2, availableParallelism()), r.stderr);
  assert.doesNotMatch(r.stderr, /every subtask runs on the main thread/);
});

test('a job that cannot run on workers runs on the main thread by default, and the log says why', async () => {
  const r = await weirRun('custom-backend', [], ['--variant', 'custom-backend']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(checkExactCounts(committedLines(r.output), expected()), undefined);
  assert.match(r.stderr, /every subtask runs on the main thread: a custom createBackend function cannot be sent to worker threads/);
  assert.equal(workersStarted(r.stderr), 0);
});

test('asking for workers explicitly fails such a job with the reason; --workers 0 runs it on the main thread', async () => {
  const asked = await weirRun('custom-backend-asked', ['--workers', '2'], ['--variant', 'custom-backend']);
  assert.notEqual(asked.code, 0);
  assert.match(asked.stderr, /workers: 2 worker threads cannot run this job: a custom createBackend function cannot be sent to worker threads/);
  const main = await weirRun('main-thread', ['--workers', '0']);
  assert.equal(main.code, 0, main.stderr);
  assert.equal(checkExactCounts(committedLines(main.output), expected()), undefined);
  assert.equal(workersStarted(main.stderr), 0);
  assert.doesNotMatch(main.stderr, /every subtask runs on the main thread/);
});

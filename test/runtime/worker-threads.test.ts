/**
 * Subtasks on worker threads (src/runtime/slots/): the job module is loaded in every
 * worker, records cross threads through the cross-thread channels, and the guarantees
 * hold as on one thread:
 *  - a worker thread killed while a checkpoint is in flight fails its subtasks; the job
 *    restarts from the last completed checkpoint with fresh workers and the committed
 *    output is exactly 1..n per key (lsm state);
 *  - a checkpoint taken on 2 workers restores on 3 workers at another parallelism;
 *  - a job module that builds a different graph in a worker fails at start, naming the
 *    operator (and does not restart);
 *  - so does one whose function captures a value that differs in a worker (computed when
 *    the module ran), naming the operator, the function's file:line and the variable;
 *    what every worker rebuilds alike (an empty Map, a table, a class instance) passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StreamEnvironment } from '../../src/index.ts';
import { ConfigError } from '../../src/util/errors.ts';
import type { JobObserver } from '../../src/runtime/job-observer.ts';
import type { JobExecution } from '../../src/runtime/job-execution.ts';
import { checkExactCounts, committedLines, tempDir } from './helpers.ts';
import workerCountJob, { type KeyCount } from './fixtures/worker-count-job.ts';

const jobUrl = pathToFileURL(new URL('./fixtures/worker-count-job.ts', import.meta.url).pathname).href;

function expectedCounts(records: number, keys: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < records; i++) {
    const k = (i * 7919) % keys;
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}

/** Resolves when `pred` holds, polling every 10 ms; fails after `ms`. */
async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

interface Run {
  env: StreamEnvironment;
  execution: () => JobExecution;
  events: { completed: number; inFlight: Set<number> };
}

function setup(dir: string, opts: { workers: number; parallelism: number; resume?: boolean; variant?: string }, records: number, keys: number): Run {
  const args = ['--records', String(records), '--keys', String(keys), '--output', join(dir, 'out'), '--release', join(dir, 'release'), '--fast', '3000'];
  if (opts.variant) args.push('--variant', opts.variant);
  let execution: JobExecution | undefined;
  const events = { completed: 0, inFlight: new Set<number>() };
  const observer: JobObserver = {
    executionCreated: (ex) => (execution = ex as JobExecution),
    checkpointEvent: (e) => {
      if (e.type === 'triggered') events.inFlight.add(e.checkpointId);
      if (e.type === 'completed') {
        events.completed++;
        events.inFlight.delete(e.info.checkpointId);
      }
      if (e.type === 'failed') events.inFlight.delete(e.checkpointId);
    },
  };
  const env = new StreamEnvironment({
    parallelism: opts.parallelism, workers: opts.workers, stateBackend: 'lsm', checkpoints: join(dir, 'cp'), stateDir: join(dir, 'state'),
    checkpointInterval: '100ms', restartStrategy: { kind: 'fixed-delay', attempts: 3, delayMs: 100 }, observer,
    jobModule: { url: jobUrl, args }, ...(opts.resume ? { resume: 'latest' } : {}),
  });
  workerCountJob(env, args);
  return { env, execution: () => execution!, events };
}

test('a worker thread killed mid-checkpoint: the job restarts with fresh workers and the output is exact (lsm)', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDir('weir-workers-');
  try {
    const records = 40_000;
    const keys = 500;
    const run = setup(dir, { workers: 2, parallelism: 2 }, records, keys);
    const handle = await run.env.start('kill-worker');
    await until(() => run.events.completed >= 2, 120_000, 'two completed checkpoints');
    await until(() => run.events.inFlight.size > 0, 60_000, 'a checkpoint in flight');
    const ex = run.execution();
    assert.equal(ex.workers().length, 2, 'two worker threads');
    const killedThread = ex.workers()[1]!.threadId;
    const code = await ex.terminateWorker(1);
    // The sources trickle until the release file exists: the kill landed before the end of input.
    assert.ok(handle.progress().metrics.recordsIn < records, 'killed before the end of input');
    writeFileSync(join(dir, 'release'), '');
    const result = await handle.done;
    assert.equal(code, 1, 'the worker thread was terminated');
    assert.ok(result.metrics.restarts >= 1, 'the job restarted');
    assert.ok(!ex.workers().some((w) => w.threadId === killedThread), 'fresh workers after the restart');
    const lines = committedLines<KeyCount>(join(dir, 'out'));
    assert.ok(lines.length >= records, `committed ${lines.length} records`);
    assert.equal(checkExactCounts(lines, expectedCounts(records, keys)), undefined);
    // Backends on worker threads name their uploads with the run's id (issue 9: one id per run in every object name).
    const shared = readdirSync(join(dir, 'cp', 'kill-worker', 'shared'));
    assert.equal(shared.length, 1, `uploads of one run under one run id, found ${shared.join(', ')}`);
    const chks = readdirSync(join(dir, 'cp', 'kill-worker')).filter((n) => n.startsWith('chk-'));
    assert.ok(chks.length > 0, 'a retained checkpoint');
    const meta = JSON.parse(readFileSync(join(dir, 'cp', 'kill-worker', chks[0]!, '_metadata'), 'utf8')) as { runId?: string };
    assert.equal(shared[0], meta.runId, 'the shared/ folder is the run id recorded in _metadata');
  } finally {
    cleanup();
  }
});

test('a checkpoint taken on 2 workers restores on 3 workers at parallelism 3, exactly once', { timeout: 240_000 }, async () => {
  const { dir, cleanup } = tempDir('weir-workers-');
  try {
    const records = 30_000;
    const keys = 300;
    const first = setup(dir, { workers: 2, parallelism: 2 }, records, keys);
    const h1 = await first.env.start('rescale-workers');
    await until(() => first.events.completed >= 2, 120_000, 'two completed checkpoints');
    assert.ok(h1.progress().metrics.recordsIn < records, 'stopped before the end of input');
    h1.cancel();
    await h1.done;
    writeFileSync(join(dir, 'release'), '');
    const second = setup(dir, { workers: 3, parallelism: 3, resume: true }, records, keys);
    const h2 = await second.env.start('rescale-workers');
    const result = await h2.done;
    assert.ok(result.restoredFrom !== undefined, 'the second run restored a checkpoint');
    const lines = committedLines<KeyCount>(join(dir, 'out'));
    assert.equal(checkExactCounts(lines, expectedCounts(records, keys)), undefined);
  } finally {
    cleanup();
  }
});

test('a job module that builds another graph in a worker fails at start naming the operator, without restarts', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDir('weir-workers-');
  try {
    writeFileSync(join(dir, 'release'), '');
    const run = setup(dir, { workers: 2, parallelism: 2, variant: 'extra' }, 100, 10);
    const handle = await run.env.start('mismatch');
    await assert.rejects(handle.done, (err: unknown) => {
      assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
      assert.match((err as Error).message, /operator \S+: the job module built .* in worker \d/);
      return true;
    });
    assert.equal(handle.progress().metrics.restarts, 0);
  } finally {
    cleanup();
  }
});

test('a function that captures a value computed when the module ran fails at start naming operator, file:line and variable, without restarts', { timeout: 120_000 }, async () => {
  const { dir, cleanup } = tempDir('weir-workers-');
  try {
    writeFileSync(join(dir, 'release'), '');
    const run = setup(dir, { workers: 2, parallelism: 2, variant: 'captured' }, 100, 10);
    const handle = await run.env.start('captured');
    const fixture = new URL('./fixtures/worker-count-job.ts', import.meta.url).pathname;
    const line = readFileSync(fixture, 'utf8').split('\n').findIndex((l) => l.includes("uid('captures-time')")) + 1;
    await assert.rejects(handle.done, (err: unknown) => {
      assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
      const msg = (err as Error).message;
      assert.match(msg, /operator filter \(captures-time\): the function at (\S+):(\d+):\d+ captures `moduleLoadedAt`, which is [\d.]+ on the main thread but [\d.]+ in worker \d/);
      const [, file, l] = /the function at (\S+):(\d+):\d+/.exec(msg)!;
      assert.equal(file, fixture, msg);
      assert.equal(Number(l), line, msg);
      assert.match(msg, /Compute it inside the job/);
      return true;
    });
    assert.equal(handle.progress().metrics.restarts, 0);
  } finally {
    cleanup();
  }
});

/** Runs `variant` of the fixture on 2 workers to its end (nothing trickles) and checks the output is exact. */
async function runExactOnWorkers(variant: string): Promise<void> {
  const { dir, cleanup } = tempDir('weir-workers-');
  try {
    writeFileSync(join(dir, 'release'), '');
    const run = setup(dir, { workers: 2, parallelism: 2, variant }, 2000, 10);
    const handle = await run.env.start(variant);
    await handle.done;
    assert.equal(checkExactCounts(committedLines<KeyCount>(join(dir, 'out')), expectedCounts(2000, 10)), undefined);
  } finally {
    cleanup();
  }
}

test('functions that capture what every worker rebuilds alike (an empty Map, a table, a class instance) run on workers; output exact', { timeout: 120_000 }, () =>
  runExactOnWorkers('shared'));

test('a two-input job (connect) runs on workers while the main thread has an observer: the capture check does not walk into the environment', { timeout: 120_000 }, () =>
  // connect's operators are weir closures that hold the StreamEnvironment; the environment's
  // options on the main thread (this test's observer, capturing `events`) are not the job's
  // state, and a worker has none: walking into them failed the start with a false mismatch.
  runExactOnWorkers('connect'));

test('worker threads need the job as a module', () => {
  const env = new StreamEnvironment({ workers: 2 });
  workerCountJob(env, ['--records', '10', '--keys', '2', '--output', '/nonexistent', '--release', '/nonexistent', '--fast', '1']);
  return assert.rejects(env.start('no-module'), /need the job as a module/);
});

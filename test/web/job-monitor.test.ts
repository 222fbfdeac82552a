/**
 * JobMonitor and attachJobWeb in-process, on bounded jobs that run to the end: the
 * monitor's view after the job finished, metrics that agree with it, logs, a restore
 * (progress reaches the total, restored-from is reported), and observers that throw
 * do not break the job.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CollectSink, GeneratorSource, StreamEnvironment } from '../../src/index.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { attachJobWeb } from '../../src/web/job-web.ts';
import { parsePrometheusText } from './prometheus-text.ts';

const KEYS = 50;

function buildJob(env: StreamEnvironment, count: number): CollectSink<number> {
  const sink = new CollectSink<number>();
  env
    .fromSource(new GeneratorSource({ generate: (i) => i % KEYS, count, splits: 4 }))
    .uid('numbers')
    .keyBy((n) => n)
    .process<number>({
      processElement(n, ctx, out) {
        const c = ctx.getValueState<number>('c');
        const v = (c.value() ?? 0) + 1;
        c.update(v);
        out.collect(v);
      },
    })
    .uid('count')
    .sinkTo(sink)
    .uid('sink');
  return sink;
}

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  let text = '';
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString();
      cb();
    },
  });
  return { stream, lines: () => text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('after a bounded job: status, checkpoints, state view, metrics and logs agree', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-monitor-'));
  try {
    const storage = new MemoryStorage();
    const env = new StreamEnvironment({
      jobName: 'bounded', parallelism: 2, stateBackend: 'lsm', stateDir: dir, checkpoints: storage, checkpointInterval: '20ms', retainedCheckpoints: 2,
    });
    buildJob(env, 20_000);
    const log = capture();
    const web = await attachJobWeb(env, { port: 0, logger: createLogger({ job: 'bounded', pretty: false, destination: log.stream }) });
    assert.equal(web.server, undefined, 'port 0: no server');
    assert.equal(web.monitor.status(), 'INITIALIZING');
    const handle = await env.start();
    const result = await handle.done;
    await web.finish('FINISHED');
    const m = web.monitor;
    assert.equal(m.status(), 'FINISHED');
    assert.equal(m.summary().endTime !== undefined, true);
    const cps = m.checkpoints();
    assert.equal(cps.counts.completed, result.metrics.checkpointsCompleted);
    assert.ok(cps.counts.completed >= 1);
    assert.equal(cps.latest.completed?.id, result.metrics.lastCompletedCheckpointId);
    const state = m.state();
    const count = state.subtasks.filter((s) => s.operatorId === 'count');
    assert.deepEqual(count.map((s) => s.subtaskIndex), [0, 1]);
    for (const s of count) {
      assert.equal(s.backend, 'lsm');
      const last = s.checkpoints.at(-1)!;
      assert.equal(last.checkpointId, cps.latest.completed!.id);
      assert.ok(last.sharedFiles.length > 0);
      assert.ok(last.registryAfter.every((e) => e.key.startsWith(`count-${s.subtaskIndex}-`)));
    }
    const samples = parsePrometheusText(await web.metrics.metrics());
    const completed = samples.find((x) => x.name === 'weir_checkpoints_total' && x.labels['status'] === 'completed');
    assert.equal(completed?.value, cps.counts.completed);
    assert.equal(completed?.labels['job'], 'bounded');
    const logged = log.lines().filter((l) => typeof l['msg'] === 'string' && /^checkpoint \d+ completed$/.test(l['msg']));
    assert.equal(logged.length, cps.counts.completed);
    assert.ok(logged.every((l) => l['job'] === 'bounded' && typeof l['checkpointId'] === 'number'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a resumed job reports its restore: progress up to the total, restored-from, restore time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-monitor-'));
  try {
    const storage = new MemoryStorage();
    const opts = { jobName: 'resumed', parallelism: 2, stateBackend: 'lsm' as const, stateDir: join(dir, 'a'), checkpoints: storage, checkpointInterval: '20ms' };
    const first = new StreamEnvironment(opts);
    buildJob(first, 5_000);
    const r1 = await first.execute();
    const second = new StreamEnvironment({ ...opts, stateDir: join(dir, 'b'), resume: 'latest' });
    const sink = buildJob(second, 5_000);
    const web = await attachJobWeb(second, { port: 0 });
    const progress: [number, number][] = [];
    web.monitor.addListener({ restoreProgress: (d, t) => progress.push([d, t]) });
    await (await second.start()).done;
    await web.finish('FINISHED');
    assert.equal(sink.values.length, 0, 'the restored sources were at the end');
    const restored = web.monitor.checkpoints().latest.restored;
    assert.equal(restored?.checkpointId, r1.metrics.lastCompletedCheckpointId);
    assert.ok(restored!.restoreMillis >= 0);
    assert.ok(progress.length > 0, 'restore progress was reported');
    const [done, total] = progress.at(-1)!;
    assert.ok(total > 0);
    assert.equal(done, total);
    const s = web.monitor.state().subtasks.filter((x) => x.operatorId === 'count');
    assert.deepEqual(s.map((x) => x.restoredFrom), [restored!.checkpointId, restored!.checkpointId]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('observers that throw do not break the job', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-monitor-'));
  try {
    const boom = (): never => {
      throw new Error('observer bug');
    };
    const env = new StreamEnvironment({
      jobName: 'throwing', parallelism: 2, stateBackend: 'lsm', stateDir: dir, checkpoints: new MemoryStorage(), checkpointInterval: '20ms',
      observer: { executionCreated: boom, attemptStarted: boom, coordinatorCreated: boom, checkpointEvent: boom, backendOpened: boom, subtaskAcknowledged: boom },
    });
    const sink = buildJob(env, 3_000);
    const r = await env.execute();
    assert.equal(r.metrics.restarts, 0);
    assert.ok(r.metrics.checkpointsCompleted >= 1);
    assert.equal(sink.values.length, 3_000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the logger redacts secret-looking fields', () => {
  const log = capture();
  const logger = createLogger({ job: 'j', pretty: false, destination: log.stream });
  logger.info({ s3: { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'very-secret' }, password: 'pw' }, 'config');
  const [line] = log.lines();
  assert.equal(line!['job'], 'j');
  assert.deepEqual(line!['s3'], { accessKeyId: '[redacted]', secretAccessKey: '[redacted]' });
  assert.equal(line!['password'], '[redacted]');
});

test('a failed attempt shows RESTARTING until the next one, then the restore and the restart count', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-monitor-'));
  try {
    let thrown = false;
    const log = capture();
    const logger = createLogger({ job: 'restarting', pretty: false, destination: log.stream });
    const env = new StreamEnvironment({
      jobName: 'restarting', parallelism: 1, stateBackend: 'lsm', stateDir: dir, checkpoints: new MemoryStorage(), checkpointInterval: '10ms',
      restartStrategy: { kind: 'fixed-delay', attempts: 2, delayMs: 0 },
      // As `weir run` does: the runtime's lines (the failed attempt's among them) go to the job's logger.
      log: (level, message, fields) => logger[level](fields ?? {}, message),
    });
    const sink = new CollectSink<number>();
    env
      .fromSource(new GeneratorSource({ generate: (i) => i, count: 60_000, splits: 1, ratePerSecond: 40_000 }))
      .uid('numbers')
      .keyBy((n) => n % 10)
      .process<number>({
        processElement(n, ctx, out) {
          const c = ctx.getValueState<number>('c');
          c.update((c.value() ?? 0) + 1);
          // The failure waits for a completed checkpoint, so the second attempt has one to restore.
          if (!thrown && n >= 12_000 && web.monitor.checkpoints().latest.completed !== undefined) {
            thrown = true;
            throw new Error('injected failure');
          }
          out.collect(n);
        },
      })
      .uid('count')
      .sinkTo(sink)
      .uid('sink');
    const web = await attachJobWeb(env, { port: 0, logger });
    const seen: string[] = [];
    web.monitor.addListener({ attemptFailed: () => seen.push(web.monitor.status()) });
    const r = await (await env.start()).done;
    await web.finish('FINISHED');
    assert.equal(r.metrics.restarts, 1);
    assert.deepEqual(seen, ['RESTARTING']);
    assert.equal(web.monitor.details().restarts, 1);
    assert.equal(web.monitor.details().attempt, 1);
    const restored = web.monitor.checkpoints().latest.restored;
    assert.ok(restored && restored.attempt === 1, 'the second attempt restored from a checkpoint');
    const failed = log.lines().find((l) => l['attempt'] === 0 && typeof l['reason'] === 'string');
    assert.match(String(failed?.['reason']), /injected failure/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

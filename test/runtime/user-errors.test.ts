/**
 * Errors in user code (issue 10): a function of the job that throws is reported with the
 * operator, the subtask, the record (cut at 200 characters) and the user's own file and
 * line; the report is logged once, a repeat after a restart is one line, and `weir run`'s
 * final message carries the whole report — on the main thread and with worker threads.
 *
 * Expected lines are found by marker comments in the job source (`// THROWS: …`), so the
 * test does not depend on line numbers staying put.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CollectSink, GeneratorSource, JobFailedError, StreamEnvironment, TumblingEventTimeWindows, UserFunctionError, WatermarkStrategy,
  type KeyedProcessFunction, type Sink,
} from '../../src/index.ts';
import { KeyedProcessFunctionHarness } from '../../src/testing/index.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { attachJobWeb } from '../../src/web/job-web.ts';
import { startWebServer } from '../../src/web/server.ts';
import type { JobException } from '../../src/web/job-monitor.ts';
import { Writable } from 'node:stream';
import { previewRecord } from '../../src/util/record-preview.ts';
import { tempDir } from './helpers.ts';

const BIN = fileURLToPath(new URL('../../bin/weir.js', import.meta.url));
const THIS_FILE = fileURLToPath(import.meta.url);

/** `<file>:<line>` of the line holding `marker` in `file`. */
function lineOf(file: string, marker: string): string {
  const lines = readFileSync(file, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes(marker) && !l.includes('lineOf('));
  assert.ok(i >= 0, `marker ${marker} in ${file}`);
  return `${file}:${i + 1}:`;
}

/** Runs a job in-process (no checkpoints, so no restarts) and returns the user function error it failed with. */
async function failure(build: (env: StreamEnvironment) => void, parallelism = 1): Promise<UserFunctionError> {
  const env = new StreamEnvironment({ parallelism });
  build(env);
  const err = await env.execute('user-errors').then(
    () => assert.fail('the job should have failed'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof JobFailedError, `a JobFailedError, got ${String(err)}`);
  const cause = err.cause;
  assert.ok(cause instanceof UserFunctionError, `caused by a UserFunctionError, got ${String(cause)}`);
  return cause;
}

const numbers = (count = 50): GeneratorSource<{ id: number }> => new GeneratorSource({ count, splits: 4, generate: (i) => ({ id: i }) });

test('a map that throws: operator, subtask, record, the user file:line on top of the stack, the cause kept', async () => {
  const e = await failure((env) => {
    env
      .fromSource(numbers())
      .map((r) => {
        if (r.id === 7) throw new RangeError('seven is not allowed'); // THROWS: map
        return r;
      })
      .name('checker')
      .sinkTo(new CollectSink());
  });
  assert.equal(e.operator, 'checker');
  assert.equal(e.subtask, 0);
  assert.equal(e.parallelism, 1);
  assert.equal(e.fn, 'map function');
  assert.equal(e.record, '{ id: 7 }');
  assert.equal(e.error, 'RangeError: seven is not allowed');
  assert.ok(e.cause instanceof RangeError);
  const where = lineOf(THIS_FILE, 'THROWS: map');
  assert.ok(e.location?.startsWith(where), `location ${e.location} is ${where}…`);
  // The first frame shown is the user's, and no runtime frame is shown below it.
  const frames = e.userStack.split('\n');
  assert.ok(frames[0]!.includes(where), `top frame ${frames[0]}`);
  assert.ok(!e.userStack.includes('/src/runtime/'), e.userStack);
  for (const part of ['RangeError: seven is not allowed', 'map function of operator "checker", subtask 0', `at ${where}`, 'record: { id: 7 }']) {
    assert.ok(e.message.includes(part), `message has ${part}:\n${e.message}`);
  }
});

test('each kind of user function is named: filter, flatMap, key selectors, process function and its timers, windows, timestamps, sinks', async () => {
  const filter = await failure((env) => {
    env.fromSource(numbers()).filter((r) => (r.id === 3 ? JSON.parse('{') : true)).sinkTo(new CollectSink()); // THROWS: filter
  });
  assert.equal(filter.fn, 'filter function');
  assert.equal(filter.record, '{ id: 3 }');
  assert.ok(filter.location?.startsWith(lineOf(THIS_FILE, 'THROWS: filter')), filter.location);

  // A flatMap's collect() runs the next operator: its failure is the map's, not the flatMap's.
  const chained = await failure((env) => {
    env
      .fromSource(numbers())
      .flatMap<number>((r, out) => out.collect(r.id))
      .name('explode')
      .map((n) => {
        if (n === 5) throw new Error('five'); // THROWS: after flatMap
        return n;
      })
      .name('after')
      .sinkTo(new CollectSink());
  });
  assert.equal(chained.operator, 'after');
  assert.equal(chained.record, '5');

  // The keyBy's key selector runs where the records are routed (the producer) with parallelism 2.
  const routing = await failure((env) => {
    env
      .fromSource(numbers())
      .name('numbers')
      .keyBy((r) => {
        if (r.id === 9) throw new Error('no key for nine'); // THROWS: keyBy
        return r.id % 3;
      })
      .reduce((a, b) => ({ id: a.id + b.id }))
      .name('sum')
      .sinkTo(new CollectSink());
  }, 2);
  assert.equal(routing.operator, 'numbers');
  assert.equal(routing.fn, 'key selector of the keyBy into "sum"');
  assert.equal(routing.record, '{ id: 9 }');
  assert.equal(routing.parallelism, 2);
  assert.equal(routing.subtask, 1, 'record 9 is in split 1 of 4, read by subtask 1 of 2');
  assert.ok(routing.location?.startsWith(lineOf(THIS_FILE, 'THROWS: keyBy')), routing.location);

  const processFn: KeyedProcessFunction<number, { id: number }, number> = {
    processElement(r, ctx, out) {
      if (r.id === 11) throw new TypeError('eleven'); // THROWS: process
      ctx.timerService().registerEventTimeTimer(r.id === 20 ? 1_000 : 0);
      out.collect(r.id);
    },
  };
  const processed = await failure((env) => {
    env.fromSource(numbers()).keyBy((r) => r.id % 2).process(processFn).name('proc').sinkTo(new CollectSink());
  });
  assert.equal(processed.fn, 'process function');
  assert.equal(processed.operator, 'proc');
  assert.equal(processed.record, '{ id: 11 }');
  assert.ok(processed.location?.startsWith(lineOf(THIS_FILE, 'THROWS: process')), processed.location);

  const timer = await failure((env) => {
    env
      .fromSource(new GeneratorSource({ count: 30, splits: 1, generate: (i) => ({ id: i }), timestamp: (i) => i }))
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<{ id: number }>())
      .keyBy((r) => r.id % 2)
      .process<number>({
        processElement(r, ctx) {
          ctx.timerService().registerEventTimeTimer(r.id + 100);
        },
        onTimer(ts, ctx) {
          if (ctx.getCurrentKey() === 1) throw new Error(`timer ${ts}`); // THROWS: onTimer
        },
      })
      .name('timers')
      .sinkTo(new CollectSink());
  });
  assert.equal(timer.fn, 'onTimer of the process function');
  assert.match(timer.record ?? '', /^\(event-time timer \d+ of key 1\)$/);
  assert.ok(timer.location?.startsWith(lineOf(THIS_FILE, 'THROWS: onTimer')), timer.location);

  const windowed = (fail: 'reduce' | 'process') => (env: StreamEnvironment): void => {
    const keyed = env
      .fromSource(new GeneratorSource({ count: 40, splits: 1, generate: (i) => ({ id: i }), timestamp: (i) => i }))
      .assignTimestampsAndWatermarks(WatermarkStrategy.forMonotonousTimestamps<{ id: number }>())
      .name('stamps')
      .keyBy((r) => r.id % 2)
      .window(TumblingEventTimeWindows.of(10));
    if (fail === 'reduce') {
      keyed
        .reduce((a, b) => {
          if (b.id === 13) throw new Error('window reduce'); // THROWS: window reduce
          return { id: a.id + b.id };
        })
        .name('win')
        .sinkTo(new CollectSink());
    } else {
      keyed
        .process<number>((key, w, items, out) => {
          if (w.start === 10 && key === 0) throw new Error('window process'); // THROWS: window process
          out.collect(items.length);
        })
        .name('win')
        .sinkTo(new CollectSink());
    }
  };
  const reduced = await failure(windowed('reduce'));
  assert.equal(reduced.fn, 'reduce function of the window');
  assert.equal(reduced.record, '{ id: 13 }');
  assert.ok(reduced.location?.startsWith(lineOf(THIS_FILE, 'THROWS: window reduce')), reduced.location);
  const fired = await failure(windowed('process'));
  assert.equal(fired.fn, 'process function of the window');
  assert.equal(fired.record, '(window [10, 20) of key 0)');
  assert.ok(fired.location?.startsWith(lineOf(THIS_FILE, 'THROWS: window process')), fired.location);

  const stamps = await failure((env) => {
    env
      .fromSource(numbers())
      .assignTimestampsAndWatermarks(
        WatermarkStrategy.forMonotonousTimestamps<{ id: number }>().withTimestampAssigner((r) => {
          if (r.id === 4) throw new Error('no time'); // THROWS: timestamps
          return r.id;
        }),
      )
      .sinkTo(new CollectSink());
  });
  assert.equal(stamps.fn, 'timestamp assigner');
  assert.ok(stamps.location?.startsWith(lineOf(THIS_FILE, 'THROWS: timestamps')), stamps.location);

  const failingSink: Sink<{ id: number }> = {
    name: 'flaky-db',
    createWriter: () => ({
      write(r) {
        if (r.id === 6) throw new Error('connection reset'); // THROWS: sink
      },
    }),
  };
  const sunk = await failure((env) => {
    env.fromSource(numbers()).sinkTo(failingSink);
  });
  assert.equal(sunk.fn, "sink's write()");
  assert.equal(sunk.operator, 'flaky-db');
  assert.equal(sunk.record, '{ id: 6 }');
  assert.ok(sunk.location?.startsWith(lineOf(THIS_FILE, 'THROWS: sink')), sunk.location);
});

test('record previews: cut at 200 characters, and safe for circular, BigInt, Map and throwing getters', () => {
  const long = previewRecord({ text: 'y'.repeat(1000) });
  assert.equal(long.length, 201);
  assert.ok(long.endsWith('…'));
  const circular: Record<string, unknown> = { a: 1 };
  circular['self'] = circular;
  assert.match(previewRecord(circular), /Circular/);
  assert.equal(previewRecord(10n), '10n');
  assert.equal(previewRecord(new Map([['k', 1]])), "Map(1) { 'k' => 1 }");
  const getter = { get boom(): never { throw new Error('getter'); } };
  assert.doesNotThrow(() => previewRecord(getter));
});

test('the test harness rethrows what the function threw (a test asserts on its own error)', async () => {
  class Refused extends Error {}
  const h = await KeyedProcessFunctionHarness.open<string, string, string>(
    {
      processElement(v) {
        if (v === 'no') throw new Refused(v);
      },
    },
    (v) => v,
    { stateBackend: 'heap' },
  );
  try {
    await h.processElement('yes');
    await assert.rejects(h.processElement('no'), Refused);
  } finally {
    await h.close();
  }
});

test('REST /api/jobs/:job/exceptions: each failed attempt with operator, subtask, record and location, newest first', async () => {
  const env = new StreamEnvironment({ jobName: 'rest-errors', parallelism: 1, restartStrategy: { kind: 'fixed-delay', attempts: 1, delayMs: 0 } });
  env
    .fromSource(numbers())
    .map((r) => {
      if (r.id === 5) throw new Error('five'); // THROWS: rest
      return r;
    })
    .name('m')
    .sinkTo(new CollectSink());
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const web = await attachJobWeb(env, { port: 0, logger: createLogger({ job: 'rest-errors', pretty: false, destination: quiet }) });
  const server = await startWebServer({ monitor: web.monitor, metrics: web.metrics, port: 0 });
  try {
    const handle = await env.start();
    await assert.rejects(handle.done, JobFailedError);
    const res = await fetch(`${server.url}/api/jobs/rest-errors/exceptions`);
    assert.equal(res.status, 200);
    const { exceptions } = (await res.json()) as { exceptions: JobException[] };
    assert.deepEqual(exceptions.map((e) => [e.attempt, e.restarting]), [[1, false], [0, true]]);
    const where = lineOf(THIS_FILE, 'THROWS: rest');
    for (const e of exceptions) {
      assert.equal(e.failure?.operator, 'm');
      assert.equal(e.failure.subtask, 0);
      assert.equal(e.failure.fn, 'map function');
      assert.equal(e.failure.record, '{ id: 5 }');
      assert.ok(e.failure.location?.startsWith(where), e.failure.location);
      assert.match(e.reason, /Error: five/);
    }
  } finally {
    await server.close();
    await web.finish('FAILED');
  }
});

// ---- `weir run`: what the user sees on stderr ----

const JOB = `import { GeneratorSource, PrintSink, type StreamEnvironment } from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL('../../src/index.ts', import.meta.url))).href)};

export default function job(env: StreamEnvironment): void {
  env
    .fromSource(new GeneratorSource({ count: 100, splits: 4, generate: (i) => ({ id: i, text: 'x'.repeat(i === 42 ? 500 : 3) }) }))
    .map((r) => {
      if (r.id === 42) throw new Error('bad record ' + r.id); // THROWS: job
      return r.id;
    })
    .name('explode')
    .sinkTo(new PrintSink((n) => String(n), process.stderr));
}
`;

function weirRun(cwd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'run', ...args], { cwd, timeout: 90_000 }, (err, _stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stderr });
    });
  });
}

async function checkCli(workers: number, restarts: number): Promise<void> {
  const { dir, cleanup } = tempDir('weir-user-errors-');
  try {
    writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
    const job = join(dir, 'failing-job.ts');
    writeFileSync(job, JOB);
    const where = lineOf(job, 'THROWS: job');
    const r = await weirRun(dir, [
      'failing-job.ts', '--checkpoints', join(dir, 'cp'), '--checkpoint-interval', '0', '--ui-port', '0', '--no-progress',
      '--restart-attempts', String(restarts), '--parallelism', '2', '--workers', String(workers),
    ]);
    assert.equal(r.code, 1, r.stderr);
    const finalAt = r.stderr.indexOf('weir: job failing-job failed');
    assert.ok(finalAt >= 0, `final message in:\n${r.stderr}`);
    const log = r.stderr.slice(0, finalAt).split('\n');
    const final = r.stderr.slice(finalAt);
    // Record 42 is in split 42 % 4 = 2, which subtask 2 % 2 = 0 reads.
    const record = `record: { id: 42, text: '${'x'.repeat(150)}`;
    for (const part of ['Error: bad record 42', 'map function of operator "explode", subtask 0 (parallelism 2)', `at ${where}`, record, '…']) {
      assert.ok(final.includes(part), `final message has ${part}:\n${final}`);
    }
    assert.ok(final.length < 1000, `the record is cut (final message of ${final.length} characters)`);
    // The full report once (the first failure), then one short line per repeat.
    const reports = log.filter((l) => l.includes('record: { id: 42'));
    assert.equal(reports.length, 1, `one full report in the log:\n${log.join('\n')}`);
    assert.ok(reports[0]!.includes(`(${where}`), `the report's stack shows the user's frame: ${reports[0]}`);
    const repeats = log.filter((l) => l.includes('same failure as before'));
    assert.equal(repeats.length, restarts, `a short line per repeat:\n${log.join('\n')}`);
    for (const l of repeats) assert.ok(l.includes('explode') && l.includes(`subtask 0 at ${where}`) && !l.includes('record:'), l);
  } finally {
    cleanup();
  }
}

test('weir run: the failing record and file:line in the log once and in the final message; repeats in one line', async () => {
  await checkCli(0, 2);
});

test('weir run --workers 2: the same report from a worker thread', async () => {
  await checkCli(2, 1);
});

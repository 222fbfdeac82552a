/**
 * Runs a job-level ownership trace (testdata/ownership-*.trace): several RUNS of one job
 * (each a StreamEnvironment start, as `weir run` makes one) on one checkpoint directory,
 * and what each run may keep, delete, restore and number. Where seed-trace-runner.ts
 * drives one coordinator with a synthetic subtask, this one drives the whole public path
 * (StreamEnvironment → runtime → coordinator → state backend → local directory), so a
 * trace shows what a user would see.
 *
 * The job: a generator of `input` records (position in operator state, so a resumed run
 * continues where its checkpoint was), key = i % 7, a keyed count (ValueState), a sink
 * that keeps the last count per key. Any correct restore gives the same final counts as
 * one uninterrupted run over [0, input): that is what `counts` checks.
 *
 * Steps:
 *   run NAME [input=N] [resume=latest|N|chk-N] [fresh] [retained=K] [interval=MS] [fail-once]
 *                           run to the end (interval 0 by default: one final checkpoint);
 *                           fail-once throws in a user function once, after a checkpoint completed
 *                           (the job restarts in-process from it)
 *   start NAME …            like run, but the source holds after half its input until `release NAME`
 *   release NAME            let it finish;  await NAME  wait for its end
 *   corrupt N               flip one byte in a file checkpoint N references (verification fails)
 * Expectations:
 *   outcome NAME ok | refused WORDS… | failed WORDS…    (WORDS: a substring of the error)
 *   oneline NAME            the refusal is one line
 *   restored NAME N|none    the checkpoint the run started from
 *   counts NAME             final counts exact for [0, input)
 *   checkpoints IDS…        exactly these chk-N/_metadata exist
 *   intact IDS…|latest      these checkpoints verify (every file present, sizes and CRCs)
 *   ids NAME                the ids this run triggered strictly increase (no id twice, none reused across attempts)
 *   ids-above NAME OTHER    every id NAME triggered is above every id OTHER triggered
 *   completed NAME IDS…     exactly these checkpoints completed in the run (in order)
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamEnvironment, GeneratorSource, type JobHandle, type Sink, type Source } from '../../../src/index.ts';
import { LocalStorage } from '../../../src/storage/local-storage.ts';
import { scanJob } from '../../../src/checkpoint/job-scan.ts';
import { verifyCheckpoint } from '../../../src/checkpoint/inspection.ts';
import type { CheckpointEvent } from '../../../src/checkpoint/coordinator.ts';
import { errorMessage } from '../../../src/util/errors.ts';
import { trickleAfter } from '../../runtime/helpers.ts';
import { parseTrace } from './seed-trace-runner.ts';

interface Count {
  key: number;
  count: number;
}

interface RunState {
  readonly name: string;
  readonly input: number;
  readonly counts: Map<number, number>;
  readonly triggered: number[];
  readonly completed: number[];
  restored: number | undefined | 'unknown';
  outcome: 'running' | 'ok' | 'failed';
  error: string | undefined;
  done: Promise<void>;
  released: boolean;
}

function expectedCounts(input: number): Map<number, number> {
  const m = new Map<number, number>();
  for (let i = 0; i < input; i++) m.set(i % 7, (m.get(i % 7) ?? 0) + 1);
  return m;
}

export async function runJobTrace(text: string): Promise<void> {
  const { config, steps } = parseTrace(text);
  const job = config['job'] ?? 'job';
  const backend = (config['backend'] ?? 'lsm') as 'lsm' | 'heap';
  const dir = mkdtempSync(join(tmpdir(), 'weir-job-trace-'));
  const root = join(dir, 'cp');
  const runs = new Map<string, RunState>();
  const get = (at: string, name: string | undefined): RunState => {
    const r = runs.get(name ?? '');
    assert.ok(r, `${at}: no run ${name}`);
    return r;
  };
  try {
    for (const step of steps) {
      const at = `trace line ${step.line} (${step.op} ${step.args.join(' ')})`;
      const [first, ...rest] = step.args;
      switch (step.op) {
        case 'run':
        case 'start': {
          const r = startRun(first!, rest, { job, backend, root, stateDir: join(dir, 'state', first!), hold: step.op === 'start' });
          runs.set(first!, r);
          if (step.op === 'run') await r.done;
          else await waitUntil(at, () => r.outcome !== 'running' || r.triggered.length > 0 || r.counts.size > 0);
          break;
        }
        case 'release':
          get(at, first).released = true;
          break;
        case 'await':
          await get(at, first).done;
          break;
        case 'corrupt': {
          const storage = new LocalStorage({ root });
          const scan = await scanJob(storage, job);
          const m = scan.metadata.find((c) => c.checkpointId === Number(first));
          assert.ok(m, `${at}: no checkpoint ${first}`);
          const keyed = m.subtasks.find((s) => s.keyed !== undefined)?.keyed;
          assert.ok(keyed, `${at}: checkpoint ${first} has no keyed state`);
          const f = keyed.privateFiles[0]!;
          const file = join(root, ...f.path.split('/'));
          const bytes = readFileSync(file);
          const mid = bytes.length >> 1;
          bytes[mid] = bytes[mid]! ^ 0x5a;
          writeFileSync(file, bytes);
          await storage.close();
          break;
        }
        case 'outcome': {
          const r = get(at, first);
          const [want, ...words] = rest;
          if (want === 'ok') assert.equal(r.outcome, 'ok', `${at}: run failed: ${r.error}`);
          else {
            assert.equal(r.outcome, 'failed', `${at}: the run should not have started or finished`);
            const phrase = words.join(' ');
            if (want === 'refused') assert.equal(r.restored, 'unknown', `${at}: refused runs must not start (${r.error})`);
            assert.ok(r.error?.includes(phrase), `${at}: error does not say "${phrase}": ${r.error}`);
          }
          break;
        }
        case 'oneline': {
          const r = get(at, first);
          assert.ok(r.error !== undefined && !r.error.includes('\n'), `${at}: not one line: ${r.error}`);
          break;
        }
        case 'restored': {
          const r = get(at, first);
          assert.equal(r.restored, rest[0] === 'none' ? undefined : Number(rest[0]), at);
          break;
        }
        case 'counts': {
          const r = get(at, first);
          assert.deepEqual([...r.counts].sort((a, b) => a[0] - b[0]), [...expectedCounts(r.input)].sort((a, b) => a[0] - b[0]), at);
          break;
        }
        case 'checkpoints': {
          const storage = new LocalStorage({ root });
          const ids = (await storage.list(`${job}/`))
            .map((o) => /^[^/]+\/chk-(\d+)\/_metadata$/.exec(o.path)?.[1])
            .filter((x): x is string => x !== undefined)
            .sort((a, b) => Number(a) - Number(b));
          await storage.close();
          assert.deepEqual(ids, step.args, at);
          break;
        }
        case 'intact': {
          const storage = new LocalStorage({ root });
          const scan = await scanJob(storage, job);
          for (const id of step.args) {
            const m = id === 'latest' ? scan.metadata.at(-1) : scan.metadata.find((c) => c.checkpointId === Number(id));
            assert.ok(m, `${at}: checkpoint ${id} missing`);
            const { problems } = await verifyCheckpoint(storage, m);
            assert.deepEqual(problems, [], `${at}: checkpoint ${id} does not verify`);
          }
          await storage.close();
          break;
        }
        case 'ids': {
          const r = get(at, first);
          assert.ok(r.triggered.length > 0, `${at}: the run triggered no checkpoint`);
          for (let i = 1; i < r.triggered.length; i++) {
            assert.ok(r.triggered[i]! > r.triggered[i - 1]!, `${at}: ids ${r.triggered.join(', ')} do not strictly increase`);
          }
          break;
        }
        case 'ids-above': {
          const r = get(at, first);
          const other = get(at, rest[0]);
          assert.ok(r.triggered.length > 0 && other.triggered.length > 0, `${at}: nothing to compare`);
          assert.ok(Math.min(...r.triggered) > Math.max(...other.triggered), `${at}: ${r.name} used ${r.triggered.join(', ')}, ${other.name} used ${other.triggered.join(', ')}`);
          break;
        }
        case 'completed': {
          const r = get(at, first);
          assert.deepEqual(r.completed.map(String), rest, at);
          break;
        }
        default:
          throw new Error(`${at}: unknown step`);
      }
    }
    for (const r of runs.values()) {
      r.released = true;
      await r.done;
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function startRun(
  name: string,
  args: readonly string[],
  o: { job: string; backend: 'lsm' | 'heap'; root: string; stateDir: string; hold: boolean },
): RunState {
  const opt = new Map<string, string>();
  for (const a of args) {
    const eq = a.indexOf('=');
    opt.set(eq < 0 ? a : a.slice(0, eq), eq < 0 ? 'true' : a.slice(eq + 1));
  }
  const input = Number(opt.get('input') ?? '300');
  const resume = opt.get('resume');
  const r: RunState = {
    name, input, counts: new Map(), triggered: [], completed: [], restored: 'unknown', outcome: 'running', error: undefined,
    done: Promise.resolve(), released: !o.hold,
  };
  const failOnce = opt.has('fail-once');
  let thrown = false;
  const box: { handle?: JobHandle } = {};
  const env = new StreamEnvironment({
    checkpoints: o.root,
    stateDir: o.stateDir,
    stateBackend: o.backend,
    checkpointInterval: Number(opt.get('interval') ?? (failOnce || o.hold ? '20' : '0')),
    ...(opt.has('retained') ? { retainedCheckpoints: Number(opt.get('retained')) } : {}),
    ...(resume !== undefined ? { resume: /^\d+$/.test(resume) ? Number(resume) : resume } : {}),
    ...(opt.has('fresh') ? { fresh: true } : {}),
    restartStrategy: failOnce ? { kind: 'fixed-delay', attempts: 2, delayMs: 10 } : { kind: 'none' },
    observer: {
      attemptStarted: (index: number, restoreFrom: { checkpointId: number } | undefined) => {
        if (index === 0) r.restored = restoreFrom?.checkpointId;
      },
      checkpointEvent: (e: CheckpointEvent) => {
        if (e.type === 'triggered') r.triggered.push(e.checkpointId);
        if (e.type === 'completed') r.completed.push(e.info.checkpointId);
      },
    },
  });
  const gen = new GeneratorSource({ generate: (i) => i, count: input, splits: 4 });
  // Holding or failing runs trickle after half their input (so periodic checkpoints complete before the end).
  const source: Source<number> = o.hold || failOnce ? trickleAfter(gen, input / 2, () => r.released && (!failOnce || thrown)) : gen;
  const sink: Sink<Count> = {
    name: 'last-count',
    createWriter: () => ({
      write: (v: Count) => {
        r.counts.set(v.key, v.count);
      },
    }),
  };
  env
    .fromSource(source)
    .map((i) => {
      // once a checkpoint completed AND a newer one is in flight (its id must not come back after the restart)
      if (failOnce && !thrown && r.completed.length > 0 && r.triggered.at(-1)! > r.completed.at(-1)!) {
        thrown = true;
        throw new Error(`fail-once at record ${i}`);
      }
      return i % 7;
    })
    .keyBy((k) => k)
    .process<Count>({
      processElement(key, ctx, out) {
        const s = ctx.getValueState<number>('n');
        const c = (s.value() ?? 0) + 1;
        s.update(c);
        out.collect({ key, count: c });
      },
    })
    .sinkTo(sink);
  r.done = (async () => {
    try {
      box.handle = await env.start(o.job);
      await box.handle.done;
      r.outcome = 'ok';
    } catch (err) {
      r.outcome = 'failed';
      r.error = errorMessage(err);
    }
  })();
  return r;
}

async function waitUntil(at: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`${at}: timed out`);
    await new Promise((res) => setTimeout(res, 10));
  }
}

/** Lists the files of a directory tree (for debugging a failing trace). */
export function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

/**
 * `weir run <job.ts> [options] [-- job arguments]`: loads a job module (.ts/.mts/.js/.mjs,
 * runtime/job-loader.ts; worker threads load it the same way), lets its default export build the graph on a StreamEnvironment
 * configured from the flags, runs it, and shows progress on stderr (a line that updates
 * in place on a terminal; a line every few seconds otherwise).
 *
 * A job module:  export default function (env: StreamEnvironment, args: string[]) { … }
 */
import { availableParallelism } from 'node:os';
import { basename, extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import type { JobProgress, StreamEnvironment, StreamEnvironmentOptions } from '../api/index.ts';
import { ConfigError, errorMessage } from '../util/errors.ts';
import { parseSize } from '../api/memory-budget.ts';
import { formatBytes } from './format.ts';
import type { CliIo } from './io.ts';

/** The logger's stream: stderr through CliIo, clearing the progress line first. */
function logStream(io: CliIo, clearLine: () => void): NodeJS.WritableStream {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      clearLine();
      io.err(chunk.toString());
      done();
    },
  });
}

interface RunFlags {
  checkpoints: string;
  stateDir?: string;
  stateBackend?: string;
  memory?: string;
  checkpointInterval?: string;
  checkpointTimeout?: string;
  incremental?: string;
  retained?: string;
  parallelism?: string;
  maxParallelism?: string;
  resume?: string;
  fresh?: boolean;
  jobName?: string;
  restartAttempts?: string;
  workers?: string;
  slots?: string;
  progress: boolean;
  uiPort: string;
  uiHost: string;
}

export type JobMain = (env: StreamEnvironment, args: string[]) => void | Promise<void>;

export function registerRunCommand(program: Command, io: CliIo): void {
  program
    .command('run')
    .description('run a job file (its default export builds the graph)')
    .argument('<job>', 'job module, e.g. examples/wordcount.ts')
    .argument('[args...]', 'job arguments (after --)')
    .option('--checkpoints <location>', 'checkpoint storage: a directory or s3://bucket/prefix', './weir-data')
    .option('--state-dir <dir>', 'local working directory of the state backends (default: a temp directory)')
    .option('--state-backend <kind>', 'lsm (default) | heap')
    .option('--memory <size>', 'memory the lsm state may use in this process, shared by the keyed subtasks (e.g. 256m, 1g); default: 64 MiB memtables + 64 MiB block cache per keyed subtask')
    .option('--checkpoint-interval <duration>', 'e.g. 10s, 500ms; 0 = only the final checkpoint')
    .option('--checkpoint-timeout <duration>', 'abort a checkpoint after this long')
    .option('--incremental <bool>', 'incremental checkpoints (lsm): true | false')
    .option('--retained <n>', 'completed checkpoints to keep')
    .option('--parallelism <n>', 'default parallelism of every operator')
    .option('--max-parallelism <n>', 'number of key groups (fixed for the life of the state)')
    .option('--resume <checkpoint>', '"latest", or a checkpoint path/id (chk-N)')
    .option('--fresh', 'start with empty state although the job has checkpoints (they are kept)')
    .option('--job-name <name>', 'job directory in checkpoint storage (default: the file name)')
    .option('--restart-attempts <n>', 'restarts after a failure (fixed delay 1s)')
    .option('--workers <n>', 'worker threads (task slots) for the subtasks, at most the parallelism; 0 = all on the main thread (default: one per core)')
    .option('--slots <n>', 'same as --workers')
    .option('--no-progress', 'no progress line')
    .option('--ui-port <port>', 'port of the dashboard, REST API and /metrics; 0 = off', '8081')
    .option('--ui-host <host>', 'bind address of the dashboard', '127.0.0.1')
    .action(async (job: string, args: string[], flags: RunFlags) => {
      await runJob(job, args, flags, io);
    });
}

function int(value: string | undefined, what: string, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`--${what}: expected an integer >= ${min}, got "${value}"`);
  return n;
}

function bool(value: string | undefined, what: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new ConfigError(`--${what}: expected true or false, got "${value}"`);
}

export function flagsToOptions(job: string, flags: RunFlags): StreamEnvironmentOptions {
  const backend = flags.stateBackend;
  if (backend !== undefined && backend !== 'lsm' && backend !== 'heap') throw new ConfigError(`--state-backend: expected lsm or heap, got "${backend}"`);
  const attempts = int(flags.restartAttempts, 'restart-attempts', 0);
  const o: Record<string, unknown> = {
    jobName: flags.jobName ?? basename(job, extname(job)).replace(/[^A-Za-z0-9._-]/g, '-'),
    checkpoints: flags.checkpoints,
    stateDir: flags.stateDir,
    stateBackend: backend,
    stateMemory: flags.memory === undefined ? undefined : parseSize(flags.memory, '--memory'),
    checkpointInterval: flags.checkpointInterval,
    checkpointTimeout: flags.checkpointTimeout,
    incremental: bool(flags.incremental, 'incremental'),
    retainedCheckpoints: int(flags.retained, 'retained', 1),
    parallelism: int(flags.parallelism, 'parallelism', 1),
    maxParallelism: int(flags.maxParallelism, 'max-parallelism', 1),
    resume: flags.resume,
    workers: int(flags.workers ?? flags.slots, flags.workers !== undefined ? 'workers' : 'slots', 0),
    fresh: flags.fresh === true ? true : undefined,
    restartStrategy: attempts === undefined ? undefined : attempts === 0 ? { kind: 'none' } : { kind: 'fixed-delay', attempts, delayMs: 1000 },
  };
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

async function runJob(job: string, args: string[], flags: RunFlags, io: CliIo): Promise<void> {
  // Imported here, not at the top: `weir --help` and `weir checkpoints` load none of it.
  const [{ loadJobModule }, { StreamEnvironment }, { createLogger }, { attachJobWeb }, { followLauncher }] = await Promise.all([
    import('../runtime/job-loader.ts'), import('../api/index.ts'), import('../runtime/logger.ts'), import('../web/job-web.ts'), import('./launcher-signals.ts'),
  ]);
  const file = resolve(job);
  const main = await loadJobModule<JobMain>(file);
  const tty = process.stderr.isTTY === true && flags.progress;
  let lineShown = false;
  function clearLine(): void {
    if (lineShown) {
      io.err('\r\x1b[2K');
      lineShown = false;
    }
  }
  const logger = createLogger({ job: String(flagsToOptions(job, flags).jobName), pretty: process.stderr.isTTY === true, destination: logStream(io, clearLine) });
  const log = (level: 'info' | 'warn' | 'error', message: string, fields?: Readonly<Record<string, unknown>>): void => {
    if (fields) logger[level](fields, message);
    else logger[level](message);
  };
  const env = new StreamEnvironment({ log });
  await main(env, args);
  // Flags win over what the job set (e.g. a different --parallelism on resume).
  env.configure(flagsToOptions(job, flags));
  env.configure({ jobModule: { url: pathToFileURL(file).href, args } });
  if (env.getOptions().workers === undefined) {
    // Neither the flag nor the job chose: one worker per core (at most the parallelism),
    // unless the job cannot run on workers — then on the main thread, saying why.
    const obstacle = env.workerObstacle();
    if (obstacle === undefined) env.configure({ workers: defaultWorkers() });
    else log('info', `every subtask runs on the main thread: ${obstacle}`);
  }
  if (env.isStarted) return; // the job ran itself
  const web = await attachJobWeb(env, { port: int(flags.uiPort, 'ui-port', 0) ?? 8081, host: flags.uiHost, logger, progressStream: process.stderr });
  const handle = await env.start().catch(async (err: unknown) => {
    await web.finish('FAILED', errorMessage(err)); // else the open server keeps the process alive
    throw err;
  });
  let last = { at: performance.now(), in: 0, out: 0 };
  const show = (final: boolean): void => {
    const p = handle.progress();
    const now = performance.now();
    const secs = Math.max(0.001, (now - last.at) / 1000);
    const line = progressLine(p, (p.metrics.recordsIn - last.in) / secs, (p.metrics.recordsOut - last.out) / secs, env.getOptions().stateBackend ?? 'lsm');
    last = { at: now, in: p.metrics.recordsIn, out: p.metrics.recordsOut };
    if (tty && !final) {
      io.err(`\r\x1b[2K${line}`);
      lineShown = true;
    } else {
      clearLine();
      io.err(`${line}\n`);
    }
  };
  const timer = flags.progress ? setInterval(() => show(false), tty ? 1000 : 5000) : undefined;
  const stop = (): void => {
    log('info', 'stopping (the next run can --resume latest)');
    web.monitor.end('CANCELED');
    handle.cancel();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  // npx / npm run put a shell between npm and node that does not pass SIGTERM on.
  const launcher = followLauncher((why) => {
    log('warn', `${why}: stopping as on SIGTERM`);
    process.off('SIGTERM', stop);
    process.off('SIGINT', stop);
    stop();
  });
  try {
    const result = await handle.done;
    if (flags.progress) show(true);
    const m = result.metrics;
    io.err(`job finished: ${m.recordsIn} records in, ${m.recordsOut} out, ${m.checkpointsCompleted} checkpoints, ${m.restarts} restarts\n`);
    await web.finish(web.monitor.status() === 'CANCELED' ? 'CANCELED' : 'FINISHED');
  } catch (err) {
    clearLine();
    await web.finish('FAILED', errorMessage(err));
    throw new Error(errorMessage(err), { cause: err });
  } finally {
    if (timer) clearInterval(timer);
    launcher.stop();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

/**
 * Worker threads (task slots) when neither the flag nor the job says: one per core, as
 * Flink gives a TaskManager one slot per core. The placement uses at most the job's
 * largest parallelism of them, so a job at parallelism 1 runs on one worker and the main
 * thread keeps the checkpoint coordinator, the REST API and the dashboard to itself.
 * Measured on an idle 2-core machine (docs/runtime.md), the keyed count at parallelism 2
 * runs 1.5-1.7x (heap) and 1.7-1.9x (lsm) faster on 2 workers than on 1, the demo 1.7x.
 */
function defaultWorkers(): number {
  return availableParallelism();
}

/** The progress line; it ends with the state backend the job runs (`state lsm`). */
export function progressLine(p: JobProgress, inRate: number, outRate: number, backend = 'lsm'): string {
  const m = p.metrics;
  const cp = p.lastCheckpoint;
  const last = cp
    ? `last #${cp.checkpointId}: ${formatBytes(cp.checkpointedSize)} uploaded of ${formatBytes(cp.fullSize)}, ${Math.round(cp.durationMillis)} ms`
    : 'none yet';
  return `in ${rate(inRate)}/s out ${rate(outRate)}/s | records ${m.recordsIn} | checkpoints ${m.checkpointsCompleted} (${last})${m.restarts ? ` | restarts ${m.restarts}` : ''} | state ${backend}`;
}

function rate(r: number): string {
  if (r >= 1e6) return `${(r / 1e6).toFixed(2)}M`;
  if (r >= 1e3) return `${(r / 1e3).toFixed(1)}k`;
  return `${Math.round(r)}`;
}

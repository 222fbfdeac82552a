/**
 * The main thread's side of the worker threads of one attempt: spawns the workers
 * (fresh ones for every attempt, so a restart never reuses a thread that failed),
 * connects every pair with a MessageChannel for their cross-thread channels, and
 * represents each subtask running on a worker by a `WorkerTask` proxy, so JobExecution,
 * the checkpoint coordinator and the observers deal with TaskHandles wherever the
 * subtask runs.
 *
 * Failure: a task that fails on a worker rejects its proxy's `run()`; a worker that
 * throws outside a task or dies (uncaught error, out of memory, terminate()) rejects the
 * proxies of every subtask it ran, and JobExecution restarts the job from the last
 * completed checkpoint. `shutdown()` (end of the attempt) asks every worker to cancel
 * its tasks and close its backends, waits a bounded time, then terminates the thread.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MessageChannel, Worker, type MessagePort, type WorkerOptions } from 'node:worker_threads';
import { ConfigError, UserFunctionError } from '../../util/errors.ts';
import type { CheckpointMetadata, SubtaskCheckpointMetrics, SubtaskState } from '../../checkpoint/types.ts';
import type { Barrier } from '../elements.ts';
import { partitionProgress, type PartitionProgress } from '../partition-progress.ts';
import type { ChainPlan, ExecutionPlan } from '../execution-plan.ts';
import { taskKey } from './channel-layout.ts';
import { placeSubtasks } from './placement.ts';
import { BackendMirror } from './backend-mirror.ts';
import { capturedValues } from './captured-values.ts';
import type { LinkStats } from './remote-channel.ts';
import type { TaskHandle, TaskStats } from './task-handle.ts';
import { graphSignature, type FromWorker, type ToWorker, type WorkerError, type WorkerInit, type WorkerSetup } from './worker-protocol.ts';
import { ioThreadPort } from '../../storage/io-thread.ts';

/** What the job hears from the subtasks on workers. */
export interface WorkerPoolEvents {
  acknowledge(task: TaskHandle, checkpointId: number, states: SubtaskState[], metrics: SubtaskCheckpointMetrics): void;
  decline(task: TaskHandle, checkpointId: number, reason: string): void;
  sourceFinished(task: TaskHandle): void;
  restoreProgress(operatorId: string, subtaskIndex: number, done: number, total: number): void;
  backendOpened(info: { operatorId: string; subtaskIndex: number; localDir: string; restoredFrom: number | undefined; openMillis: number; backend: BackendMirror }): void;
  /** Job-wide counters measured on a worker since its previous report. */
  metrics(recordsIn: number, recordsOut: number): void;
  /** A worker is running its subtasks: how long its start took (spawn to ready, and its phases). */
  workerStarted(info: WorkerStarted): void;
}

/** A worker's start, in ms since the main thread spawned it (WorkerPoolEvents.workerStarted, WorkerInfo.start). */
export interface WorkerStarted {
  readonly index: number;
  readonly threadId: number;
  /** The worker's program and the runtime it imports were loaded. */
  readonly runtimeMillis: number;
  /** The job module was loaded and the graph built. */
  readonly jobMillis: number;
  /** The worker runs its subtasks. */
  readonly readyMillis: number;
  /** Modules the worker loaded through tsx's hooks (WorkerStartReport.loaderModules). */
  readonly loaderModules: number | undefined;
}

export interface WorkerPoolOptions {
  readonly setup: WorkerSetup;
  readonly plan: ExecutionPlan;
  readonly attempt: number;
  readonly restore: CheckpointMetadata | undefined;
  readonly jobPath: string;
  readonly stateDir: string;
  readonly runId: string | undefined;
  readonly checkpointingEnabled: boolean;
  readonly channelCapacity: number;
  readonly batchSize: number;
  /** Checkpoint storage is a local directory: each worker gets a port into this thread's storage I/O thread (src/storage/io-thread.ts). */
  readonly localStorage: boolean;
}

/** One worker as the REST API and dashboard show it. */
export interface WorkerInfo {
  readonly index: number;
  readonly threadId: number;
  readonly alive: boolean;
  readonly subtasks: readonly string[];
  /** Share of the time the worker's event loop was busy (its CPU use, 0..1): since it started, and over the last report. */
  readonly busy: number;
  readonly busyRecent: number;
  /** Records and bytes this worker sent to other workers. */
  readonly recordsSent: number;
  readonly bytesSent: number;
  readonly batchesSent: number;
  /** How the worker's start went; undefined until it is running. */
  readonly start: WorkerStarted | undefined;
}

const STATS_INTERVAL_MS = 250;
const SHUTDOWN_WAIT_MS = 10_000;

/** The worker's program: worker-entry.ts next to this file (worker-entry.js in a build). */
function entryUrl(): URL {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return new URL(`./worker-entry${ext}`, import.meta.url);
}

/**
 * Starts the worker's program. TypeScript sources (no build) need tsx's loader in the
 * worker too: on Node 20 a loader registered in code (bin/weir.js) or given with
 * --import is not applied to worker threads, so a tiny script registers it first. Node
 * does not run the process's `--import` preloads in such an eval'd worker either (it does
 * for a worker started from a file, as from the built package), so the script imports
 * them first, as Node would: instrumentation or import hooks given to `node --import …`
 * then apply to the subtasks on workers too.
 */
function spawn(entry: URL, options: WorkerOptions): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  const api = JSON.stringify(import.meta.resolve('tsx/esm/api'));
  const preloads = JSON.stringify(importPreloads(process.execArgv));
  const script = `(async () => { for (const p of ${preloads}) await import(p); })()`
    + `.then(() => import(${api})).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(script, { ...options, eval: true });
}

/**
 * The modules of `--import X` / `--import=X` in execArgv, as URLs (a path from the
 * working directory, as Node resolves them), without tsx (registered by the script).
 */
function importPreloads(execArgv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < execArgv.length; i++) {
    const a = execArgv[i]!;
    const spec = a === '--import' ? execArgv[++i] : a.startsWith('--import=') ? a.slice('--import='.length) : undefined;
    if (spec === undefined || spec === 'tsx' || spec.startsWith('tsx/')) continue;
    out.push(/^\.{0,2}\//.test(spec) ? pathToFileURL(resolve(spec)).href : spec);
  }
  return out;
}

export class WorkerTask implements TaskHandle {
  readonly name: string;
  private last: TaskStats = { recordsIn: 0, recordsOut: 0, backpressureMillis: 0 };
  private finished = false;
  private settled = false;
  private readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (err: unknown) => void;

  constructor(
    readonly key: string,
    readonly chain: ChainPlan,
    readonly subtaskIndex: number,
    readonly worker: number,
    private readonly slot: WorkerSlot,
  ) {
    this.name = `${chain.name} (${subtaskIndex + 1}/${chain.parallelism})`;
    this.done = new Promise((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    // Settled even when nobody runs it (a job cancelled before its tasks started): never an unhandled rejection.
    this.done.catch(() => undefined);
  }

  run(): Promise<void> {
    return this.done;
  }

  triggerBarrier(barrier: Barrier): void {
    this.slot.post({ t: 'trigger', task: this.key, id: barrier.checkpointId, ts: barrier.timestamp, kind: barrier.checkpointKind });
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.slot.notifyComplete(checkpointId);
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.slot.notifyAborted(checkpointId);
  }

  releaseEnd(): void {
    this.slot.post({ t: 'release', task: this.key });
  }

  cancel(): void {
    this.slot.post({ t: 'cancel', task: this.key });
  }

  stats(): TaskStats {
    return this.last;
  }

  isFinished(): boolean {
    return this.finished;
  }

  /** @internal */
  report(recordsIn: number, recordsOut: number, backpressureMillis: number, finished: boolean): void {
    this.last = { recordsIn, recordsOut, backpressureMillis };
    this.finished = finished;
  }

  /** @internal */
  settle(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    if (error === undefined) this.resolveDone();
    else this.rejectDone(error);
  }
}

/** One worker thread and the proxies of the subtasks it runs. */
class WorkerSlot {
  readonly tasks: WorkerTask[] = [];
  readonly thread: Worker;
  private alive = true;
  private shuttingDown = false;
  private failure: Error | undefined;
  private closed: Promise<void>;
  private resolveClosed!: () => void;
  private lastComplete = 0;
  private readonly abortedSent = new Set<number>();
  busy = 0;
  busyRecent = 0;
  links: readonly LinkStats[] = [];
  /** The worker's log-source partition rows of its latest report, shown by the main thread's partitionProgress. */
  private partitions: readonly PartitionProgress[] = [];
  private readonly progressKey: string;
  private readonly mirrors = new Map<string, BackendMirror>();
  private readonly spawnedAt = performance.now();
  private started: WorkerStarted | undefined;

  constructor(
    readonly index: number,
    init: WorkerInit,
    transfer: MessagePort[],
    private readonly events: WorkerPoolEvents,
  ) {
    this.closed = new Promise((resolve) => (this.resolveClosed = resolve));
    this.thread = spawn(entryUrl(), { workerData: init, transferList: transfer });
    this.progressKey = `worker-thread-${this.thread.threadId}`;
    this.thread.on('message', (m: FromWorker) => this.receive(m));
    this.thread.on('error', (err) => {
      this.failure = err;
    });
    this.thread.on('exit', (code) => {
      this.alive = false;
      partitionProgress.delete(this.progressKey);
      this.resolveClosed();
      const why = this.failure
        ? `worker ${this.index} failed: ${this.failure.message}`
        : `worker ${this.index} (thread ${this.thread.threadId}) exited with code ${code}`;
      for (const t of this.tasks) t.settle(this.shuttingDown ? undefined : new Error(`${why} while running ${t.name}`, { cause: this.failure }));
    });
  }

  post(m: ToWorker): void {
    if (this.alive) this.thread.postMessage(m);
  }

  notifyComplete(checkpointId: number): void {
    // Every proxy of this worker forwards the job's notification: send it once.
    if (checkpointId <= this.lastComplete) return;
    this.lastComplete = checkpointId;
    this.post({ t: 'complete', id: checkpointId });
  }

  notifyAborted(checkpointId: number): void {
    if (this.abortedSent.has(checkpointId)) return;
    this.abortedSent.add(checkpointId);
    if (this.abortedSent.size > 64) this.abortedSent.delete(this.abortedSent.values().next().value!);
    this.post({ t: 'aborted', id: checkpointId });
  }

  info(): WorkerInfo {
    let recordsSent = 0;
    let bytesSent = 0;
    let batchesSent = 0;
    for (const l of this.links) {
      recordsSent += l.recordsSent;
      bytesSent += l.bytesSent;
      batchesSent += l.batchesSent;
    }
    return {
      index: this.index, threadId: this.thread.threadId, alive: this.alive, subtasks: this.tasks.map((t) => t.name),
      busy: this.busy, busyRecent: this.busyRecent, recordsSent, bytesSent, batchesSent, start: this.started,
    };
  }

  /** Test hook: kills the thread as a crash would (its subtasks fail). */
  terminate(): Promise<number> {
    return this.thread.terminate();
  }

  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    if (!this.alive) return;
    this.post({ t: 'shutdown' });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.closed, new Promise<void>((r) => (timer = setTimeout(r, SHUTDOWN_WAIT_MS)))]);
    clearTimeout(timer);
    await this.thread.terminate();
  }

  private task(key: string): WorkerTask | undefined {
    return this.tasks.find((t) => t.key === key);
  }

  private receive(m: FromWorker): void {
    switch (m.t) {
      case 'ready':
        this.started = {
          index: this.index, threadId: this.thread.threadId, runtimeMillis: m.start.runtimeAt - this.spawnedAt, jobMillis: m.start.jobAt - this.spawnedAt,
          readyMillis: m.start.readyAt - this.spawnedAt, loaderModules: m.start.loaderModules,
        };
        this.events.workerStarted(this.started);
        return;
      case 'fatal':
        for (const t of this.tasks) t.settle(toError(m.error, `worker ${this.index}`));
        return;
      case 'ack':
        this.events.acknowledge(this.task(m.task)!, m.id, m.states, m.metrics);
        return;
      case 'decline':
        this.events.decline(this.task(m.task)!, m.id, m.reason);
        return;
      case 'sourceFinished':
        this.events.sourceFinished(this.task(m.task)!);
        return;
      case 'ended':
        this.task(m.task)?.settle(m.error === undefined ? undefined : toError(m.error, undefined));
        return;
      case 'stats': {
        const s = m.stats;
        for (const [key, rin, rout, bp, fin] of s.tasks) this.task(key)?.report(rin, rout, bp, fin);
        for (const b of s.backends) this.mirrors.get(b.key)?.update(b);
        this.busy = s.eluTotal;
        this.busyRecent = s.eluRecent;
        this.links = s.links;
        this.partitions = s.partitions;
        partitionProgress.set(this.progressKey, () => this.partitions);
        this.events.metrics(s.recordsIn, s.recordsOut);
        return;
      }
      case 'backendOpened': {
        const mirror = new BackendMirror(m.kind);
        this.mirrors.set(`${m.operatorId}#${m.subtaskIndex}`, mirror);
        this.events.backendOpened({ operatorId: m.operatorId, subtaskIndex: m.subtaskIndex, localDir: m.localDir, restoredFrom: m.restoredFrom, openMillis: m.openMillis, backend: mirror });
        return;
      }
      case 'restoreProgress':
        this.events.restoreProgress(m.operatorId, m.subtaskIndex, m.done, m.total);
        return;
      case 'closed':
        this.resolveClosed();
        return;
    }
  }
}

function toError(e: WorkerError, where: string | undefined): Error {
  // The user's failure as it was on the worker (its stack was formatted and source-mapped there).
  if (e.user) return new UserFunctionError(e.user);
  const message = where ? `${where}: ${e.message}` : e.message;
  const err = e.config ? new ConfigError(message) : new Error(message);
  if (e.stack) err.stack = `${message}\n${e.stack.split('\n').slice(1).join('\n')}`;
  return err;
}

export class WorkerPool {
  readonly tasks: WorkerTask[] = [];
  private readonly slots: WorkerSlot[] = [];

  constructor(o: WorkerPoolOptions, events: WorkerPoolEvents) {
    const placement = placeSubtasks(o.plan, o.setup.count);
    const n = placement.workers;
    const peers: { worker: number; port: MessagePort }[][] = Array.from({ length: n }, () => []);
    for (let a = 0; a < n; a++) {
      for (let b = a + 1; b < n; b++) {
        const { port1, port2 } = new MessageChannel();
        peers[a]!.push({ worker: b, port: port1 });
        peers[b]!.push({ worker: a, port: port2 });
      }
    }
    const signature = graphSignature(o.plan.graph);
    const captured = capturedValues(o.plan.graph);
    for (let w = 0; w < n; w++) {
      const init: WorkerInit = {
        worker: w, workers: n, attempt: o.attempt, bootstrap: o.setup.bootstrap, job: o.setup.job, signature, captured, restore: o.restore,
        peers: peers[w]!, jobPath: o.jobPath, stateDir: o.stateDir, runId: o.runId, checkpointingEnabled: o.checkpointingEnabled,
        channelCapacity: o.channelCapacity, batchSize: o.batchSize, statsIntervalMs: STATS_INTERVAL_MS,
        ioPort: o.localStorage ? ioThreadPort() : undefined,
      };
      this.slots.push(new WorkerSlot(w, init, [...peers[w]!.map((p) => p.port), ...(init.ioPort ? [init.ioPort] : [])], events));
    }
    for (const chain of o.plan.chains) {
      for (let i = 0; i < chain.parallelism; i++) {
        const w = placement.workerOf(chain.index, i);
        const t = new WorkerTask(taskKey(chain.index, i), chain, i, w, this.slots[w]!);
        this.slots[w]!.tasks.push(t);
        this.tasks.push(t);
      }
    }
  }

  workers(): WorkerInfo[] {
    return this.slots.map((s) => s.info());
  }

  /** Test hook: kills worker `index` as a crash would. */
  terminateWorker(index: number): Promise<number> {
    return this.slots[index]!.terminate();
  }

  async shutdown(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.shutdown()));
  }
}

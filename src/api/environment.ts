/**
 * StreamEnvironment: where a job is configured and built, and what runs it.
 *
 *   const env = new StreamEnvironment({ parallelism: 2, checkpoints: './weir-data', checkpointInterval: '10s' });
 *   env.fromSource(new FileSource(path)).flatMap(split).keyBy((w) => w).process(counter).sinkTo(sink);
 *   await env.execute('wordcount');
 *
 * Under `weir run` the command builds the environment from its flags; the job's default
 * export only builds the graph.
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock, type Clock } from '../util/clock.ts';
import { ConfigError, CheckpointDeclinedError } from '../util/errors.ts';
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { MemoryStorage } from '../storage/memory-storage.ts';
import type { KeyedStateBackend, Serializer, StateBackendOptions } from '../state/types.ts';
import { checkMaxParallelism } from '../state/key-groups.ts';
import { createKeyedStateBackend } from '../state/index.ts';
import { CheckpointCoordinator, type CheckpointEvent, type CompletedCheckpointInfo } from '../checkpoint/coordinator.ts';
import { selectResumeCheckpoint } from '../checkpoint/restore-select.ts';
import { startJobRun, type JobStart } from '../checkpoint/job-start.ts';
import { validateJobName } from '../storage/job-layout.ts';
import type { CheckpointMetadata } from '../checkpoint/types.ts';
import type { Source } from '../runtime/connector-types.ts';
import type { JobEdge, JobGraph, JobNode } from '../runtime/job-graph.ts';
import { notifyObserver, type JobObserver } from '../runtime/job-observer.ts';
import { NOT_JOB_STATE } from '../runtime/slots/not-job-state.ts';
import { JobExecution, type CoordinatorPort, type CoordinatorSetup, type JobMetrics, type JobResult, type RestartStrategy } from '../runtime/job-execution.ts';
import { DataStream } from './data-stream.ts';
import type { GraphBuilder, Transformation } from './transformation.ts';
import { parseDuration } from './durations.ts';
import { lsmStoreBudget, parseSize, type LsmStoreBudget } from './memory-budget.ts';
import { openCheckpointStorage } from './checkpoint-storage-uri.ts';

/** Where keyed state lives: 'lsm' (the embedded LSM store, default) or 'heap' (in memory). */
export type StateBackendKind = 'heap' | 'lsm';

/** How a job runs: parallelism, state backend, checkpoints, restarts (all optional). */
export interface StreamEnvironmentOptions {
  /** Job name: the job's directory in checkpoint storage. Default "job" (or execute's argument). */
  readonly jobName?: string;
  /** Default parallelism of every operator. Default 1. */
  readonly parallelism?: number;
  /** Number of key groups; fixed for the life of the job's state. Default 128. */
  readonly maxParallelism?: number;
  /** Where keyed state lives: 'lsm' (default; the embedded LSM store, incremental checkpoints) or 'heap' (in memory, full snapshots). */
  readonly stateBackend?: StateBackendKind;
  /** Incremental checkpoints (lsm backend). Default true. */
  readonly incremental?: boolean;
  /** Local working directory of the state backends. Default: a temp directory. */
  readonly stateDir?: string;
  /** Checkpoint storage: a directory, file://…, s3://bucket/prefix, or a CheckpointStorage. Unset: no checkpoints. */
  readonly checkpoints?: string | CheckpointStorage;
  /** Default 10s. 0: only the final checkpoint at the end of input. */
  readonly checkpointInterval?: number | string;
  /** A checkpoint not complete after this long is aborted. Default 10m. */
  readonly checkpointTimeout?: number | string;
  /** Checkpoints in flight at once. Default 1. */
  readonly maxConcurrentCheckpoints?: number;
  /** Least time between the end of one checkpoint and the start of the next. Default 0. */
  readonly minPauseBetweenCheckpoints?: number | string;
  /** Completed checkpoints kept (older ones are subsumed). Default 1. */
  readonly retainedCheckpoints?: number;
  /** Default: fixed delay, 3 attempts, 1 s apart (with checkpoints), none without. */
  readonly restartStrategy?: RestartStrategy;
  /** Start from the latest completed checkpoint of this job, or from a given one (`chk-N` path or id). */
  readonly resume?: string | number;
  /**
   * Start with empty state although the job's checkpoint directory holds checkpoints
   * (they are kept, never deleted by this run). Without `resume` or `fresh`, a directory
   * with checkpoints refuses to start (src/checkpoint/job-start.ts).
   */
  readonly fresh?: boolean;
  /** A job lease whose holder sent no heartbeat for this long is stale (another process may take over). Default 30 s. */
  readonly leaseTtl?: number | string;
  /** Serializer of keyBy keys (default msgpack). */
  readonly keySerializer?: Serializer<unknown>;
  /** Time source (tests inject a manual clock). */
  readonly clock?: Clock;
  /**
   * Memory the lsm state backends of this job may use in this process, e.g. "256m" or a
   * number of bytes (Flink's managed memory): shared evenly by the job's keyed lsm
   * subtasks, each using half of its share for memtables and half for its block cache
   * (src/api/memory-budget.ts). Unset: each subtask's store takes the engine's defaults
   * (64 MiB memtables, 64 MiB block cache). The heap backend ignores it.
   */
  readonly stateMemory?: number | string;
  /** Buffered elements per channel before the producer waits. Default 2048. */
  readonly channelCapacity?: number;
  /** Records per channel batch. */
  readonly batchSize?: number;
  /** Custom state backend factory (tests, experiments). */
  readonly createBackend?: (opts: StateBackendOptions, kind: StateBackendKind, incremental: boolean) => Promise<KeyedStateBackend>;
  /** Where the job's log lines go (default: nowhere; `weir run` logs to stderr). */
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Readonly<Record<string, unknown>>) => void;
  /** Read-only hooks for the REST API, dashboard and metrics (src/web's JobMonitor). */
  readonly observer?: JobObserver;
  /**
   * Worker threads (task slots) to run the subtasks on: subtask i of every operator runs
   * on worker i mod N, which owns its state backends. Unset or 0: every subtask on the
   * main thread (`weir run` sets one per core unless its `--workers` flag or the job says
   * otherwise). Needs `jobModule` (each worker builds the graph with the job's own code).
   *
   * The rule for job code on workers: each worker imports the job module and runs its
   * default export, so the default export must build the same graph from its arguments
   * alone, and what the job's functions capture is each worker's own copy and must come
   * out the same in every worker. A captured value the module computes when it runs
   * (`Date.now()`, a random id, state the main thread changed) fails the job at start with
   * a `ConfigError` naming the operator, the function's file:line and the variable;
   * compute it inside the job (per subtask in `open()` / `createWriter()`) or pass it as
   * an argument. Instances of classes (clients, sockets) and functions are not compared:
   * each worker makes its own. See docs/runtime.md, "User code on worker threads".
   */
  readonly workers?: number;
  /**
   * The module whose default export `(env, args) => void` builds this job (`weir run` sets
   * it). Each worker thread imports it and runs it with `args` to build the same graph.
   */
  readonly jobModule?: {
    /** file: URL of the job module. */
    readonly url: string;
    /** Arguments its default export is called with. */
    readonly args: readonly string[];
  };
}

/** One completed checkpoint, in numbers. */
export interface CheckpointSummary {
  /** Its id (chk-N). */
  readonly checkpointId: number;
  /** Trigger to completion, ms. */
  readonly durationMillis: number;
  /** Bytes a restore from it downloads. */
  readonly fullSize: number;
  /** Bytes this checkpoint uploaded (incremental: only new sstables). */
  readonly checkpointedSize: number;
}

/** Live numbers of a running job (for progress lines and tests). */
export interface JobProgress {
  /** Counters so far. */
  readonly metrics: JobMetrics;
  /** The newest completed checkpoint, if any. */
  readonly lastCheckpoint: CheckpointSummary | undefined;
  /** The checkpoint the job started from, if it resumed. */
  readonly restoredFrom: number | undefined;
}

/** A started job (StreamEnvironment.start). */
export interface JobHandle {
  /** Settles when the job ends: resolves with its result, rejects when it failed for good. */
  readonly done: Promise<JobResult>;
  /** Stops the job (its checkpoints stay; a later run can resume). */
  cancel(): void;
  /** Live numbers. */
  progress(): JobProgress;
}

type Overridable = { -readonly [K in keyof StreamEnvironmentOptions]: StreamEnvironmentOptions[K] };

/** Environments built inside a worker thread: they build the graph, never run it. */
const buildOnly = new WeakSet<StreamEnvironment>();

/** @internal worker-bootstrap.ts: this environment only builds the graph. */
export function markBuildOnly(env: StreamEnvironment): void {
  buildOnly.add(env);
}

export class StreamEnvironment implements GraphBuilder {
  /** @internal The worker capture check does not walk into the environment (its options are the main thread's, not the job's state). */
  readonly [NOT_JOB_STATE] = true;
  private options: Overridable;
  private readonly transformations: Transformation[] = [];
  private started = false;

  constructor(options: StreamEnvironmentOptions = {}) {
    this.options = { ...options };
  }

  /** Changes options before execute() (weir run applies its flags this way, after the job built its graph). */
  configure(options: StreamEnvironmentOptions): this {
    Object.assign(this.options, Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)));
    return this;
  }

  /** The options as they are now. */
  getOptions(): StreamEnvironmentOptions {
    return { ...this.options };
  }

  /** Default parallelism of every operator. */
  setParallelism(p: number): this {
    return this.configure({ parallelism: p });
  }

  /** Checkpoints every `interval` (ms or '10s') into `checkpoints` (a directory, file://, s3://bucket/prefix). */
  enableCheckpointing(interval: number | string, checkpoints?: string | CheckpointStorage): this {
    return this.configure({ checkpointInterval: interval, ...(checkpoints !== undefined ? { checkpoints } : {}) });
  }

  /** Whether start()/execute() was called. */
  get isStarted(): boolean {
    return this.started;
  }

  /** A stream of the records of `source` (GeneratorSource, FileSource, KafkaSource, or your own). */
  fromSource<T>(source: Source<T>, name?: string): DataStream<T> {
    const t = this.addTransformation({ name: name ?? source.name, inputs: [], source });
    if (source.maxParallelism !== undefined) t.parallelism = Math.min(source.maxParallelism, this.options.parallelism ?? 1);
    return new DataStream<T>(this, t);
  }

  /** @internal */
  addTransformation(t: Omit<Transformation, 'id'>): Transformation {
    const full: Transformation = { ...t, id: this.transformations.length };
    this.transformations.push(full);
    return full;
  }

  /** The job graph execute() would run (parallelism resolved). */
  buildGraph(jobName?: string): JobGraph {
    const o = this.options;
    const maxP = o.maxParallelism ?? 128;
    checkMaxParallelism(maxP);
    const defaultP = o.parallelism ?? 1;
    if (this.transformations.length === 0) throw new ConfigError('the job defines no operators');
    const nodes: JobNode[] = [];
    const parallelism: number[] = [];
    for (const t of this.transformations) {
      let p = t.parallelism ?? defaultP;
      if (t.source?.maxParallelism !== undefined) p = Math.min(p, t.source.maxParallelism);
      if (t.parallelism === undefined && t.inputs.length === 1 && t.inputs[0]!.sideTag !== undefined) p = parallelism[t.inputs[0]!.from.id]!;
      parallelism[t.id] = p;
      const inputs: JobEdge[] = t.inputs.map((i) => {
        const fromP = parallelism[i.from.id]!;
        const partitioning = i.keySelector ? 'hash' : fromP === p ? 'forward' : 'rebalance';
        return {
          from: i.from.id,
          partitioning,
          ...(i.keySelector ? { keySelector: i.keySelector } : {}),
          ...(i.sideTag !== undefined ? { sideTag: i.sideTag } : {}),
        };
      });
      nodes.push({
        index: t.id,
        operatorId: t.uid ?? `${t.id}-${slug(t.name)}`,
        name: t.name,
        parallelism: p,
        inputs,
        ...(t.source ? { source: t.source } : {}),
        ...(t.createOperator ? { createOperator: t.createOperator } : {}),
        ...(t.keyed ? { keyed: t.keyed } : {}),
        ...(t.isSink ? { isSink: true } : {}),
      });
    }
    return { name: jobName ?? o.jobName ?? 'job', maxParallelism: maxP, nodes };
  }

  /**
   * Why the subtasks of this job cannot run on worker threads as configured, or undefined
   * when they can. `weir run` asks before it puts them on one worker per core by default
   * (and keeps them on the main thread, saying why, when they cannot); an explicit
   * `workers` option fails the start with this reason instead.
   */
  workerObstacle(): string | undefined {
    const o = this.options;
    if (!o.jobModule) return 'they need the job as a module (weir run job.ts, or the jobModule option), since functions cannot be sent to another thread';
    // Storage given as an object (e.g. wrapped for metering) is reopened in each worker from its location.
    const location = typeof o.checkpoints === 'string' ? o.checkpoints : o.checkpoints?.uri;
    if (location !== undefined && !/^(file|s3):/i.test(location) && typeof o.checkpoints !== 'string') {
      return `checkpoint storage ${location} cannot be opened again in a worker thread; give a directory or s3://… location`;
    }
    if (o.createBackend) return 'a custom createBackend function cannot be sent to worker threads';
    if (o.clock !== undefined && o.clock !== systemClock) return 'a custom clock cannot be sent to worker threads';
    return undefined;
  }

  /** Checks that the job can run on worker threads and says how a worker builds it. */
  private workerSetup(count: number, jobName: string): WorkerSetupPart {
    const o = this.options;
    const obstacle = this.workerObstacle();
    if (obstacle !== undefined) throw new ConfigError(`workers: ${count} worker threads cannot run this job: ${obstacle}`);
    const location = typeof o.checkpoints === 'string' ? o.checkpoints : o.checkpoints?.uri;
    const options: StreamEnvironmentOptions = {
      jobName,
      ...(o.parallelism !== undefined ? { parallelism: o.parallelism } : {}),
      ...(o.maxParallelism !== undefined ? { maxParallelism: o.maxParallelism } : {}),
      ...(o.stateBackend !== undefined ? { stateBackend: o.stateBackend } : {}),
      ...(o.incremental !== undefined ? { incremental: o.incremental } : {}),
      ...(o.stateMemory !== undefined ? { stateMemory: o.stateMemory } : {}),
      ...(location !== undefined ? { checkpoints: location } : {}),
    };
    return {
      count,
      bootstrap: new URL(`./worker-bootstrap${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url).href,
      job: { module: o.jobModule!.url, args: [...o.jobModule!.args], jobName, options },
    };
  }

  /** @internal worker-bootstrap.ts: checkpoint storage and backend factory of a worker thread (for the graph it built). */
  workerParts(graph: JobGraph): { kind: StateBackendKind; incremental: boolean; lsmOptions: LsmStoreBudget | undefined; checkpoints: string | undefined; keySerializer: Serializer<unknown> | undefined } {
    const o = this.options;
    const kind = o.stateBackend ?? 'lsm';
    return {
      kind,
      incremental: o.incremental ?? true,
      lsmOptions: lsmOptionsFor(o.stateMemory, kind, graph),
      checkpoints: typeof o.checkpoints === 'string' ? o.checkpoints : undefined,
      keySerializer: o.keySerializer,
    };
  }

  /** Runs the job to its end (bounded input) or until it fails for good; resolves with its metrics. */
  async execute(jobName?: string): Promise<JobResult> {
    return (await this.start(jobName)).done;
  }

  /** Starts the job; the handle's `done` settles when it ends (or fails for good). */
  async start(jobName?: string): Promise<JobHandle> {
    if (buildOnly.has(this)) throw new ConfigError('in a worker thread the job module must only build the graph: its default export must not call execute() or start()');
    if (this.started) throw new ConfigError('this environment already ran its job');
    this.started = true;
    const o = this.options;
    const clock = o.clock ?? systemClock;
    const graph = this.buildGraph(jobName);
    const job = validateJobName(graph.name);
    const checkpointStorage = o.checkpoints !== undefined ? openCheckpointStorage(o.checkpoints) : undefined;
    const storage = checkpointStorage ?? new MemoryStorage({ name: 'no-checkpoints' });
    const kind: StateBackendKind = o.stateBackend ?? 'lsm';
    const incremental = o.incremental ?? true;
    const lsmOptions = lsmOptionsFor(o.stateMemory, kind, graph);
    const stateDir = o.stateDir ?? mkdtempSync(join(tmpdir(), 'weir-state-'));
    const log = o.log ?? (() => undefined);
    // Bad options fail before the job directory is touched (and before a lease is taken).
    const interval = parseDuration(o.checkpointInterval ?? '10s', 'checkpoint interval');
    const timeout = parseDuration(o.checkpointTimeout ?? '10m', 'checkpoint timeout');
    const minPause = parseDuration(o.minPauseBetweenCheckpoints ?? 0, 'min pause between checkpoints');
    // Lease, start policy (--resume / --fresh / refuse), restore point and id counter: src/checkpoint/job-start.ts.
    let jobStart: JobStart | undefined;
    if (checkpointStorage) {
      try {
        jobStart = await startJobRun({
          storage: checkpointStorage, job, clock, warn: (m) => log('warn', m),
          ...(o.resume !== undefined ? { resume: o.resume } : {}),
          ...(o.fresh === true ? { fresh: true } : {}),
          ...(o.leaseTtl !== undefined ? { leaseTtlMs: parseDuration(o.leaseTtl, 'lease ttl') } : {}),
        });
      } catch (err) {
        if (typeof o.checkpoints === 'string') await checkpointStorage.close();
        throw err;
      }
    }
    const restoreFrom: CheckpointMetadata | undefined = jobStart?.restoreFrom;
    const runId = jobStart?.run.runId;
    let execution: JobExecution;
    let lastCheckpoint: CheckpointSummary | undefined;
    try {
      const onEvent = (e: CheckpointEvent): void => {
        if (e.type === 'completed') lastCheckpoint = summary(e.info);
        else if (e.type === 'warning') log('warn', e.message);
        notifyObserver(o.observer, 'checkpointEvent', e);
      };
      const createCoordinator = checkpointStorage
        ? async (setup: CoordinatorSetup): Promise<CoordinatorPort> => {
            const c = await CheckpointCoordinator.create({
              job, storage: checkpointStorage, clock, participant: setup.participant, expectedTasks: setup.expectedTasks,
              interval, timeout, maxParallelism: setup.maxParallelism, operators: setup.operators, onEvent,
              firstCheckpointId: setup.firstCheckpointId,
              ...(jobStart ? { idCounter: jobStart.ids, run: jobStart.run, fence: () => jobStart.lease.verify() } : {}),
              ...(o.maxConcurrentCheckpoints !== undefined ? { maxConcurrent: o.maxConcurrentCheckpoints } : {}),
              ...(minPause > 0 ? { minPause } : {}),
              ...(o.retainedCheckpoints !== undefined ? { retained: o.retainedCheckpoints } : {}),
            });
            notifyObserver(o.observer, 'coordinatorCreated', c);
            return coordinatorPort(c);
          }
        : undefined;
      const createBackend = o.createBackend
        ? (opts: StateBackendOptions) => o.createBackend!(opts, kind, incremental)
        : (opts: StateBackendOptions) => defaultBackend(opts, kind, incremental, clock, lsmOptions);
      const workers = o.workers !== undefined && o.workers > 0 ? this.workerSetup(o.workers, graph.name) : undefined;
      execution = new JobExecution({
        graph, clock, jobPath: job, storage, createBackend, stateDir,
        ...(runId !== undefined ? { runId } : {}),
        restartStrategy: o.restartStrategy ?? (checkpointStorage ? { kind: 'fixed-delay', attempts: 3, delayMs: 1000 } : { kind: 'none' }),
        ...(createCoordinator ? { createCoordinator } : {}),
        ...(restoreFrom ? { restoreFrom } : {}),
        ...(o.keySerializer ? { keySerializer: o.keySerializer } : {}),
        ...(o.channelCapacity ? { channelCapacity: o.channelCapacity } : {}),
        ...(o.batchSize ? { batchSize: o.batchSize } : {}),
        log,
        ...(o.observer ? { observer: o.observer } : {}),
        ...(workers ? { workers } : {}),
      });
      if (restoreFrom) log('info', `restoring from checkpoint ${restoreFrom.checkpointId}`);
    } catch (err) {
      // Nothing ran: give the job directory back (lease, id counter) and close what we opened.
      await jobStart?.close();
      if (checkpointStorage && typeof o.checkpoints === 'string') await checkpointStorage.close();
      throw err;
    }
    const done = execution.run().finally(async () => {
      await jobStart?.close();
      if (checkpointStorage && typeof o.checkpoints === 'string') await checkpointStorage.close();
      // A temp working directory we made is ours to remove (a given --state-dir is not).
      if (o.stateDir === undefined) await rm(stateDir, { recursive: true, force: true });
    });
    return {
      done,
      cancel: () => execution.cancel(),
      progress: () => ({ metrics: { ...execution.metrics }, lastCheckpoint, restoredFrom: restoreFrom?.checkpointId }),
    };
  }
}

/** @internal What a worker thread needs to build this job's graph and backends (worker-bootstrap.ts). */
export interface WorkerJobSpec {
  readonly module: string;
  readonly args: readonly string[];
  readonly jobName: string;
  readonly options: StreamEnvironmentOptions;
}

export interface WorkerSetupPart {
  readonly count: number;
  readonly bootstrap: string;
  readonly job: WorkerJobSpec;
}

function summary(info: CompletedCheckpointInfo): CheckpointSummary {
  return { checkpointId: info.checkpointId, durationMillis: info.durationMillis, fullSize: info.fullSize, checkpointedSize: info.checkpointedSize };
}

function coordinatorPort(c: CheckpointCoordinator): CoordinatorPort {
  return {
    acknowledge: (id, states, metrics) => {
      for (const s of states) c.acknowledge(id, s, metrics);
    },
    decline: (id, operatorId, subtaskIndex, reason) => c.decline(id, operatorId, subtaskIndex, reason),
    triggerNow: () => {
      c.triggerCheckpoint('checkpoint').catch((err: unknown) => {
        if (!(err instanceof CheckpointDeclinedError)) throw err;
      });
    },
    start: () => c.start(),
    pausePeriodic: () => c.pausePeriodic(),
    stop: () => c.stop(),
    peekNextCheckpointId: () => c.peekNextCheckpointId(),
    latestCompleted: () => c.latestCompleted(),
  };
}

export function defaultBackend(opts: StateBackendOptions, kind: StateBackendKind, incremental: boolean, clock: Clock, lsmOptions?: LsmStoreBudget): Promise<KeyedStateBackend> {
  if (kind !== 'heap' && kind !== 'lsm') throw new ConfigError(`unknown state backend "${String(kind)}" (heap | lsm)`);
  return createKeyedStateBackend(kind, { ...opts, clock, incremental, ...(lsmOptions ? { lsmOptions } : {}) });
}

/**
 * Each lsm store's part of the `stateMemory` budget: one store per keyed subtask of the
 * graph, on every thread. Undefined without a budget or with the heap backend.
 */
export function lsmOptionsFor(stateMemory: number | string | undefined, kind: StateBackendKind, graph: JobGraph): LsmStoreBudget | undefined {
  if (stateMemory === undefined || kind !== 'lsm') return undefined;
  const stores = graph.nodes.reduce((n, node) => n + (node.keyed ? node.parallelism : 0), 0);
  return lsmStoreBudget(parseSize(stateMemory, 'state memory'), stores);
}

/** Resolves `--resume`: 'latest', a checkpoint id, or a path ending in `chk-<N>` (or `chk-<N>/_metadata`). */
export async function findCheckpoint(
  storage: CheckpointStorage, job: string, resume: string | number, warn?: (message: string) => void,
): Promise<CheckpointMetadata> {
  // "latest" verifies candidates newest first and falls back past corrupt ones (src/checkpoint/restore-select.ts).
  return (await selectResumeCheckpoint(storage, job, resume, warn)).metadata;
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'op';
}

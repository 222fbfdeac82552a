/**
 * Runs a job graph: builds the execution plan, creates one Task per chain subtask and
 * the channels between them, restores state from a checkpoint, connects the tasks to
 * the checkpoint coordinator (this object is the coordinator's CheckpointParticipant),
 * and restarts the whole job from the latest completed checkpoint when a task fails.
 *
 * Attempt lifecycle: open every task (state restored) → running (checkpoints may be
 * triggered) → either every task finished (success) or one failed (cancel every task,
 * wait for them, abort pending checkpoints, restart after the strategy's delay, or give
 * up with JobFailedError).
 *
 * End of input: a source subtask that reaches the end emits the final watermark and
 * waits. When every source has, the job asks for one more checkpoint; once a checkpoint
 * triggered after that point completes (its notification has reached the sinks, which
 * commit), the sources send end-of-stream and the job ends.
 *
 * Ownership: only this object creates, cancels and forgets tasks; the coordinator calls
 * in through the participant methods, which only enqueue work on the tasks.
 */
import type { Clock } from '../util/clock.ts';
import { crashPoint } from '../util/crash-points.ts';
import { ConfigError, UserFunctionError, WeirError, errorMessage } from '../util/errors.ts';
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import type { KeyedStateBackend, Serializer, StateBackendOptions } from '../state/types.ts';
import { msgpackSerializer } from '../state/serializers.ts';
import type {
  CheckpointMetadata, CheckpointParticipant, SubtaskCheckpointMetrics, SubtaskState,
} from '../checkpoint/types.ts';
import { LocalChannel } from './channel.ts';
import { Barrier } from './elements.ts';
import { buildExecutionPlan, type ExecutionPlan } from './execution-plan.ts';
import type { JobGraph, JobNode } from './job-graph.ts';
import { channelLayout, taskKey, wireSubtasks } from './slots/channel-layout.ts';
import { assignRestore, backendOptions } from './slots/subtask-setup.ts';
import { Task, type TaskServices } from './task/task.ts';
import type { TaskHandle } from './slots/task-handle.ts';
import { WorkerPool, type WorkerInfo } from './slots/worker-pool.ts';
import type { WorkerSetup } from './slots/worker-protocol.ts';
import { TurnBudget } from './turn-budget.ts';
import { notifyObserver, type JobObserver } from './job-observer.ts';
import { FailureLog, failureFields, fullReport, shortReport } from './failure-report.ts';

/**
 * The job failed and the restart strategy gave up: what `execute()` and a handle's
 * `done` reject with. `cause` is the last attempt's failure (e.g. a UserFunctionError,
 * whose report the message repeats).
 */
export class JobFailedError extends WeirError {
  /** Stable code of this error class: 'JOB_FAILED'. */
  readonly code = 'JOB_FAILED';
}

/**
 * What the job does when a task fails: 'none' fails the job at once; 'fixed-delay'
 * restarts it from the latest completed checkpoint up to `attempts` times, `delayMs`
 * apart. Default: fixed-delay, 3 attempts, 1000 ms with checkpoints; none without. A
 * ConfigError is never retried.
 */
export type RestartStrategy =
  | {
      /** No restarts. */
      readonly kind: 'none';
    }
  | {
      /** Restart after a fixed delay. */
      readonly kind: 'fixed-delay';
      /** Restarts allowed in the life of the execution (not consecutive failures). */
      readonly attempts: number;
      /** Wait before each restart, ms. */
      readonly delayMs: number;
    };

/**
 * What the runtime needs from the checkpoint coordinator (an adapter over
 * src/checkpoint's CheckpointCoordinator). One per attempt: created when the attempt
 * starts (it recovers the completed checkpoints from storage), stopped when it ends.
 */
export interface CoordinatorPort {
  /** A task's acknowledgement: the state of every operator of its chain. */
  acknowledge(checkpointId: number, states: readonly SubtaskState[], metrics: SubtaskCheckpointMetrics): void;
  decline(checkpointId: number, operatorId: string, subtaskIndex: number, reason: string): void;
  /** Trigger a checkpoint now if the coordinator's limits allow (the final checkpoint). */
  triggerNow(): void;
  /** Begin periodic triggering (called once the attempt's tasks are created). */
  start(): void;
  /** No more periodic triggers: the final checkpoint completed and the tasks only drain. */
  pausePeriodic(): void;
  /** Stop triggering, abort pending checkpoints, wait for background work. */
  stop(): Promise<void>;
  /** The latest completed checkpoint in storage (restart point), if any. */
  latestCompleted(): CheckpointMetadata | undefined;
  /** The id the next checkpoint would get (the next attempt's coordinator starts there: ids are never reused). */
  peekNextCheckpointId(): number;
}

export interface CoordinatorSetup {
  readonly participant: CheckpointParticipant;
  /** Every operator subtask that must acknowledge. */
  readonly expectedTasks: readonly { readonly operatorId: string; readonly subtaskIndex: number }[];
  readonly operators: readonly { readonly operatorId: string; readonly parallelism: number }[];
  readonly maxParallelism: number;
  /** Lowest id the coordinator may hand out: above every id an earlier attempt of this execution used. */
  readonly firstCheckpointId: number;
}

export interface JobExecutionOptions {
  readonly graph: JobGraph;
  readonly clock: Clock;
  /** The job's directory inside checkpoint storage (its name). */
  readonly jobPath: string;
  /** Storage for state backends' snapshots; with `createCoordinator`, checkpointing is on. */
  readonly storage: CheckpointStorage;
  readonly createCoordinator?: (setup: CoordinatorSetup) => Promise<CoordinatorPort>;
  readonly createBackend: (opts: StateBackendOptions) => Promise<KeyedStateBackend>;
  readonly stateDir: string;
  /** Id of this run of the job; state backends put it in every upload's name. */
  readonly runId?: string;
  readonly keySerializer?: Serializer<unknown>;
  readonly restartStrategy: RestartStrategy;
  /** Checkpoint to start from (resume), or undefined for a fresh start. */
  readonly restoreFrom?: CheckpointMetadata;
  readonly channelCapacity?: number;
  readonly batchSize?: number;
  /** Log lines; `fields` are structured data for a structured logger (e.g. a failure's `attempt`, `reason`, `operator`, `subtask`, `location`). */
  readonly log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Readonly<Record<string, unknown>>) => void;
  /** Read-only hooks for the REST API, dashboard and metrics (src/web). */
  readonly observer?: JobObserver;
  /** Run the subtasks on worker threads (src/runtime/slots/); undefined: all on this thread. */
  readonly workers?: WorkerSetup;
}

/** Job-wide counters since the job started (all attempts; records replayed after a restart count again). */
export interface JobMetrics {
  /** Records the sources emitted. */
  recordsIn: number;
  /** Records the sinks were given. */
  recordsOut: number;
  /** Checkpoints completed (the final one included). */
  checkpointsCompleted: number;
  /** Checkpoints declined, aborted or timed out. */
  checkpointsFailed: number;
  /** Restarts after failures. */
  restarts: number;
  /** Id of the newest checkpoint this execution completed; undefined before the first. */
  lastCompletedCheckpointId: number | undefined;
}

/** What a finished job reports: `execute()`'s value and a handle's `done`. */
export interface JobResult {
  /** The job's counters at the end. */
  readonly metrics: JobMetrics;
  /** Id of the checkpoint the job was started from (`resume`), undefined for a fresh start. */
  readonly restoredFrom: number | undefined;
}

interface Attempt {
  readonly index: number;
  readonly tasks: TaskHandle[];
  readonly sourceTasks: TaskHandle[];
  running: boolean;
  finishedSources: number;
  awaitingFinal: boolean;
  finalCheckpointId: number | undefined;
  released: boolean;
  failure: unknown;
  /** Name of the task whose error is `failure`. */
  failedTask: string | undefined;
  fail: (err: unknown, task?: string) => void;
}

export class JobExecution implements CheckpointParticipant {
  readonly plan: ExecutionPlan;
  readonly metrics: JobMetrics = {
    recordsIn: 0, recordsOut: 0, checkpointsCompleted: 0, checkpointsFailed: 0, restarts: 0, lastCompletedCheckpointId: undefined,
  };
  private attempt: Attempt | undefined;
  private coordinator: CoordinatorPort | undefined;
  private readonly log: (level: 'info' | 'warn' | 'error', message: string, fields?: Readonly<Record<string, unknown>>) => void;
  private cancelled = false;
  private readonly turns: TurnBudget;
  private pool: WorkerPool | undefined;
  private readonly failures = new FailureLog();

  constructor(private readonly opts: JobExecutionOptions) {
    this.plan = buildExecutionPlan(opts.graph);
    this.log = opts.log ?? (() => undefined);
    this.turns = new TurnBudget(opts.clock);
    notifyObserver(opts.observer, 'executionCreated', this);
  }

  /** The tasks of the current attempt (empty between attempts); for observers, read-only. */
  currentTasks(): readonly TaskHandle[] {
    return this.attempt?.tasks ?? [];
  }

  /** The worker threads of the current attempt (empty when everything runs on this thread). */
  workers(): WorkerInfo[] {
    return this.pool?.workers() ?? [];
  }

  /** Test hook: kills worker thread `index` of the current attempt as a crash would. */
  terminateWorker(index: number): Promise<number> {
    if (!this.pool) return Promise.reject(new Error('no worker threads in this attempt'));
    return this.pool.terminateWorker(index);
  }

  get checkpointingEnabled(): boolean {
    return this.opts.createCoordinator !== undefined;
  }

  /** Stops the job (e.g. on SIGINT): cancels the tasks; run() then resolves. */
  cancel(): void {
    this.cancelled = true;
    const a = this.attempt;
    if (a) for (const t of a.tasks) t.cancel();
  }

  async run(): Promise<JobResult> {
    const o = this.opts;
    const expectedTasks = o.graph.nodes.flatMap((n) => Array.from({ length: n.parallelism }, (_, i) => ({ operatorId: n.operatorId, subtaskIndex: i })));
    const operators = o.graph.nodes.map((n) => ({ operatorId: n.operatorId, parallelism: n.parallelism }));
    let restore = o.restoreFrom;
    const firstRestore = restore?.checkpointId;
    const strategy = o.restartStrategy;
    // Ids are never reused, also across attempts: each coordinator starts where the last one stopped.
    let nextCheckpointId = 1;
    for (let index = 0; ; index++) {
      const coordinator = o.createCoordinator
        ? await o.createCoordinator({ participant: this, expectedTasks, operators, maxParallelism: o.graph.maxParallelism, firstCheckpointId: nextCheckpointId })
        : undefined;
      if (index > 0) {
        // Restart from the newest checkpoint THIS execution completed, else from where it
        // started. Not simply the store's latest: storage may hold newer checkpoints this run
        // did not make or chose not to use (a corrupt one that --resume fell back past, or a
        // previous run's when the job was started without --resume).
        const latest = coordinator?.latestCompleted();
        if (latest !== undefined && latest.checkpointId === this.metrics.lastCompletedCheckpointId) restore = latest;
      }
      if (index > 0) this.log('warn', `restart ${index} from ${restore ? `checkpoint ${restore.checkpointId}` : 'the beginning'}`);
      // Between recovery (the coordinator read the completed checkpoints) and the download of the restored one.
      if (restore) crashPoint('recovered');
      this.coordinator = coordinator;
      notifyObserver(o.observer, 'attemptStarted', index, restore);
      let error: unknown;
      try {
        error = await this.runAttempt(index, restore);
      } finally {
        await coordinator?.stop();
        if (coordinator) nextCheckpointId = Math.max(nextCheckpointId, coordinator.peekNextCheckpointId());
        this.coordinator = undefined;
      }
      if (error === undefined || this.cancelled) return { metrics: this.metrics, restoredFrom: firstRestore };
      // Bad configuration or input does not get better by restarting: report it as it is.
      if (error instanceof ConfigError) throw error;
      const allowed = strategy.kind === 'fixed-delay' ? strategy.attempts : 0;
      // The full report once per distinct failure; a repeat is one line (failure-report.ts).
      const failure = { error, task: this.attempt?.failedTask };
      const isNew = this.failures.isNew(failure);
      const fields = failureFields(index, failure);
      const observed = { task: failure.task, ...(error instanceof UserFunctionError ? { failure: error.failure() } : {}) };
      if (index >= allowed) {
        notifyObserver(o.observer, 'attemptFailed', index, errorMessage(error), { ...observed, restarting: false });
        if (!isNew) this.log('error', `attempt ${index} failed, no restarts left: same failure as before (${shortReport(failure)})`, fields);
        throw new JobFailedError(`job ${o.jobPath} failed${allowed > 0 ? ` after ${allowed} restart${allowed === 1 ? '' : 's'}` : ''}: ${errorMessage(error)}`, { cause: error });
      }
      this.metrics.restarts++;
      const next = `restart ${index + 1} of ${allowed} follows`;
      if (isNew) this.log('error', `attempt ${index} failed, ${next}: ${fullReport(failure)}`, fields);
      else this.log('warn', `attempt ${index} failed, ${next}: same failure as before (${shortReport(failure)})`, fields);
      notifyObserver(o.observer, 'attemptFailed', index, errorMessage(error), { ...observed, restarting: true });
      if (strategy.kind === 'fixed-delay' && strategy.delayMs > 0) await o.clock.sleep(strategy.delayMs);
    }
  }

  private async runAttempt(index: number, restore: CheckpointMetadata | undefined): Promise<unknown> {
    const o = this.opts;
    let failRef: (err: unknown, task?: string) => void = () => undefined;
    const attempt: Attempt = {
      index, tasks: [], sourceTasks: [], running: false, finishedSources: 0, awaitingFinal: false,
      finalCheckpointId: undefined, released: false, failure: undefined, failedTask: undefined, fail: (err, task) => failRef(err, task),
    };
    const failed = new Promise<unknown>((resolve) => {
      failRef = (err, task) => {
        if (attempt.failure !== undefined) return;
        attempt.failure = err ?? new Error('task failed');
        attempt.failedTask = task;
        resolve(attempt.failure);
      };
    });
    let pool: WorkerPool | undefined;
    if (o.workers) {
      pool = this.startWorkers(o.workers, attempt, restore);
      attempt.tasks.push(...pool.tasks);
      attempt.sourceTasks.push(...pool.tasks.filter((t) => t.chain.isSource));
    } else {
      this.createLocalTasks(attempt, restore);
    }
    this.pool = pool;
    try {
      return await this.runTasks(attempt, failed);
    } finally {
      await pool?.shutdown();
    }
  }

  /** Every subtask on this thread, all channels in memory. */
  private createLocalTasks(attempt: Attempt, restore: CheckpointMetadata | undefined): void {
    const o = this.opts;
    const index = attempt.index;
    const graph = o.graph;
    const maxP = graph.maxParallelism;
    const capacity = o.channelCapacity ?? 2048;
    const keySerializer = o.keySerializer ?? msgpackSerializer;
    // Channels: for every edge that leaves a chain, one per (producer, consumer) pair; all in-memory here.
    const { inputs, outputs } = wireSubtasks(this.plan, channelLayout(this.plan), () => true, (spec) => new LocalChannel(spec.id, capacity), keySerializer);
    // Which part of the restored checkpoint each new subtask gets (src/checkpoint's planner).
    const assigned = assignRestore(graph, restore);
    const services: TaskServices = {
      clock: o.clock,
      jobPath: o.jobPath,
      maxParallelism: maxP,
      checkpointingEnabled: this.checkpointingEnabled,
      batchSize: o.batchSize ?? 512,
      metrics: this.metrics,
      turns: this.turns,
      createBackend: (node, subtaskIndex) =>
        this.openBackend(index, restore?.checkpointId, node, subtaskIndex, {
          ...backendOptions({ stateDir: o.stateDir, jobPath: o.jobPath, attempt: index, storage: o.storage, keySerializer, ...(o.runId !== undefined ? { runId: o.runId } : {}) }, graph, node, subtaskIndex, assigned),
          ...(o.observer?.restoreProgress
            ? { onRestoreProgress: (d: number, t: number) => notifyObserver(o.observer, 'restoreProgress', node.operatorId, subtaskIndex, d, t) }
            : {}),
        }),
      restoredOperatorState: (operatorId, subtaskIndex) => assigned.operatorState(operatorId, subtaskIndex),
      acknowledge: () => undefined,
      decline: () => undefined,
      sourceFinished: () => this.onSourceFinished(attempt),
    };
    for (const chain of this.plan.chains) {
      for (let i = 0; i < chain.parallelism; i++) {
        const tid = taskKey(chain.index, i);
        const task = new Task(chain, i, inputs.get(tid) ?? [], outputs.get(tid) ?? new Map(), {
          ...services,
          acknowledge: (id, states, metrics) => {
            if (this.attempt !== attempt) return;
            notifyObserver(o.observer, 'subtaskAcknowledged', id, states, metrics);
            this.coordinator?.acknowledge(id, states, metrics);
          },
          decline: (id, reason) => {
            if (this.attempt === attempt) this.coordinator?.decline(id, chain.nodes[0]!.operatorId, i, reason);
          },
        });
        attempt.tasks.push(task);
        if (chain.isSource) attempt.sourceTasks.push(task);
      }
    }
  }

  /** Every subtask on worker threads (fresh ones for this attempt); the tasks here are proxies. */
  private startWorkers(setup: WorkerSetup, attempt: Attempt, restore: CheckpointMetadata | undefined): WorkerPool {
    const o = this.opts;
    const mine = (): boolean => this.attempt === attempt;
    return new WorkerPool(
      {
        setup, plan: this.plan, attempt: attempt.index, restore, jobPath: o.jobPath, stateDir: o.stateDir, runId: o.runId,
        checkpointingEnabled: this.checkpointingEnabled, channelCapacity: o.channelCapacity ?? 2048, batchSize: o.batchSize ?? 512, localStorage: o.storage.uri.startsWith('file:'),
      },
      {
        acknowledge: (_task, id, states, metrics) => {
          if (!mine()) return;
          notifyObserver(o.observer, 'subtaskAcknowledged', id, states, metrics);
          this.coordinator?.acknowledge(id, states, metrics);
        },
        decline: (task, id, reason) => {
          if (mine()) this.coordinator?.decline(id, task.chain.nodes[0]!.operatorId, task.subtaskIndex, reason);
        },
        sourceFinished: () => this.onSourceFinished(attempt),
        restoreProgress: (operatorId, subtaskIndex, done, total) => notifyObserver(o.observer, 'restoreProgress', operatorId, subtaskIndex, done, total),
        backendOpened: (info) => notifyObserver(o.observer, 'backendOpened', { ...info, attempt: attempt.index }),
        metrics: (recordsIn, recordsOut) => {
          this.metrics.recordsIn += recordsIn;
          this.metrics.recordsOut += recordsOut;
        },
        workerStarted: (w) => {
          const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
          const tsx = w.loaderModules === undefined ? '' : `; ${w.loaderModules} module${w.loaderModules === 1 ? '' : 's'} through tsx`;
          this.log('info', `worker ${w.index} (thread ${w.threadId}) started in ${s(w.readyMillis)}: runtime loaded at ${s(w.runtimeMillis)}, job module and graph at ${s(w.jobMillis)}${tsx}`, {
            worker: w.index, threadId: w.threadId, startMillis: Math.round(w.readyMillis), runtimeMillis: Math.round(w.runtimeMillis),
            jobMillis: Math.round(w.jobMillis), loaderModules: w.loaderModules,
          });
        },
      },
    );
  }

  /** Runs the attempt's tasks until all finished (undefined) or one failed (its error; every task cancelled and settled). */
  private async runTasks(attempt: Attempt, failed: Promise<unknown>): Promise<unknown> {
    this.attempt = attempt;
    if (this.cancelled) return undefined;
    const runs = attempt.tasks.map((t) =>
      t.run().then(
        () => undefined,
        // Logged once per attempt by run() (the first failure; the others follow from the cancel).
        (err: unknown) => attempt.fail(err, t.name),
      ),
    );
    attempt.running = true;
    this.coordinator?.start();
    const all = Promise.all(runs).then(() => undefined);
    const outcome = await Promise.race([all.then(() => 'done' as const), failed]);
    attempt.running = false;
    if (outcome === 'done' && attempt.failure === undefined) return undefined;
    for (const t of attempt.tasks) t.cancel();
    await Promise.allSettled(runs);
    return attempt.failure;
  }

  /** Opens a subtask's backend and tells the observer (with the restore time). */
  private async openBackend(attempt: number, restoredFrom: number | undefined, node: JobNode, subtaskIndex: number, opts: StateBackendOptions): Promise<KeyedStateBackend> {
    const start = this.opts.clock.monotonic();
    const backend = await this.opts.createBackend(opts);
    const restored = (opts.restoreFrom?.length ?? 0) > 0 ? restoredFrom : undefined;
    notifyObserver(this.opts.observer, 'backendOpened', {
      operatorId: node.operatorId, subtaskIndex, attempt, localDir: opts.localDir, restoredFrom: restored, openMillis: this.opts.clock.monotonic() - start, backend,
    });
    return backend;
  }

  private onSourceFinished(attempt: Attempt): void {
    attempt.finishedSources++;
    if (attempt.finishedSources < attempt.sourceTasks.length) return;
    if (!this.checkpointingEnabled) {
      this.releaseSources(attempt);
      return;
    }
    attempt.awaitingFinal = true;
    this.log('info', 'end of input: taking the final checkpoint');
    this.requestFinalCheckpoint(attempt, 0);
  }

  /** Asks for the final checkpoint off the caller's stack (the coordinator may be calling us). */
  private requestFinalCheckpoint(attempt: Attempt, delayMs: number): void {
    this.opts.clock.setTimeout(() => {
      if (this.attempt !== attempt || attempt.failure !== undefined || attempt.released) return;
      if (attempt.finalCheckpointId === undefined) this.coordinator?.triggerNow();
    }, delayMs);
  }

  private releaseSources(attempt: Attempt): void {
    if (attempt.released) return;
    attempt.released = true;
    // The final checkpoint is done; the tasks only drain. Periodic triggers would be refused
    // (and reported as failed checkpoints) until the job ends. A restart gets a new coordinator.
    this.coordinator?.pausePeriodic();
    for (const t of attempt.sourceTasks) t.releaseEnd();
  }

  // ---- CheckpointParticipant (called by the coordinator) ----

  triggerCheckpoint(checkpointId: number, timestamp: number, kind: 'checkpoint' | 'savepoint'): boolean {
    const a = this.attempt;
    if (!a || !a.running || a.failure !== undefined || a.released) return false;
    if (a.awaitingFinal && a.finalCheckpointId === undefined) a.finalCheckpointId = checkpointId;
    const barrier = new Barrier(checkpointId, timestamp, kind);
    for (const t of a.sourceTasks) t.triggerBarrier(barrier);
    return true;
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.metrics.checkpointsCompleted++;
    this.metrics.lastCompletedCheckpointId = checkpointId;
    const a = this.attempt;
    if (!a || a.failure !== undefined) return;
    for (const t of a.tasks) t.notifyCheckpointComplete(checkpointId);
    if (a.finalCheckpointId !== undefined && checkpointId >= a.finalCheckpointId) this.releaseSources(a);
    else if (a.awaitingFinal && a.finalCheckpointId === undefined) this.requestFinalCheckpoint(a, 0);
  }

  notifyCheckpointAborted(checkpointId: number, reason: string): void {
    this.metrics.checkpointsFailed++;
    const a = this.attempt;
    if (!a || a.failure !== undefined || a.released) return;
    this.log('warn', `checkpoint ${checkpointId} aborted: ${reason}`);
    for (const t of a.tasks) t.notifyCheckpointAborted(checkpointId);
    if (a.finalCheckpointId === checkpointId) a.finalCheckpointId = undefined;
    if (a.awaitingFinal && a.finalCheckpointId === undefined) this.requestFinalCheckpoint(a, 50);
  }
}

/**
 * CheckpointCoordinator: triggers checkpoints (periodically through the injected Clock,
 * or on request), collects the acknowledgements of every expected subtask, publishes
 * `_metadata`, hands the result to the CompletedCheckpointStore, and cleans up after
 * every checkpoint that does not complete.
 *
 * Life of a checkpoint:
 *   trigger   id = nextId++ (ids strictly increase, also across restarts: create() starts
 *             after the highest id found in storage, with or without `_metadata`);
 *             participant.triggerCheckpoint(); a timeout timer starts.
 *   ack       each expected subtask acknowledges once with its SubtaskState.
 *   complete  (all acks in; serialized through `completionChain`, one at a time)
 *             check the handles (paths inside the job, registry rules, savepoints
 *             self-contained) → write `_metadata` (LAST, atomically) → store.add()
 *             (register, subsume, delete) → participant.notifyCheckpointComplete(id) →
 *             abort older pending checkpoints (they may reference files this completion
 *             just released; Flink does the same).
 *   abort     (decline, timeout, failed trigger, failed `_metadata` write, stop)
 *             participant.notifyCheckpointAborted(id, reason), then delete every file the
 *             acked handles uploaded that nothing references — and the same for acks that
 *             arrive after the abort (FLINK-30461: late uploads must not leak).
 *
 * Deletion safety: a file is only deleted by cleanup if it is inside `<job>/`, is not a
 * re-referenced (reused) shared file, and no retained checkpoint, savepoint or pending
 * checkpoint's acked handle references it.
 *
 * Ids: the next id is above every id that left anything in storage (`_metadata` or any
 * object in a `chk-<N>/` directory). An id whose checkpoint crashed before writing
 * anything there may be handed out again after a restart; nothing can refer to it
 * (state backends name their uploads with a per-instance random backend id).
 *
 * Concurrency: JS is single-threaded; every field below is owned by this object and
 * changed only by its methods. The async completion and cleanup work is tracked in
 * `background` so stop()/whenIdle() can wait for it. Nothing here awaits while holding a
 * half-updated structure: each mutation happens between awaits.
 */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { assert } from '../util/assert.ts';
import { crashPoint } from '../util/crash-points.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { CheckpointDeclinedError, ConfigError, errorMessage } from '../util/errors.ts';
import { CompletedCheckpointStore } from './completed-checkpoint-store.ts';
import { foreignJobDirectoryError, writeJobMarker } from './job-scan.ts';
import type { DeletionReport } from './completed-checkpoint-store.ts';
import { isInsideJob, metadataPath, validateJobName } from './layout.ts';
import { serializeMetadata, validateMetadata } from './metadata.ts';
import type { SharedStateRegistry } from './shared-state-registry.ts';
import { METADATA_FORMAT_VERSION } from './types.ts';
import type {
  CheckpointMetadata,
  CheckpointParticipant,
  SubtaskCheckpointMetrics,
  SubtaskState,
} from './types.ts';

export type CheckpointKind = 'checkpoint' | 'savepoint';

export interface TaskId {
  readonly operatorId: string;
  readonly subtaskIndex: number;
}

export interface CheckpointCoordinatorOptions {
  readonly job: string;
  readonly storage: CheckpointStorage;
  readonly clock: Clock;
  readonly participant: CheckpointParticipant;
  /** Every subtask that must acknowledge a checkpoint. */
  readonly expectedTasks: readonly TaskId[];
  /** Periodic trigger interval in ms; 0 = only on request. */
  readonly interval: number;
  /** A checkpoint not complete after this many ms is aborted. */
  readonly timeout: number;
  /** Checkpoints (not savepoints) in flight at once. Default 1. */
  readonly maxConcurrent?: number;
  /** Minimum ms between the end of one checkpoint and the periodic trigger of the next. Default 0. */
  readonly minPause?: number;
  /** Completed checkpoints to keep. Default 1. */
  readonly retained?: number;
  readonly maxParallelism: number;
  readonly operators: readonly { readonly operatorId: string; readonly parallelism: number }[];
  /** Listener for metrics / REST (must not throw; errors are swallowed). */
  readonly onEvent?: (event: CheckpointEvent) => void;
  /** Consecutive failed checkpoints tolerated; one more emits 'failure-threshold-exceeded'. Default: unlimited. */
  readonly tolerableFailures?: number;
  /** Delete orphans of the job's directory in create(). Default true. */
  readonly cleanupOrphansOnStart?: boolean;
  /** Entries kept in history(). Default 20. */
  readonly historySize?: number;
  /**
   * Lowest id this coordinator may hand out. A runtime that restarts a job inside the
   * same process passes the previous coordinator's peekNextCheckpointId(), so ids of the
   * previous attempt that left nothing in storage are not reused either.
   */
  readonly firstCheckpointId?: number;
}

export interface CompletedCheckpointInfo {
  readonly checkpointId: number;
  readonly kind: CheckpointKind;
  readonly metadataPath: string;
  readonly triggerTime: number;
  readonly completeTime: number;
  readonly durationMillis: number;
  /** Bytes a restore downloads. */
  readonly fullSize: number;
  /** Bytes this checkpoint uploaded (new shared + private files). */
  readonly checkpointedSize: number;
}

export interface CheckpointStats {
  readonly checkpointId: number;
  readonly kind: CheckpointKind;
  readonly status: 'in_progress' | 'completed' | 'failed';
  readonly triggerTime: number;
  /** Trigger to completion or failure (ms); undefined while in progress. */
  readonly durationMillis: number | undefined;
  readonly ackedSubtasks: number;
  readonly totalSubtasks: number;
  readonly syncMaxMillis: number;
  readonly asyncMaxMillis: number;
  readonly alignmentMaxMillis: number;
  readonly fullSize: number;
  readonly checkpointedSize: number;
  readonly failureReason: string | undefined;
}

export type CheckpointEvent =
  | { readonly type: 'recovered'; readonly latestCheckpointId: number | undefined; readonly nextCheckpointId: number; readonly orphansDeleted: readonly string[]; readonly unreadable: readonly string[]; readonly subsumed: readonly number[] }
  | { readonly type: 'triggered'; readonly checkpointId: number; readonly kind: CheckpointKind; readonly triggerTime: number }
  | { readonly type: 'completed'; readonly info: CompletedCheckpointInfo; readonly stats: CheckpointStats; readonly subsumed: readonly number[] }
  | { readonly type: 'failed'; readonly checkpointId: number; readonly kind: CheckpointKind; readonly reason: string; readonly stats: CheckpointStats }
  | { readonly type: 'skipped'; readonly reason: string }
  | { readonly type: 'cleanup'; readonly checkpointId: number; readonly deleted: readonly string[]; readonly failed: readonly string[]; readonly late: boolean }
  | { readonly type: 'failure-threshold-exceeded'; readonly consecutiveFailures: number; readonly reason: string }
  | { readonly type: 'warning'; readonly checkpointId: number | undefined; readonly message: string };

interface Ack {
  readonly state: SubtaskState;
  readonly metrics: SubtaskCheckpointMetrics;
}

type MutableStats = { -readonly [K in keyof CheckpointStats]: CheckpointStats[K] };

/** One checkpoint in flight. Owned by the coordinator; removed from `pending` when it completes or aborts. */
interface PendingCheckpoint {
  readonly id: number;
  readonly kind: CheckpointKind;
  readonly triggerTime: number;
  readonly startMono: number;
  /** Task keys not yet acknowledged. */
  readonly waiting: Set<string>;
  readonly acks: Map<string, Ack>;
  timer: TimerHandle | undefined;
  /** All acks are in; queued or running in the completion chain. Only a newer completion may abort it now. */
  finalizing: boolean;
  /** Completed or aborted (settled exactly once). */
  done: boolean;
  readonly stats: MutableStats;
  readonly resolve: (info: CompletedCheckpointInfo) => void;
  readonly reject: (err: Error) => void;
}

function taskKey(operatorId: string, subtaskIndex: number): string {
  return `${operatorId}\u0000${subtaskIndex}`;
}

export class CheckpointCoordinator {
  readonly job: string;
  readonly store: CompletedCheckpointStore;
  private readonly storage: CheckpointStorage;
  private readonly clock: Clock;
  private readonly participant: CheckpointParticipant;
  private readonly expected: readonly TaskId[];
  private readonly interval: number;
  private readonly timeout: number;
  private readonly maxConcurrent: number;
  private readonly minPause: number;
  private readonly maxParallelism: number;
  private readonly operators: readonly { readonly operatorId: string; readonly parallelism: number }[];
  private readonly onEvent: ((event: CheckpointEvent) => void) | undefined;
  private readonly tolerableFailures: number;
  private readonly historySize: number;

  /** Next id to hand out. Invariant: greater than every id ever used in storage. */
  private nextId: number;
  private readonly pending = new Map<number, PendingCheckpoint>();
  /** Serializes completions: `_metadata` publication and store.add() happen one at a time, in order. */
  private completionChain: Promise<void> = Promise.resolve();
  private readonly background = new Set<Promise<unknown>>();
  private periodicTimer: TimerHandle | undefined;
  /** The periodic trigger found maxConcurrent checkpoints in flight; trigger when one ends. */
  private waitingForSlot = false;
  private lastEndMono: number | undefined;
  private consecutiveFailures = 0;
  private started = false;
  private stopped = false;
  private readonly historyList: MutableStats[] = [];

  private constructor(options: CheckpointCoordinatorOptions, store: CompletedCheckpointStore, nextId: number) {
    this.job = options.job;
    this.store = store;
    this.storage = options.storage;
    this.clock = options.clock;
    this.participant = options.participant;
    this.expected = [...options.expectedTasks];
    this.interval = options.interval;
    this.timeout = options.timeout;
    this.maxConcurrent = options.maxConcurrent ?? 1;
    this.minPause = options.minPause ?? 0;
    this.maxParallelism = options.maxParallelism;
    this.operators = [...options.operators];
    this.onEvent = options.onEvent;
    this.tolerableFailures = options.tolerableFailures ?? Number.POSITIVE_INFINITY;
    this.historySize = options.historySize ?? 20;
    this.nextId = nextId;
  }

  /**
   * Recovers the job's completed checkpoints from storage (registry counts included),
   * subsumes those beyond `retained`, deletes orphans (unless a `_metadata` is
   * unreadable or cleanupOrphansOnStart is false) and returns a coordinator whose next
   * id is above every id in storage. Call start() for periodic checkpoints.
   */
  static async create(options: CheckpointCoordinatorOptions): Promise<CheckpointCoordinator> {
    validateOptions(options);
    const recovered = await CompletedCheckpointStore.recover({ storage: options.storage, job: options.job, retained: options.retained });
    // Never write into, or delete from, a directory weir did not create; mark the ones it did.
    if (recovered.ownership === 'foreign') throw foreignJobDirectoryError(options.storage.uri, options.job, 'use');
    if (recovered.ownership !== 'marked') await writeJobMarker(options.storage, options.job);
    const retention = await recovered.store.enforceRetention();
    const orphansDeleted: string[] = [];
    const warnings: string[] = [];
    if ((options.cleanupOrphansOnStart ?? true) && recovered.unreadable.length === 0) {
      for (const o of recovered.orphans) {
        try {
          await options.storage.delete(o.path);
          orphansDeleted.push(o.path);
        } catch (err) {
          warnings.push(`could not delete orphan ${o.path}: ${errorMessage(err)}`);
        }
      }
    } else if (recovered.unreadable.length > 0) {
      warnings.push(`orphans not deleted: unreadable ${recovered.unreadable.map((u) => `${u.path} (${u.error.message})`).join(', ')}`);
    }
    const latest = recovered.store.all().at(-1)?.checkpointId ?? 0;
    const nextId = Math.max(recovered.maxCheckpointId + 1, latest + 1, options.firstCheckpointId ?? 1);
    const coordinator = new CheckpointCoordinator(options, recovered.store, nextId);
    for (const f of retention.failed) warnings.push(`could not delete ${f.path}: ${errorMessage(f.error)}`);
    for (const message of warnings) coordinator.emit({ type: 'warning', checkpointId: undefined, message });
    coordinator.emit({
      type: 'recovered',
      latestCheckpointId: recovered.store.latest()?.checkpointId,
      nextCheckpointId: nextId,
      orphansDeleted,
      unreadable: recovered.unreadable.map((u) => u.path),
      subsumed: retention.subsumed.map((m) => m.checkpointId),
    });
    return coordinator;
  }

  get registry(): SharedStateRegistry {
    return this.store.registry;
  }

  /** The checkpoint or savepoint a restore should use. */
  latestCompleted(): CheckpointMetadata | undefined {
    return this.store.latest();
  }

  /** The id the next trigger will use. */
  peekNextCheckpointId(): number {
    return this.nextId;
  }

  pendingCheckpointIds(): number[] {
    return [...this.pending.keys()].sort((a, b) => a - b);
  }

  /** The last `historySize` checkpoints, oldest first. */
  history(): CheckpointStats[] {
    return this.historyList.map((s) => ({ ...s }));
  }

  /** Starts periodic triggering (no-op if interval is 0). */
  start(): void {
    assert(!this.stopped, 'coordinator stopped');
    if (this.started) return;
    this.started = true;
    if (this.interval > 0) this.schedulePeriodic(this.interval);
  }

  /**
   * Triggers a checkpoint or savepoint now; resolves when it completes, rejects with
   * CheckpointDeclinedError when it is aborted. A checkpoint is refused while
   * maxConcurrent checkpoints are in flight; savepoints are never refused for that.
   */
  triggerCheckpoint(kind: CheckpointKind = 'checkpoint'): Promise<CompletedCheckpointInfo> {
    if (this.stopped) return Promise.reject(new CheckpointDeclinedError(this.nextId, 'coordinator stopped'));
    if (kind === 'checkpoint' && this.inFlightCheckpoints() >= this.maxConcurrent) {
      return Promise.reject(new CheckpointDeclinedError(this.nextId,
        `${this.inFlightCheckpoints()} checkpoint(s) in flight, maxConcurrent is ${this.maxConcurrent}`));
    }
    const id = this.nextId++;
    const triggerTime = this.clock.now();
    let resolve!: (info: CompletedCheckpointInfo) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<CompletedCheckpointInfo>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const stats: MutableStats = {
      checkpointId: id,
      kind,
      status: 'in_progress',
      triggerTime,
      durationMillis: undefined,
      ackedSubtasks: 0,
      totalSubtasks: this.expected.length,
      syncMaxMillis: 0,
      asyncMaxMillis: 0,
      alignmentMaxMillis: 0,
      fullSize: 0,
      checkpointedSize: 0,
      failureReason: undefined,
    };
    const p: PendingCheckpoint = {
      id,
      kind,
      triggerTime,
      startMono: this.clock.monotonic(),
      waiting: new Set(this.expected.map((t) => taskKey(t.operatorId, t.subtaskIndex))),
      acks: new Map(),
      timer: undefined,
      finalizing: false,
      done: false,
      stats,
      resolve,
      reject,
    };
    this.pending.set(id, p);
    this.historyList.push(stats);
    while (this.historyList.length > this.historySize) this.historyList.shift();
    this.emit({ type: 'triggered', checkpointId: id, kind, triggerTime });
    p.timer = this.clock.setTimeout(() => this.abort(p, `timed out after ${this.timeout} ms`), this.timeout);
    let accepted: boolean;
    try {
      accepted = this.participant.triggerCheckpoint(id, triggerTime, kind);
    } catch (err) {
      this.abort(p, `trigger failed: ${errorMessage(err)}`);
      return promise;
    }
    // Not a failure of the checkpoint mechanism (e.g. tasks still restoring): not counted against tolerableFailures.
    if (!accepted) this.abort(p, 'the job cannot checkpoint now (participant refused the trigger)', { countFailure: false });
    else if (p.waiting.size === 0) this.finalize(p);
    return promise;
  }

  /** A subtask's snapshot is done and uploaded. Acks for checkpoints no longer pending are cleaned up. */
  acknowledge(checkpointId: number, state: SubtaskState, metrics: SubtaskCheckpointMetrics): void {
    const p = this.pending.get(checkpointId);
    if (p === undefined || p.done) {
      this.discard(checkpointId, [state], true);
      return;
    }
    const key = taskKey(state.operatorId, state.subtaskIndex);
    if (!p.waiting.has(key)) {
      const first = p.acks.get(key);
      this.emit({ type: 'warning', checkpointId, message: first
        ? `duplicate ack from ${state.operatorId}/${state.subtaskIndex}; its files are discarded`
        : `ack from unexpected subtask ${state.operatorId}/${state.subtaskIndex}; its files are discarded` });
      this.discard(checkpointId, [state], true);
      return;
    }
    if (state.keyed !== undefined && (state.keyed.checkpointId !== checkpointId
      || state.keyed.operatorId !== state.operatorId || state.keyed.subtaskIndex !== state.subtaskIndex)) {
      p.waiting.delete(key);
      p.acks.set(key, { state, metrics });
      this.abort(p, `subtask ${state.operatorId}/${state.subtaskIndex} acknowledged with a handle of ${state.keyed.operatorId}/${state.keyed.subtaskIndex} for checkpoint ${state.keyed.checkpointId}`);
      return;
    }
    p.waiting.delete(key);
    p.acks.set(key, { state, metrics });
    const s = p.stats;
    s.ackedSubtasks++;
    s.syncMaxMillis = Math.max(s.syncMaxMillis, metrics.syncMillis);
    s.asyncMaxMillis = Math.max(s.asyncMaxMillis, metrics.asyncMillis);
    s.alignmentMaxMillis = Math.max(s.alignmentMaxMillis, metrics.alignmentMillis);
    s.fullSize += state.keyed?.fullSize ?? 0;
    s.checkpointedSize += state.keyed?.incrementalSize ?? 0;
    if (p.waiting.size === 0) this.finalize(p);
  }

  /** A subtask could not take its snapshot: the checkpoint is aborted. */
  decline(checkpointId: number, operatorId: string, subtaskIndex: number, reason: string): void {
    const p = this.pending.get(checkpointId);
    if (p === undefined || p.done || p.finalizing) return;
    this.abort(p, `declined by ${operatorId}/${subtaskIndex}: ${reason}`);
  }

  /**
   * Aborts every pending checkpoint that is not finalizing (e.g. a task failed and the job
   * restarts from the latest checkpoint); periodic triggering goes on.
   */
  abortPending(reason: string): void {
    for (const p of [...this.pending.values()]) {
      if (!p.finalizing) this.abort(p, reason, { countFailure: false });
    }
  }

  /** Cancels timers, aborts pending checkpoints (finalizing ones may finish) and waits for background work. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.periodicTimer?.cancel();
    this.periodicTimer = undefined;
    for (const p of [...this.pending.values()]) {
      if (!p.finalizing) this.abort(p, 'coordinator stopped', { countFailure: false });
    }
    await this.whenIdle();
  }

  /** Resolves when no completion or cleanup is running (for tests and shutdown). */
  async whenIdle(): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      await this.completionChain;
      if (this.background.size === 0) return;
      await Promise.allSettled([...this.background]);
    }
    assert(false, 'background work did not settle');
  }

  // ---- periodic triggering -----------------------------------------------------------

  private inFlightCheckpoints(): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.kind === 'checkpoint') n++;
    return n;
  }

  private schedulePeriodic(delay: number): void {
    this.periodicTimer?.cancel();
    this.periodicTimer = this.clock.setTimeout(() => this.onPeriodicTimer(), Math.max(0, delay));
  }

  private onPeriodicTimer(): void {
    this.periodicTimer = undefined;
    if (this.stopped) return;
    if (this.inFlightCheckpoints() >= this.maxConcurrent) {
      this.waitingForSlot = true;
      this.emit({ type: 'skipped', reason: `maxConcurrent (${this.maxConcurrent}) checkpoints in flight` });
      return;
    }
    const pauseLeft = this.pauseRemaining();
    if (pauseLeft > 0) {
      this.emit({ type: 'skipped', reason: `minPause: ${pauseLeft} ms left` });
      this.schedulePeriodic(pauseLeft);
      return;
    }
    this.triggerCheckpoint('checkpoint').catch(() => {
      // reported through the 'failed' event and history
    });
    this.schedulePeriodic(this.interval);
  }

  private pauseRemaining(): number {
    if (this.minPause <= 0 || this.lastEndMono === undefined) return 0;
    return Math.max(0, this.lastEndMono + this.minPause - this.clock.monotonic());
  }

  /** A checkpoint ended (completed or aborted). */
  private onCheckpointEnded(p: PendingCheckpoint): void {
    if (p.kind !== 'checkpoint') return;
    this.lastEndMono = this.clock.monotonic();
    if (this.waitingForSlot && !this.stopped && this.started && this.interval > 0) {
      this.waitingForSlot = false;
      this.schedulePeriodic(this.pauseRemaining());
    }
  }

  // ---- completion ----------------------------------------------------------------------

  private finalize(p: PendingCheckpoint): void {
    p.finalizing = true;
    p.timer?.cancel();
    const step = this.completionChain.then(() => this.complete(p));
    this.completionChain = step.catch((err: unknown) => {
      // complete() handles its own failures; reaching here is a bug in it.
      this.emit({ type: 'warning', checkpointId: p.id, message: `completion failed: ${errorMessage(err)}` });
    });
    this.track(this.completionChain);
  }

  private buildMetadata(p: PendingCheckpoint): CheckpointMetadata {
    const subtasks = [...p.acks.values()]
      .map((a) => a.state)
      .sort((a, b) => (a.operatorId < b.operatorId ? -1 : a.operatorId > b.operatorId ? 1 : a.subtaskIndex - b.subtaskIndex));
    let fullSize = 0;
    let checkpointedSize = 0;
    for (const s of subtasks) {
      fullSize += s.keyed?.fullSize ?? 0;
      checkpointedSize += s.keyed?.incrementalSize ?? 0;
    }
    return {
      formatVersion: METADATA_FORMAT_VERSION,
      job: this.job,
      checkpointId: p.id,
      kind: p.kind,
      triggerTime: p.triggerTime,
      completeTime: this.clock.now(),
      maxParallelism: this.maxParallelism,
      operators: this.operators,
      subtasks,
      fullSize,
      checkpointedSize,
    };
  }

  /** Why this metadata must not be published (empty if it may). */
  private problems(metadata: CheckpointMetadata): string[] {
    try {
      validateMetadata(metadata);
    } catch (err) {
      return [errorMessage(err)];
    }
    if (metadata.kind === 'checkpoint') return this.store.registry.problems(metadata);
    const out: string[] = [];
    for (const s of metadata.subtasks) {
      for (const f of s.keyed?.sharedFiles ?? []) {
        if (f.reused) out.push(`savepoint must be self-contained, but ${f.registryKey} re-references ${f.path}`);
      }
    }
    return out;
  }

  private async complete(p: PendingCheckpoint): Promise<void> {
    if (p.done) return; // aborted while queued (subsumed by a newer completion)
    const metadata = this.buildMetadata(p);
    const problems = this.problems(metadata);
    if (problems.length > 0) {
      this.abort(p, `invalid snapshot: ${problems.join('; ')}`, { force: true });
      return;
    }
    const path = metadataPath(this.job, p.id, p.kind);
    try {
      crashPoint('metadata-before');
      await this.storage.write(path, serializeMetadata(metadata));
      crashPoint('metadata-after');
    } catch (err) {
      // The outcome may be ambiguous (a timeout after the object landed): make sure no
      // `_metadata` survives before deleting the files it would reference.
      let metadataGone = false;
      try {
        await this.storage.delete(path);
        metadataGone = true;
      } catch (deleteErr) {
        this.emit({ type: 'warning', checkpointId: p.id, message: `could not delete ${path} after a failed write: ${errorMessage(deleteErr)}; its files are kept` });
      }
      this.abort(p, `writing ${path} failed: ${errorMessage(err)}`, { force: true, deleteFiles: metadataGone });
      return;
    }
    assert(!p.done, 'a finalizing checkpoint was settled during its _metadata write');
    p.done = true;
    this.pending.delete(p.id);
    let report: DeletionReport;
    try {
      report = await this.store.add(metadata);
    } catch (err) {
      // Only a broken invariant gets here (the registry rules were checked above).
      this.failStats(p, `store.add failed: ${errorMessage(err)}`);
      p.reject(err instanceof Error ? err : new Error(errorMessage(err)));
      throw err;
    }
    for (const f of report.failed) {
      this.emit({ type: 'warning', checkpointId: p.id, message: `could not delete ${f.path}: ${errorMessage(f.error)}` });
    }
    try {
      this.participant.notifyCheckpointComplete(p.id);
    } catch (err) {
      this.emit({ type: 'warning', checkpointId: p.id, message: `notifyCheckpointComplete threw: ${errorMessage(err)}` });
    }
    if (p.kind === 'checkpoint') {
      for (const older of [...this.pending.values()]) {
        if (older.kind === 'checkpoint' && older.id < p.id) {
          this.abort(older, `subsumed by completed checkpoint ${p.id}`, { force: true, countFailure: false });
        }
      }
    }
    const s = p.stats;
    s.status = 'completed';
    s.durationMillis = this.clock.monotonic() - p.startMono;
    s.fullSize = metadata.fullSize;
    s.checkpointedSize = metadata.checkpointedSize;
    if (p.kind === 'checkpoint') this.consecutiveFailures = 0;
    const info: CompletedCheckpointInfo = {
      checkpointId: p.id,
      kind: p.kind,
      metadataPath: path,
      triggerTime: p.triggerTime,
      completeTime: metadata.completeTime,
      durationMillis: s.durationMillis,
      fullSize: metadata.fullSize,
      checkpointedSize: metadata.checkpointedSize,
    };
    this.emit({ type: 'completed', info, stats: { ...s }, subsumed: report.subsumed.map((m) => m.checkpointId) });
    this.onCheckpointEnded(p);
    p.resolve(info);
  }

  // ---- abort and cleanup -----------------------------------------------------------------

  private abort(p: PendingCheckpoint, reason: string, opts: { force?: boolean; deleteFiles?: boolean; countFailure?: boolean } = {}): void {
    if (p.done) return;
    if (p.finalizing && !opts.force) return; // all acks are in: the completion decides
    p.done = true;
    p.timer?.cancel();
    this.pending.delete(p.id);
    try {
      this.participant.notifyCheckpointAborted(p.id, reason);
    } catch (err) {
      this.emit({ type: 'warning', checkpointId: p.id, message: `notifyCheckpointAborted threw: ${errorMessage(err)}` });
    }
    if (opts.deleteFiles ?? true) this.discard(p.id, [...p.acks.values()].map((a) => a.state), false);
    this.failStats(p, reason);
    this.emit({ type: 'failed', checkpointId: p.id, kind: p.kind, reason, stats: { ...p.stats } });
    if ((opts.countFailure ?? true) && p.kind === 'checkpoint') {
      this.consecutiveFailures++;
      if (this.consecutiveFailures > this.tolerableFailures) {
        this.emit({ type: 'failure-threshold-exceeded', consecutiveFailures: this.consecutiveFailures, reason });
      }
    }
    this.onCheckpointEnded(p);
    p.reject(new CheckpointDeclinedError(p.id, reason));
  }

  private failStats(p: PendingCheckpoint, reason: string): void {
    p.stats.status = 'failed';
    p.stats.failureReason = reason;
    p.stats.durationMillis = this.clock.monotonic() - p.startMono;
  }

  /** Paths referenced by the acks of pending checkpoints. */
  private pendingPaths(): Set<string> {
    const out = new Set<string>();
    for (const p of this.pending.values()) {
      for (const a of p.acks.values()) {
        const h = a.state.keyed;
        if (h === undefined) continue;
        for (const f of h.sharedFiles) out.add(f.path);
        for (const f of h.privateFiles) out.add(f.path);
      }
    }
    return out;
  }

  /** Deletes the files these states uploaded that nothing references (see the file comment). */
  private discard(checkpointId: number, states: readonly SubtaskState[], late: boolean): void {
    const candidates: string[] = [];
    for (const s of states) {
      const h = s.keyed;
      if (h === undefined) continue;
      for (const f of h.sharedFiles) if (!f.reused) candidates.push(f.path);
      for (const f of h.privateFiles) candidates.push(f.path);
    }
    if (candidates.length === 0) return;
    // Protection is decided now: a path unprotected now cannot become referenced later, since
    // completions only re-reference registered files and new uploads have unique names.
    const pendingPaths = this.pendingPaths();
    const doomed = [...new Set(candidates)].filter((path) =>
      isInsideJob(this.job, path) && !pendingPaths.has(path) && !this.store.isReferenced(path));
    const work = (async () => {
      const deleted: string[] = [];
      const failed: string[] = [];
      for (const path of doomed) {
        try {
          await this.storage.delete(path);
          deleted.push(path);
        } catch (err) {
          failed.push(`${path}: ${errorMessage(err)}`);
        }
      }
      this.emit({ type: 'cleanup', checkpointId, deleted, failed, late });
    })();
    this.track(work);
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  private emit(event: CheckpointEvent): void {
    if (this.onEvent === undefined) return;
    try {
      this.onEvent(event);
    } catch {
      // a listener must not break checkpointing
    }
  }
}

function validateOptions(o: CheckpointCoordinatorOptions): void {
  validateJobName(o.job);
  const positiveInt = (v: number | undefined, name: string, min: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new ConfigError(`${name} must be an integer >= ${min}, got ${v}`);
  };
  positiveInt(o.interval, 'checkpoint interval', 0);
  positiveInt(o.timeout, 'checkpoint timeout', 1);
  positiveInt(o.maxConcurrent, 'maxConcurrent', 1);
  positiveInt(o.minPause, 'minPause', 0);
  positiveInt(o.retained, 'retained', 1);
  positiveInt(o.maxParallelism, 'maxParallelism', 1);
  positiveInt(o.tolerableFailures, 'tolerableFailures', 0);
  positiveInt(o.historySize, 'historySize', 1);
  positiveInt(o.firstCheckpointId, 'firstCheckpointId', 1);
  const parallelism = new Map<string, number>();
  for (const op of o.operators) {
    positiveInt(op.parallelism, `parallelism of ${op.operatorId}`, 1);
    if (op.parallelism > o.maxParallelism) throw new ConfigError(`parallelism of ${op.operatorId} (${op.parallelism}) exceeds maxParallelism ${o.maxParallelism}`);
    parallelism.set(op.operatorId, op.parallelism);
  }
  const seen = new Set<string>();
  for (const t of o.expectedTasks) {
    const p = parallelism.get(t.operatorId);
    if (p === undefined) throw new ConfigError(`expected task of unknown operator ${t.operatorId}`);
    if (!Number.isInteger(t.subtaskIndex) || t.subtaskIndex < 0 || t.subtaskIndex >= p) {
      throw new ConfigError(`expected task ${t.operatorId}/${t.subtaskIndex} outside parallelism ${p}`);
    }
    const k = taskKey(t.operatorId, t.subtaskIndex);
    if (seen.has(k)) throw new ConfigError(`expected task ${t.operatorId}/${t.subtaskIndex} listed twice`);
    seen.add(k);
  }
}

/**
 * CheckpointCoordinator: triggers checkpoints, collects the acknowledgements of every
 * expected subtask, publishes `_metadata`, hands the result to the
 * CompletedCheckpointStore, and aborts every checkpoint that does not complete. The
 * guarantees live in small role modules beside it, as Flink splits its coordinator:
 *
 *   checkpoint-id-counter.ts       ids strictly increase, never reused (also across
 *                                  attempts and processes of one job)
 *   checkpoint-request-decider.ts  interval, min pause, max concurrent
 *   checkpoint-failure-manager.ts  consecutive failures vs tolerableFailures
 *   checkpoint-stats-tracker.ts    per-checkpoint statistics (history)
 *   checkpoint-cleaner.ts          deletion of what aborted and late checkpoints uploaded
 *   restore-claim.ts               which recovered checkpoints this run owns (may delete)
 *   job-lease.ts                   one writer per job directory (the `fence` below)
 *
 * Life of a checkpoint:
 *   trigger   the decider allows it; id = idCounter.next(); participant.triggerCheckpoint();
 *             a timeout timer starts.
 *   ack       each expected subtask acknowledges once with its SubtaskState.
 *   complete  (all acks in; serialized through `completionChain`, one at a time)
 *             check the handles (paths inside the job, registry rules, savepoints
 *             self-contained) → fence (the run still holds the job's lease) → write
 *             `_metadata` (LAST, atomically) → store.register() → participant.
 *             notifyCheckpointComplete(id) → abort older pending checkpoints (Flink does
 *             the same) → 'completed' → in the background, store.enforceRetention()
 *             subsumes the run's own old checkpoints (deletes them) → 'subsumed'. The
 *             next completion waits for that subsumption before its registry check.
 *   abort     (decline, timeout, failed trigger, failed fence or `_metadata` write, stop)
 *             participant.notifyCheckpointAborted(id, reason), then the cleaner deletes
 *             every file the acked handles uploaded that nothing references — and the same
 *             for acks that arrive after the abort (FLINK-30461).
 *
 * At start (create()) nothing retained is deleted: the store subsumes only when this run
 * completes a checkpoint, so the checkpoint being restored survives until a newer one of
 * this run exists (restore-claim.ts). Orphans (objects no readable `_metadata` references)
 * are deleted, unless a `_metadata` is unreadable; the caller holds the job's lease, so no
 * other live run's uploads are among them.
 *
 * Concurrency: JS is single-threaded; every field below is owned by this object and
 * changed only by its methods. Nothing here awaits while holding a half-updated
 * structure: each mutation happens between awaits.
 */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { assert } from '../util/assert.ts';
import { crashPoint } from '../util/crash-points.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { CheckpointDeclinedError, ConfigError, errorMessage } from '../util/errors.ts';
import { CompletedCheckpointStore } from './completed-checkpoint-store.ts';
import { foreignJobDirectoryError, writeJobMarker } from './job-scan.ts';
import type { DeletionReport } from './completed-checkpoint-store.ts';
import { metadataPath, validateJobName } from '../storage/job-layout.ts';
import { serializeMetadata, validateMetadata } from './metadata.ts';
import type { SharedStateRegistry } from './shared-state-registry.ts';
import { METADATA_FORMAT_VERSION } from './types.ts';
import type { CheckpointMetadata, CheckpointParticipant, SubtaskCheckpointMetrics, SubtaskState } from './types.ts';
import { InMemoryCheckpointIdCounter, type CheckpointIdCounter } from './checkpoint-id-counter.ts';
import { CheckpointRequestDecider } from './checkpoint-request-decider.ts';
import { CheckpointFailureManager } from './checkpoint-failure-manager.ts';
import { CheckpointStatsTracker, type TrackedCheckpoint } from './checkpoint-stats-tracker.ts';
import { CheckpointCleaner } from './checkpoint-cleaner.ts';
import type { RunIdentity } from './restore-claim.ts';
import type {
  CheckpointCoordinatorOptions, CheckpointEvent, CheckpointKind, CheckpointStats, CompletedCheckpointInfo, TaskId,
} from './coordinator-types.ts';

export type {
  CheckpointCoordinatorOptions, CheckpointEvent, CheckpointKind, CheckpointStats, CompletedCheckpointInfo, TaskId,
} from './coordinator-types.ts';

interface Ack {
  readonly state: SubtaskState;
  readonly metrics: SubtaskCheckpointMetrics;
}

/** One checkpoint in flight. Owned by the coordinator; removed from `pending` when it completes or aborts. */
interface PendingCheckpoint {
  readonly id: number;
  readonly kind: CheckpointKind;
  readonly triggerTime: number;
  /** Task keys not yet acknowledged. */
  readonly waiting: Set<string>;
  readonly acks: Map<string, Ack>;
  timer: TimerHandle | undefined;
  /** All acks are in; queued or running in the completion chain. Only a newer completion may abort it now. */
  finalizing: boolean;
  /** clock.monotonic() when the last acknowledgement came in (finalize()). */
  allAckedAt: number;
  /** Completed or aborted (settled exactly once). */
  done: boolean;
  readonly tracked: TrackedCheckpoint;
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
  private readonly timeout: number;
  private readonly maxParallelism: number;
  private readonly operators: readonly { readonly operatorId: string; readonly parallelism: number }[];
  private readonly onEvent: ((event: CheckpointEvent) => void) | undefined;
  private readonly fence: (() => Promise<void>) | undefined;
  private readonly run: RunIdentity | undefined;

  private readonly ids: CheckpointIdCounter;
  private readonly decider: CheckpointRequestDecider;
  private readonly failures: CheckpointFailureManager;
  private readonly stats: CheckpointStatsTracker;
  private readonly cleaner: CheckpointCleaner;

  private readonly pending = new Map<number, PendingCheckpoint>();
  /** Serializes completions: `_metadata` publication and store.add() happen one at a time, in order. */
  private completionChain: Promise<void> = Promise.resolve();
  /** The subsumption started by the latest completion (it never rejects). */
  private retention: Promise<void> = Promise.resolve();
  private stopped = false;

  private constructor(options: CheckpointCoordinatorOptions, store: CompletedCheckpointStore, ids: CheckpointIdCounter) {
    this.job = options.job;
    this.store = store;
    this.storage = options.storage;
    this.clock = options.clock;
    this.participant = options.participant;
    this.expected = [...options.expectedTasks];
    this.timeout = options.timeout;
    this.maxParallelism = options.maxParallelism;
    this.operators = [...options.operators];
    this.onEvent = options.onEvent;
    this.fence = options.fence;
    this.run = options.run;
    this.ids = ids;
    this.decider = new CheckpointRequestDecider({
      clock: options.clock,
      interval: options.interval,
      minPause: options.minPause ?? 0,
      maxConcurrent: options.maxConcurrent ?? 1,
      inFlight: () => this.inFlightCheckpoints(),
      trigger: () => {
        this.triggerCheckpoint('checkpoint').catch(() => {
          // reported through the 'failed' event and history
        });
      },
      skipped: (reason) => this.emit({ type: 'skipped', reason }),
    });
    this.failures = new CheckpointFailureManager(options.tolerableFailures);
    this.stats = new CheckpointStatsTracker(options.clock, options.historySize ?? 20);
    this.cleaner = new CheckpointCleaner({
      job: options.job,
      storage: options.storage,
      isProtected: (path) => this.pendingPaths().has(path) || this.store.isReferenced(path),
      emit: (e) => this.emit(e),
    });
  }

  /**
   * Recovers the job's completed checkpoints from storage (registry counts included, the
   * run's owned and foreign ones apart), deletes orphans (unless a `_metadata` is
   * unreadable or cleanupOrphansOnStart is false), deletes no retained checkpoint, and
   * returns a coordinator whose next id is above every id in storage and every id the
   * counter handed out. Call start() for periodic checkpoints.
   */
  static async create(options: CheckpointCoordinatorOptions): Promise<CheckpointCoordinator> {
    validateOptions(options);
    const recovered = await CompletedCheckpointStore.recover({
      storage: options.storage, job: options.job, retained: options.retained, ...(options.run ? { run: options.run } : {}),
    });
    // Never write into, or delete from, a directory weir did not create; mark the ones it did.
    if (recovered.ownership === 'foreign') throw foreignJobDirectoryError(options.storage.uri, options.job, 'use');
    if (recovered.ownership !== 'marked') await writeJobMarker(options.storage, options.job);
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
    const ids = options.idCounter ?? new InMemoryCheckpointIdCounter(options.firstCheckpointId ?? 1);
    await ids.advanceTo(Math.max(recovered.maxCheckpointId + 1, latest + 1));
    const coordinator = new CheckpointCoordinator(options, recovered.store, ids);
    for (const message of warnings) coordinator.emit({ type: 'warning', checkpointId: undefined, message });
    coordinator.emit({
      type: 'recovered',
      latestCheckpointId: recovered.store.latest()?.checkpointId,
      nextCheckpointId: ids.peek(),
      orphansDeleted,
      unreadable: recovered.unreadable.map((u) => u.path),
      subsumed: [],
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
    return this.ids.peek();
  }

  pendingCheckpointIds(): number[] {
    return [...this.pending.keys()].sort((a, b) => a - b);
  }

  /** The last `historySize` checkpoints, oldest first. */
  history(): CheckpointStats[] {
    return this.stats.history();
  }

  /** Starts periodic triggering (no-op if interval is 0). */
  start(): void {
    assert(!this.stopped, 'coordinator stopped');
    this.decider.start();
  }

  /**
   * Suspends periodic triggering (manual triggers still work): the job took its final
   * checkpoint and only drains, so every periodic trigger would be refused and counted
   * as a failed checkpoint. resumePeriodic() undoes it.
   */
  pausePeriodic(): void {
    this.decider.pause();
  }

  /** Resumes periodic triggering after pausePeriodic(). */
  resumePeriodic(): void {
    this.decider.resume();
  }

  /**
   * Triggers a checkpoint or savepoint now; resolves when it completes, rejects with
   * CheckpointDeclinedError when it is aborted. A checkpoint is refused while
   * maxConcurrent checkpoints are in flight; savepoints are never refused for that.
   */
  triggerCheckpoint(kind: CheckpointKind = 'checkpoint'): Promise<CompletedCheckpointInfo> {
    if (this.stopped) return Promise.reject(new CheckpointDeclinedError(this.ids.peek(), 'coordinator stopped'));
    const refusal = this.decider.refusal(kind);
    if (refusal !== undefined) return Promise.reject(new CheckpointDeclinedError(this.ids.peek(), refusal));
    const id = this.ids.next();
    if (id === undefined) {
      return Promise.reject(new CheckpointDeclinedError(this.ids.peek(), 'checkpoint ids are being reserved in storage; try again'));
    }
    const triggerTime = this.clock.now();
    let resolve!: (info: CompletedCheckpointInfo) => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<CompletedCheckpointInfo>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const p: PendingCheckpoint = {
      id,
      kind,
      triggerTime,
      waiting: new Set(this.expected.map((t) => taskKey(t.operatorId, t.subtaskIndex))),
      acks: new Map(),
      timer: undefined,
      finalizing: false,
      allAckedAt: 0,
      done: false,
      tracked: this.stats.triggered(id, kind, triggerTime, this.expected.length),
      resolve,
      reject,
    };
    this.pending.set(id, p);
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
      this.cleaner.discard(checkpointId, [state], true);
      return;
    }
    const key = taskKey(state.operatorId, state.subtaskIndex);
    if (!p.waiting.has(key)) {
      const first = p.acks.get(key);
      this.emit({ type: 'warning', checkpointId, message: first
        ? `duplicate ack from ${state.operatorId}/${state.subtaskIndex}; its files are discarded`
        : `ack from unexpected subtask ${state.operatorId}/${state.subtaskIndex}; its files are discarded` });
      this.cleaner.discard(checkpointId, [state], true);
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
    this.stats.acknowledged(p.tracked, state, metrics);
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

  /**
   * Cancels timers, aborts pending checkpoints (finalizing ones may finish) and waits for
   * background work, so the aborted checkpoints' acknowledged uploads are deleted before it
   * resolves. Acks that arrive later are still cleaned up (acknowledge() after stop).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    this.decider.stop();
    for (const p of [...this.pending.values()]) {
      if (!p.finalizing) this.abort(p, 'coordinator stopped', { countFailure: false });
    }
    await this.whenIdle();
  }

  /** Resolves when no completion or cleanup is running (for tests and shutdown). */
  async whenIdle(): Promise<void> {
    await this.cleaner.whenIdle(() => this.completionChain);
  }

  private inFlightCheckpoints(): number {
    let n = 0;
    for (const p of this.pending.values()) if (p.kind === 'checkpoint') n++;
    return n;
  }

  // ---- completion ----------------------------------------------------------------------

  private finalize(p: PendingCheckpoint): void {
    p.finalizing = true;
    p.allAckedAt = this.clock.monotonic();
    p.timer?.cancel();
    const step = this.completionChain.then(() => this.complete(p));
    this.completionChain = step.catch((err: unknown) => {
      // complete() handles its own failures; reaching here is a bug in it.
      this.emit({ type: 'warning', checkpointId: p.id, message: `completion failed: ${errorMessage(err)}` });
    });
    this.cleaner.track(this.completionChain);
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
      ...(this.run ? { runId: this.run.runId } : {}),
      ...(this.run?.restoredFrom !== undefined ? { restoredFrom: this.run.restoredFrom } : {}),
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
    // The previous completion's subsumption runs in the background; let it end first, so
    // no checkpoint is unregistered between the registry check below and register(): a
    // file this checkpoint re-references stays registered until it is registered again.
    await this.retention;
    if (p.done) return;
    const metadata = this.buildMetadata(p);
    const problems = this.problems(metadata);
    if (problems.length > 0) {
      this.abort(p, `invalid snapshot: ${problems.join('; ')}`, { force: true });
      return;
    }
    if (this.fence !== undefined) {
      try {
        await this.fence();
      } catch (err) {
        this.abort(p, `not published: ${errorMessage(err)}`, { force: true });
        return;
      }
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
    const published = this.clock.monotonic();
    try {
      this.store.register(metadata);
    } catch (err) {
      // Only a broken invariant gets here (the registry rules were checked above).
      this.stats.failed(p.tracked, `store.register failed: ${errorMessage(err)}`);
      p.reject(err instanceof Error ? err : new Error(errorMessage(err)));
      throw err;
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
    const stats = this.stats.completed(p.tracked, metadata.fullSize, metadata.checkpointedSize, {
      publishMillis: published - p.allAckedAt,
    });
    this.failures.completed(p.kind);
    const info: CompletedCheckpointInfo = {
      checkpointId: p.id,
      kind: p.kind,
      metadataPath: path,
      triggerTime: p.triggerTime,
      completeTime: metadata.completeTime,
      durationMillis: stats.durationMillis ?? 0,
      fullSize: metadata.fullSize,
      checkpointedSize: metadata.checkpointedSize,
    };
    this.emit({ type: 'completed', info, stats });
    if (p.kind === 'checkpoint') {
      this.decider.onCheckpointEnded();
      this.subsumeAfter(p.id, published);
    }
    p.resolve(info);
  }

  /**
   * Deletes the checkpoints beyond the retained ones after `completedId` was reported
   * (Flink's CheckpointsCleaner discards subsumed checkpoints asynchronously too): a
   * subsumption of a few dozen files took 1-2 s on a busy event loop, and counting it in
   * the completion delayed every checkpoint and the confirmation the subtasks wait for.
   * A crash before it ends leaves a retained checkpoint too many or orphans, which the
   * next run subsumes or deletes. The next completion and stop() wait for it.
   */
  private subsumeAfter(completedId: number, published: number): void {
    const retention = this.store.enforceRetention().then((report: DeletionReport) => {
      for (const f of report.failed) {
        this.emit({ type: 'warning', checkpointId: completedId, message: `could not delete ${f.path}: ${errorMessage(f.error)}` });
      }
      this.emit({
        type: 'subsumed', checkpointId: completedId, subsumed: report.subsumed.map((m) => m.checkpointId),
        subsumeMillis: this.clock.monotonic() - published,
      });
    }, (err: unknown) => {
      this.emit({ type: 'warning', checkpointId: completedId, message: `subsuming after checkpoint ${completedId} failed: ${errorMessage(err)}` });
    });
    this.retention = retention;
    this.cleaner.track(retention);
  }

  // ---- abort -----------------------------------------------------------------------------

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
    if (opts.deleteFiles ?? true) this.cleaner.discard(p.id, [...p.acks.values()].map((a) => a.state), false);
    const stats = this.stats.failed(p.tracked, reason);
    this.emit({ type: 'failed', checkpointId: p.id, kind: p.kind, reason, stats });
    if (this.failures.failed(p.kind, opts.countFailure ?? true)) {
      this.emit({ type: 'failure-threshold-exceeded', consecutiveFailures: this.failures.consecutiveFailures, reason });
    }
    if (p.kind === 'checkpoint') this.decider.onCheckpointEnded();
    p.reject(new CheckpointDeclinedError(p.id, reason));
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

/**
 * CompletedCheckpointStore: the completed checkpoints a job keeps (`retained`, default 1
 * like Flink's state.checkpoints.num-retained), their shared-file reference counts, and
 * the deletion of what a subsumed checkpoint leaves behind.
 *
 * register(metadata) writes nothing (the coordinator already published `_metadata`); it
 * registers the checkpoint's shared files. enforceRetention() (add() = both) then subsumes
 * the oldest checkpoints beyond `retained`, each in this order:
 *   1. delete its `_metadata` — FIRST, so a crash can never leave a `_metadata` whose
 *      files are gone (a checkpoint without `_metadata` does not exist);
 *   2. drop it from the retained list and unregister it from the registry (in memory);
 *   3. delete its private files;
 *   4. delete the shared files whose count reached 0;
 *   5. delete whatever else is left in its `chk-<N>/` directory.
 * If step 1 fails, the checkpoint stays retained and registered (its `_metadata` still
 * exists, so its files must stay referenced) and the next add() or recover() subsumes
 * it again. A crash after step 1 leaves only unreferenced files: orphans that the next
 * start deletes.
 *
 * Savepoints are kept apart: never counted for retention, never subsumed (FLINK-21351),
 * never registered (they are self-contained), never deleted by this store.
 *
 * Ownership (restore-claim.ts): given the run, recover() splits the directory's
 * checkpoints into OWNED ones (this run's and the restored checkpoint's lineage: retained,
 * counted, subsumed) and FOREIGN ones (registered so their files stay referenced, never
 * counted, never subsumed, never deleted). The restored checkpoint is pinned: it is
 * subsumed only once a newer checkpoint of this run is retained. Without a run (tools,
 * tests) every checkpoint is owned.
 *
 * Ownership: one store per job; the coordinator calls register() one at a time (its
 * completion chain) and enforceRetention() after each, which the store serializes; the
 * store is the only mutator of its registry.
 */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { limitConcurrency } from '../storage/concurrency.ts';
import { assert } from '../util/assert.ts';
import { crashPoint } from '../util/crash-points.ts';
import { ConfigError } from '../util/errors.ts';
import { findOrphans, scanJob } from './job-scan.ts';
import type { JobOwnership } from './job-scan.ts';
import type { UnreadableMetadata } from './job-scan.ts';
import { checkpointDir, metadataPath, validateJobName } from '../storage/job-layout.ts';
import { referencedPaths } from './metadata.ts';
import { SharedStateRegistry } from './shared-state-registry.ts';
import type { ObjectInfo } from '../storage/checkpoint-storage.ts';
import type { CheckpointMetadata } from './types.ts';
import { ownedCheckpointIds, type RunIdentity } from './restore-claim.ts';

export interface CompletedCheckpointStoreOptions {
  readonly storage: CheckpointStorage;
  readonly job: string;
  /** Completed checkpoints to keep (savepoints not counted). Default 1. */
  readonly retained?: number;
  readonly registry?: SharedStateRegistry;
  /** The run that uses the store; decides which recovered checkpoints it owns. Unset: all. */
  readonly run?: RunIdentity;
}

export interface DeletionReport {
  /** Checkpoints subsumed by this call. */
  readonly subsumed: readonly CheckpointMetadata[];
  /** Objects deleted, in deletion order. */
  readonly deleted: readonly string[];
  /** Deletions that failed (left for the next recover()/gc to find as orphans or checkpoints). */
  readonly failed: readonly { readonly path: string; readonly error: unknown }[];
}

export interface RecoveredStore {
  readonly store: CompletedCheckpointStore;
  /** Highest checkpoint id used in storage, including directories without `_metadata`. */
  readonly maxCheckpointId: number;
  /** Objects no readable `_metadata` references. */
  readonly orphans: readonly ObjectInfo[];
  /** `_metadata` files that could not be used; while any exist, orphans must not be deleted. */
  readonly unreadable: readonly UnreadableMetadata[];
  /** Whether weir created the job directory (job-scan.ts): nothing may be deleted in a 'foreign' one. */
  readonly ownership: JobOwnership;
}

export class CompletedCheckpointStore {
  readonly storage: CheckpointStorage;
  readonly job: string;
  readonly retained: number;
  readonly registry: SharedStateRegistry;
  readonly run: RunIdentity | undefined;
  /** Retained completed checkpoints this run owns, ascending id. Invariant: registered in `registry`. */
  private readonly completed: CheckpointMetadata[] = [];
  /** Deletions of one subsumption in flight at once. */
  private readonly deleteLimit = limitConcurrency(8);
  /** The running and queued enforceRetention() calls, one after the other. */
  private retentionChain: Promise<void> = Promise.resolve();
  /** Completed checkpoints this run does not own, ascending id: registered, never counted, never deleted. */
  private readonly foreignList: CheckpointMetadata[] = [];
  /** Completed savepoints, ascending id. Never registered, never subsumed. */
  private readonly savepointList: CheckpointMetadata[] = [];
  /** Cache of every path the checkpoints and savepoints above reference; reset on every change. */
  private referenced: Set<string> | undefined;

  constructor(options: CompletedCheckpointStoreOptions) {
    this.storage = options.storage;
    this.job = validateJobName(options.job);
    this.retained = options.retained ?? 1;
    if (!Number.isInteger(this.retained) || this.retained < 1) {
      throw new ConfigError(`retained checkpoints must be an integer >= 1, got ${options.retained}`);
    }
    this.registry = options.registry ?? new SharedStateRegistry();
    this.run = options.run;
  }

  /**
   * Rebuilds a store (and its registry) from the `_metadata` files in storage, without
   * deleting anything. Checkpoints beyond `retained` stay until enforceRetention().
   * A newer metadata format is refused (ConfigError): this weir must not manage it.
   */
  static async recover(options: CompletedCheckpointStoreOptions): Promise<RecoveredStore> {
    const store = new CompletedCheckpointStore(options);
    const scan = await scanJob(store.storage, store.job);
    const newer = scan.unreadable.find((u) => u.error instanceof ConfigError && /format version/.test(u.error.message));
    if (newer) throw newer.error;
    const unreadable = [...scan.unreadable];
    const owned = store.run === undefined ? undefined : ownedCheckpointIds(scan.metadata, store.run);
    for (const m of scan.metadata) {
      if (m.kind === 'savepoint') {
        store.referenced = undefined;
        store.savepointList.push(m);
        continue;
      }
      const problems = store.registry.problems(m, { recovering: true });
      if (problems.length > 0) {
        unreadable.push({ path: metadataPath(store.job, m.checkpointId), error: new ConfigError(problems.join('; ')) });
        continue;
      }
      store.registry.registerCheckpoint(m, { recovering: true });
      (owned === undefined || owned.has(m.checkpointId) ? store.completed : store.foreignList).push(m);
      store.referenced = undefined;
    }
    return { store, maxCheckpointId: scan.maxCheckpointId, orphans: findOrphans(scan), unreadable, ownership: scan.ownership };
  }

  /** Adds a completed checkpoint or savepoint whose `_metadata` is already published, then subsumes. */
  async add(metadata: CheckpointMetadata): Promise<DeletionReport> {
    this.register(metadata);
    return metadata.kind === 'savepoint' ? { subsumed: [], deleted: [], failed: [] } : this.enforceRetention();
  }

  /**
   * Registers a completed checkpoint or savepoint whose `_metadata` is already published,
   * synchronously and without deleting anything: from here on it is the latest, its files
   * are referenced, and checkpoints beyond `retained` stay until enforceRetention(). The
   * coordinator reports the completion right after this and subsumes in the background
   * (Flink's CheckpointsCleaner discards subsumed checkpoints asynchronously too).
   */
  register(metadata: CheckpointMetadata): void {
    assert(metadata.job === this.job, () => `checkpoint of job ${metadata.job} added to the store of ${this.job}`);
    if (metadata.kind === 'savepoint') {
      assert(!this.savepointList.some((s) => s.checkpointId === metadata.checkpointId), 'savepoint added twice');
      this.referenced = undefined;
      this.savepointList.push(metadata);
      this.savepointList.sort((a, b) => a.checkpointId - b.checkpointId);
      return;
    }
    const last = this.completed[this.completed.length - 1];
    assert(last === undefined || metadata.checkpointId > last.checkpointId,
      () => `checkpoint ${metadata.checkpointId} completed after checkpoint ${last?.checkpointId}`);
    this.registry.registerCheckpoint(metadata);
    this.referenced = undefined;
    this.completed.push(metadata);
  }

  /**
   * Subsumes the oldest checkpoints beyond `retained` (see the file comment for the order).
   * Calls are serialized: one runs after the other ended, so two never take the same
   * checkpoint; a register() while one runs only adds to the end of the list it shortens.
   */
  enforceRetention(): Promise<DeletionReport> {
    const run = this.retentionChain.then(() => this.subsumeBeyondRetained());
    this.retentionChain = run.then(() => undefined, () => undefined);
    return run;
  }

  private async subsumeBeyondRetained(): Promise<DeletionReport> {
    const subsumed: CheckpointMetadata[] = [];
    const deleted: string[] = [];
    const failed: { path: string; error: unknown }[] = [];
    const del = async (path: string): Promise<boolean> => {
      try {
        await this.storage.delete(path);
        deleted.push(path);
        crashPoint('subsume-delete');
        return true;
      } catch (error) {
        failed.push({ path, error });
        return false;
      }
    };
    while (this.completed.length > this.retained) {
      const old = this.completed[0]!;
      if (!this.maySubsume(old)) break;
      // `_metadata` first. If that delete fails the checkpoint still exists in storage, so it
      // stays retained AND registered (its files stay referenced: no orphan cleanup may take
      // them) and the next enforceRetention() tries again. Unregistering it before this
      // point let a later orphan sweep delete files that a surviving `_metadata` named
      // (found by the 10% storage-fault test: `verify` reported them missing).
      if (!(await del(metadataPath(this.job, old.checkpointId)))) break;
      this.completed.shift();
      this.referenced = undefined;
      subsumed.push(old);
      const released = this.registry.unregisterCheckpoint(old);
      // Nothing references these any more (its `_metadata` is gone): delete them in
      // parallel, bounded — one at a time, a subsumption of a few dozen files kept the
      // next checkpoint's completion waiting for seconds on a busy event loop.
      const paths = [...old.subtasks.flatMap((s) => (s.keyed?.privateFiles ?? []).map((f) => f.path)), ...released.map((e) => e.path)];
      await Promise.all(paths.map((path) => this.deleteLimit(() => del(path))));
      const dir = checkpointDir(this.job, old.checkpointId);
      try {
        await this.storage.deletePrefix(dir);
      } catch (error) {
        failed.push({ path: dir, error });
      }
    }
    return { subsumed, deleted, failed };
  }

  /**
   * The checkpoints the next enforceRetention() will subsume if its deletes succeed (the
   * oldest beyond `retained`, the pinned restored checkpoint excepted): no longer usable for
   * a restore once that starts, so views leave them out right after a completion.
   */
  subsumable(): CheckpointMetadata[] {
    const out: CheckpointMetadata[] = [];
    for (let i = 0; this.completed.length - i > this.retained; i++) {
      const old = this.completed[i]!;
      if (!this.maySubsume(old)) break;
      out.push(old);
    }
    return out;
  }

  /** The restored checkpoint is pinned until a newer checkpoint of this run is retained (restore-claim.ts, guarantee 1). */
  private maySubsume(old: CheckpointMetadata): boolean {
    const run = this.run;
    if (run === undefined || old.checkpointId !== run.restoredFrom) return true;
    return this.completed.some((m) => m.runId === run.runId && m.checkpointId > old.checkpointId);
  }

  /** The newest completed checkpoint or savepoint (what a restore uses). */
  latest(): CheckpointMetadata | undefined {
    const c = this.completed[this.completed.length - 1];
    const s = this.savepointList[this.savepointList.length - 1];
    if (c === undefined) return s;
    if (s === undefined) return c;
    return s.checkpointId > c.checkpointId ? s : c;
  }

  latestCheckpoint(): CheckpointMetadata | undefined {
    return this.completed[this.completed.length - 1];
  }

  /** Retained checkpoints (owned and foreign) and savepoints, ascending id. */
  all(): CheckpointMetadata[] {
    return [...this.completed, ...this.foreignList, ...this.savepointList].sort((a, b) => a.checkpointId - b.checkpointId);
  }

  /** Completed checkpoints this run does not own (restore-claim.ts): never deleted by it. */
  foreignCheckpoints(): CheckpointMetadata[] {
    return [...this.foreignList];
  }

  checkpoints(): CheckpointMetadata[] {
    return [...this.completed];
  }

  savepoints(): CheckpointMetadata[] {
    return [...this.savepointList];
  }

  get(checkpointId: number): CheckpointMetadata | undefined {
    return this.all().find((m) => m.checkpointId === checkpointId);
  }

  /** True if a retained (owned or foreign) checkpoint or a savepoint references this path. */
  isReferenced(path: string): boolean {
    if (this.registry.isRegistered(path)) return true;
    this.referenced ??= new Set(this.all().flatMap((m) => referencedPaths(m)));
    return this.referenced.has(path);
  }
}

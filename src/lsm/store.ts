/**
 * LsmStoreImpl: the LsmStore contract (types.ts) over memtables, a version set of
 * leveled tables, and background work in two lanes — flushes and compactions, each
 * FIFO, each on its own worker thread (or inline) — so a flush never waits behind a
 * compaction (RocksDB's high-priority flush threads) and a checkpoint, which waits for
 * its memtable's flush, is never delayed by compaction.
 *
 * Ownership and invariants (single thread; nothing here is touched by the worker):
 *  - `mem` is the only writable memtable; `sealed` holds sealed memtables oldest first;
 *    a sealed memtable leaves `sealed` in the same synchronous step that installs the
 *    version containing its table, so a get never misses data in between.
 *  - Sequence numbers: versions.lastSequence is the last assigned; every entry in a
 *    memtable has a larger sequence than every entry in any table (memtables are
 *    flushed in order), which lets get() apply table range tombstones only to tables.
 *  - One job at a time per lane (`runLane`): flushes install in seal order, and a
 *    compaction's inputs cannot change under it — the only other version change that
 *    can happen meanwhile is a flush adding a NEWER file to L0, which commutes with it:
 *    the compaction's edit deletes its inputs by name and adds to a level >= 1, L0 keeps
 *    the new file in front (newer than every compaction output), and a compaction's
 *    drop decisions look only at files below its output level (a new L0 file holds
 *    newer sequences than every input, so it hides nothing an input drops).
 *  - Every version change goes through logAndApply: its MANIFEST is durable before the
 *    version is installed, and files are deleted only when no live Version lists them
 *    (VersionSet), after the table cache has closed them — so never while the durable
 *    MANIFEST names them (docs/lsm.md "Durability order").
 */
import { join } from 'node:path';
import { assert } from '../util/assert.ts';
import { crashPoint } from '../util/crash-points.ts';
import { systemClock, type Clock } from '../util/clock.ts';
import { compareBytes, prefixSuccessor } from '../util/bytes.ts';
import { ConfigError, CorruptionError, PermanentStorageError, StateError } from '../util/errors.ts';
import type {
  FlushTiming, LiveFile, LsmIterator, LsmOptions, LsmSnapshot, LsmStats, LsmStore, ScanOptions, SnapshotFiles, WriteBatch,
} from './types.ts';
import { Memtable, type PointHit } from './memtable/memtable.ts';
import { MergeAcc } from './merge.ts';
import { VersionSet } from './version/version-set.ts';
import { applyEdit, type Version, type VersionEdit } from './version/version.ts';
import { tableFileName, parseTableFileName, type FileMeta } from './version/file-meta.ts';
import { decodeManifest, encodeManifest, MANIFEST_NAME, writeManifestFile } from './version/manifest.ts';
import { TableSet } from './table-set.ts';
import { MergingCursor } from './merging-cursor.ts';
import { LevelCursor } from './level-cursor.ts';
import type { InternalCursor } from './internal-cursor.ts';
import { StoreIterator } from './store-iterator.ts';
import { BatchOp, WriteBatchImpl } from './write-batch.ts';
import { InlineJobRunner, sharedWorkerRunner, type JobRunner } from './compaction/job-runner.ts';
import type { CompactionJob, OtherFile, TableBuildOptions } from './compaction/job-types.ts';
import { pickCompaction, pickRange, type CompactionPick, type PickerOptions } from './compaction/picker.ts';
import { DEFAULT_COMPRESSION } from './compression.ts';
import { realFs } from './vfs/real-fs.ts';
import { isNotFound, type Vfs } from './vfs/vfs.ts';
import { acquireDirLock, type DirLock, type ProcessProbe } from './dir-lock.ts';

/** Extra, optional dependencies (compatible additions to LsmOptions, see index.ts). */
export interface LsmDependencies {
  /** Time source for stall accounting and table creation times. Default systemClock. */
  clock?: Clock;
  /** Random source in [0, 1) for the per-open session id. Default Math.random. */
  random?: () => number;
  /**
   * The file system (src/lsm/vfs; tests pass ErrorFs or LoggingFs). Default the real
   * one. A background worker thread always writes through the real file system, so a
   * different fs requires useWorker: false.
   */
  fs?: Vfs;
  /** How the LOCK file judges its holder's liveness (dir-lock.ts). Default the real OS. */
  processProbe?: ProcessProbe;
  /**
   * Executors of the two background lanes (tests hold a compaction to check that a flush
   * does not wait behind it). Default: the process's shared flush and compaction worker
   * threads (useWorker), or inline. Closed by the store.
   */
  jobRunners?: { flush: JobRunner; compaction: JobRunner };
}

type Lane = 'flush' | 'compaction';

/** One FIFO lane of background jobs. */
interface LaneState {
  readonly jobs: (() => Promise<void>)[];
  running: boolean;
}

type Resolved = Required<Omit<LsmOptions, 'dir'>> & { dir: string };

function resolveOptions(o: LsmOptions): Resolved {
  const r: Resolved = {
    dir: o.dir,
    memtableBytes: o.memtableBytes ?? 64 * 1024 * 1024,
    maxSealedMemtables: o.maxSealedMemtables ?? 2,
    blockSize: o.blockSize ?? 4096,
    restartInterval: o.restartInterval ?? 16,
    bloomBitsPerKey: o.bloomBitsPerKey ?? 10,
    compression: o.compression ?? DEFAULT_COMPRESSION,
    blockCacheBytes: o.blockCacheBytes ?? 64 * 1024 * 1024,
    maxOpenFiles: o.maxOpenFiles ?? 256,
    l0CompactionTrigger: o.l0CompactionTrigger ?? 4,
    levelBaseBytes: o.levelBaseBytes ?? 64 * 1024 * 1024,
    levelMultiplier: o.levelMultiplier ?? 10,
    targetFileBytes: o.targetFileBytes ?? 16 * 1024 * 1024,
    numLevels: o.numLevels ?? 7,
    autoCompaction: o.autoCompaction ?? true,
    useWorker: o.useWorker ?? true,
  };
  const positive = ['memtableBytes', 'maxSealedMemtables', 'blockSize', 'restartInterval', 'blockCacheBytes', 'maxOpenFiles', 'l0CompactionTrigger', 'levelBaseBytes', 'targetFileBytes'] as const;
  for (const k of positive) if (!(Number.isFinite(r[k]) && r[k] > 0)) throw new ConfigError(`LSM option ${k} must be > 0, got ${r[k]}`);
  if (!(r.levelMultiplier >= 2)) throw new ConfigError(`LSM option levelMultiplier must be >= 2, got ${r.levelMultiplier}`);
  if (!(Number.isInteger(r.numLevels) && r.numLevels >= 2)) throw new ConfigError(`LSM option numLevels must be an integer >= 2, got ${r.numLevels}`);
  if (typeof r.dir !== 'string' || r.dir === '') throw new ConfigError('LSM option dir is required');
  return r;
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}
function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

interface SealedEntry {
  mem: Memtable;
  /** Resolved when the memtable's table is installed (or rejected if the flush failed). */
  flushed: Deferred<void>;
  /** Snapshots whose data ends with this memtable: they get the version installed by its flush. */
  snapshots: SnapshotImpl[];
  /** clock.monotonic() when sealed (its flush was queued). */
  sealedAt: number;
  /** Phases of its flush, set when the flush is installed (snapshot waiters report them). */
  timing: FlushTiming | undefined;
}

class SnapshotImpl implements LsmSnapshot {
  readonly id: number;
  readonly seq: number;
  private readonly store: LsmStoreImpl;
  /** Version at snapshot() (pinned per the contract) and the one holding its data (set when ready). */
  pinned: Version | null;
  dataVersion: Version | null = null;
  /** The flush it waited for (undefined: nothing to flush at snapshot()). */
  flush: FlushTiming | undefined;
  readonly done = deferred<void>();
  released = false;

  constructor(store: LsmStoreImpl, id: number, seq: number, pinned: Version) {
    this.store = store;
    this.id = id;
    this.seq = seq;
    this.pinned = pinned;
  }

  async ready(): Promise<SnapshotFiles> {
    await this.done.promise;
    if (this.released || this.dataVersion === null) throw new StateError(`LSM snapshot ${this.id} was released`);
    const files = this.store.snapshotFiles(this, this.dataVersion);
    return this.flush === undefined ? files : { ...files, flush: this.flush };
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.store.releaseSnapshot(this);
  }
}

export class LsmStoreImpl implements LsmStore {
  readonly dir: string;
  private readonly o: Resolved;
  private readonly clock: Clock;
  private readonly fs: Vfs;
  readonly sessionId: string;
  private mem: Memtable;
  private readonly sealed: SealedEntry[] = [];
  private nextMemId = 1;
  private readonly versions: VersionSet;
  private readonly tables: TableSet;
  private readonly runners: { flush: JobRunner; compaction: JobRunner };
  private readonly picker: PickerOptions;
  private readonly compactCursors: (Uint8Array | undefined)[] = [];

  // Background work: two lanes, so neither starves nor delays the other.
  private readonly lanes: Record<Lane, LaneState> = { flush: { jobs: [], running: false }, compaction: { jobs: [], running: false } };
  private autoCompactionQueued = false;
  private idleWaiters: (() => void)[] = [];
  private capacityWaiters: { resolve: () => void; reject: (e: unknown) => void; since: number }[] = [];
  private bgError: Error | null = null;
  /** Tail of the chain of MANIFEST writes (logAndApply); never rejects. */
  private manifestTail: Promise<void> = Promise.resolve();
  private readonly pendingDeletes = new Set<Promise<void>>();
  private closed = false;

  // Snapshots.
  private readonly snapshots = new Set<SnapshotImpl>();
  private nextSnapshotId = 1;

  // Stats.
  private bytesIngested = 0;
  private bytesWrittenByFlush = 0;
  private bytesWrittenByCompaction = 0;
  private flushes = 0;
  private compactions = 0;
  private stallMillis = 0;
  /** Background job timing (issue 11/12: does a flush wait behind a compaction?). */
  private flushQueuedMillis = 0;
  private flushQueuedMaxMillis = 0;
  private flushRunMillis = 0;
  private compactionRunMillis = 0;

  private readonly hit: PointHit = { seq: 0, value: null, merge: false, entry: -1 };

  private readonly lock: DirLock;

  /** `lock`: this store's hold on dir/LOCK, released by close()/abandon(). */
  constructor(options: LsmOptions & LsmDependencies, manifest: { levels: FileMeta[][]; lastSequence: number; nextFileNumber: number } | null, lock: DirLock) {
    this.lock = lock;
    this.o = resolveOptions(options);
    this.dir = this.o.dir;
    this.clock = options.clock ?? systemClock;
    this.fs = options.fs ?? realFs;
    if (this.fs !== realFs && this.o.useWorker) throw new ConfigError('LSM option fs needs useWorker: false (the worker thread writes through the real file system)');
    const random = options.random ?? Math.random;
    this.sessionId = Math.floor(random() * 0x1_0000_0000).toString(16).padStart(8, '0').slice(-8);
    this.tables = new TableSet(this.dir, this.o.blockCacheBytes, this.o.maxOpenFiles, this.fs);
    this.versions = new VersionSet({
      levels: manifest?.levels ?? [],
      lastSequence: manifest?.lastSequence ?? 0,
      nextFileNumber: manifest?.nextFileNumber ?? 1,
      numLevels: this.o.numLevels,
      deleteFile: (f) => this.deleteFile(f),
    });
    for (const [, f] of this.versions.current.allFiles()) this.tables.register(f);
    this.mem = new Memtable(this.nextMemId++);
    if (options.jobRunners !== undefined) this.runners = options.jobRunners;
    else if (this.o.useWorker) this.runners = { flush: sharedWorkerRunner('flush'), compaction: sharedWorkerRunner('compaction') };
    else {
      const inline = new InlineJobRunner(this.fs);
      this.runners = { flush: inline, compaction: inline };
    }
    this.picker = {
      l0CompactionTrigger: this.o.l0CompactionTrigger,
      levelBaseBytes: this.o.levelBaseBytes,
      levelMultiplier: this.o.levelMultiplier,
      numLevels: this.o.numLevels,
    };
    this.scheduleAutoCompaction();
  }

  // ───────────────────────────── writes ─────────────────────────────

  private checkWritable(): void {
    if (this.closed) throw new StateError(`LSM store ${this.dir} is closed`);
  }

  put(key: Uint8Array, value: Uint8Array): void {
    this.checkWritable();
    this.mem.add(key, ++this.versions.lastSequence, value);
    this.bytesIngested += key.length + value.length;
    if (this.mem.bytes >= this.o.memtableBytes) this.sealActive();
  }

  merge(key: Uint8Array, operand: Uint8Array): void {
    this.checkWritable();
    this.mem.add(key, ++this.versions.lastSequence, operand, true);
    this.bytesIngested += key.length + operand.length;
    if (this.mem.bytes >= this.o.memtableBytes) this.sealActive();
  }

  delete(key: Uint8Array): void {
    this.checkWritable();
    this.mem.add(key, ++this.versions.lastSequence, null);
    this.bytesIngested += key.length;
    if (this.mem.bytes >= this.o.memtableBytes) this.sealActive();
  }

  deleteRange(start: Uint8Array, end: Uint8Array): void {
    this.checkWritable();
    if (compareBytes(start, end) >= 0) return;
    this.mem.addRangeTombstone(start, end, ++this.versions.lastSequence);
    this.bytesIngested += start.length + end.length;
    if (this.mem.bytes >= this.o.memtableBytes) this.sealActive();
  }

  batch(): WriteBatch {
    return new WriteBatchImpl();
  }

  write(batch: WriteBatch): void {
    this.checkWritable();
    if (!(batch instanceof WriteBatchImpl)) throw new ConfigError('write() takes a batch made by this store\'s batch()');
    const { ops, keys, args } = batch;
    const mem = this.mem;
    // Validate first so that a bad op cannot leave half a batch applied.
    for (let i = 0; i < ops.length; i++) if (ops[i] === BatchOp.Put || ops[i] === BatchOp.Merge) assert(args[i] instanceof Uint8Array, 'batch put without value');
    let seq = this.versions.lastSequence;
    for (let i = 0; i < ops.length; i++) {
      const k = keys[i]!;
      const a = args[i]!;
      switch (ops[i]) {
        case BatchOp.Put:
          mem.add(k, ++seq, a);
          this.bytesIngested += k.length + a.length;
          break;
        case BatchOp.Merge:
          mem.add(k, ++seq, a, true);
          this.bytesIngested += k.length + a.length;
          break;
        case BatchOp.Delete:
          mem.add(k, ++seq, null);
          this.bytesIngested += k.length;
          break;
        default:
          if (compareBytes(k, a) < 0) {
            mem.addRangeTombstone(k, a, ++seq);
            this.bytesIngested += k.length + a.length;
          }
      }
    }
    this.versions.lastSequence = seq;
    if (this.mem.bytes >= this.o.memtableBytes) this.sealActive();
  }

  get writeStalled(): boolean {
    if (this.sealed.length >= this.o.maxSealedMemtables) return true;
    return this.o.autoCompaction && this.versions.current.levels[0]!.length >= this.l0StopTrigger();
  }

  private l0StopTrigger(): number {
    return Math.max(this.o.l0CompactionTrigger * 3, this.o.l0CompactionTrigger + 8);
  }

  waitForWriteCapacity(): Promise<void> {
    if (this.bgError !== null) return Promise.reject(this.bgError);
    if (!this.writeStalled) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.capacityWaiters.push({ resolve, reject, since: this.clock.monotonic() });
    });
  }

  private notifyCapacity(): void {
    if (this.capacityWaiters.length === 0) return;
    if (this.bgError === null && this.writeStalled) return;
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    const now = this.clock.monotonic();
    for (const w of waiters) {
      this.stallMillis += now - w.since;
      if (this.bgError !== null) w.reject(this.bgError);
      else w.resolve();
    }
  }

  /** Seals the active memtable (O(1), no I/O) and queues its flush. */
  private sealActive(): SealedEntry | undefined {
    if (this.mem.isEmpty) return this.sealed[this.sealed.length - 1];
    const m = this.mem;
    m.seal();
    const entry: SealedEntry = { mem: m, flushed: deferred<void>(), snapshots: [], sealedAt: this.clock.monotonic(), timing: undefined };
    entry.flushed.promise.catch(() => {}); // observed by flush()/snapshot waiters
    this.sealed.push(entry);
    this.mem = new Memtable(this.nextMemId++);
    this.push('flush', () => this.runFlushJob(entry));
    return entry;
  }

  // ───────────────────────────── reads ─────────────────────────────

  get(key: Uint8Array): Uint8Array | undefined {
    if (this.closed) throw new StateError(`LSM store ${this.dir} is closed`);
    const readSeq = this.versions.lastSequence;
    const hit = this.hit;
    let maxT = 0;
    let m = this.mem;
    if (m.hasTombstones) maxT = m.maxTombstoneCovering(key, readSeq);
    if (m.get(key, readSeq, hit)) {
      if (hit.merge && hit.seq > maxT) return this.getMerged(key, readSeq);
      return hit.value !== null && hit.seq > maxT ? hit.value : undefined;
    }
    for (let i = this.sealed.length - 1; i >= 0; i--) {
      m = this.sealed[i]!.mem;
      if (m.hasTombstones) {
        const t = m.maxTombstoneCovering(key, readSeq);
        if (t > maxT) maxT = t;
      }
      if (m.get(key, readSeq, hit)) {
        if (hit.merge && hit.seq > maxT) return this.getMerged(key, readSeq);
        return hit.value !== null && hit.seq > maxT ? hit.value : undefined;
      }
    }
    // Every table entry is older than every memtable entry: a memtable tombstone hides it.
    if (maxT > 0) return undefined;
    const v = this.versions.current;
    const ti = v.tombstones();
    const tableT = ti.count === 0 ? 0 : ti.maxCovering(key, readSeq);
    const l0 = v.levels[0]!;
    for (let i = 0; i < l0.length; i++) {
      const f = l0[i]!;
      if (compareBytes(key, f.smallest) < 0 || compareBytes(key, f.largest) > 0) continue;
      if (this.tableGet(f, key, readSeq, tableT)) return hit.merge && (tableT === 0 || hit.seq > tableT) ? this.getMerged(key, readSeq) : this.visible(tableT);
    }
    for (let l = 1; l < v.levels.length; l++) {
      if (v.levels[l]!.length === 0) continue;
      const i = v.findFile(l, key);
      if (i < 0) continue;
      if (this.tableGet(v.levels[l]![i]!, key, readSeq, tableT)) return hit.merge && (tableT === 0 || hit.seq > tableT) ? this.getMerged(key, readSeq) : this.visible(tableT);
    }
    return undefined;
  }

  /**
   * get() when the newest visible entry of key is a merge operand: walks every source
   * newest first again, collecting operands, down to the newest base — a Put, a Delete,
   * an entry hidden by a range tombstone (its sequence is below the largest covering
   * one: nothing there or below counts), or the end — and folds (merge.ts). Range
   * tombstones compare by sequence only, so a source's tombstones never hide an entry
   * of a newer source (memtables are newer than every table, see get()).
   */
  private getMerged(key: Uint8Array, readSeq: number): Uint8Array | undefined {
    const acc = new MergeAcc();
    const hit = this.hit;
    let maxT = 0;
    const mems = [this.mem];
    for (let i = this.sealed.length - 1; i >= 0; i--) mems.push(this.sealed[i]!.mem);
    for (const m of mems) {
      if (m.hasTombstones) {
        const t = m.maxTombstoneCovering(key, readSeq);
        if (t > maxT) maxT = t;
      }
      // Memtable views stay valid (the arena is append-only), so operands are not copied.
      for (let found = m.get(key, readSeq, hit); found; found = m.olderHit(hit)) {
        if (hit.seq < maxT) return acc.fold(null);
        if (!hit.merge) return hit.value === null && acc.length === 0 ? undefined : acc.fold(hit.value);
        acc.push(hit.value!);
      }
    }
    if (maxT > 0) return acc.fold(null);
    const v = this.versions.current;
    const ti = v.tombstones();
    const tableT = ti.count === 0 ? 0 : ti.maxCovering(key, readSeq);
    // One entry per key and table (flushes and compactions keep the newest only), newest table first.
    const visit = (f: FileMeta): Uint8Array | undefined | null => {
      if (!this.tables.get(f, key, readSeq, hit)) return null;
      if (hit.seq < tableT) return acc.fold(null);
      if (!hit.merge) return hit.value === null && acc.length === 0 ? undefined : acc.fold(hit.value);
      acc.push(hit.value!.slice()); // a view into a block that may be evicted
      return null;
    };
    for (const f of v.levels[0]!) {
      if (compareBytes(key, f.smallest) < 0 || compareBytes(key, f.largest) > 0) continue;
      const r = visit(f);
      if (r !== null) return r;
    }
    for (let l = 1; l < v.levels.length; l++) {
      if (v.levels[l]!.length === 0) continue;
      const i = v.findFile(l, key);
      if (i < 0) continue;
      const r = visit(v.levels[l]![i]!);
      if (r !== null) return r;
    }
    return acc.length === 0 ? undefined : acc.fold(null);
  }

  private tableGet(f: FileMeta, key: Uint8Array, readSeq: number, tombSeq: number): boolean {
    return tombSeq > 0 ? this.tables.getWithSeq(f, key, readSeq, this.hit) : this.tables.get(f, key, readSeq, this.hit);
  }

  private visible(tombSeq: number): Uint8Array | undefined {
    const hit = this.hit;
    if (hit.value === null) return undefined;
    if (tombSeq > 0 && hit.seq < tombSeq) return undefined;
    return hit.value;
  }

  scan(options: ScanOptions = {}): LsmIterator {
    if (this.closed) throw new StateError(`LSM store ${this.dir} is closed`);
    const readSeq = this.versions.lastSequence;
    const version = this.versions.current.ref();
    const mems = [this.mem, ...this.sealed.map((s) => s.mem)];
    let lower = options.start;
    let upper = options.end;
    if (options.prefix !== undefined) {
      if (lower === undefined || compareBytes(lower, options.prefix) < 0) lower = options.prefix;
      const succ = prefixSuccessor(options.prefix);
      if (succ !== undefined && (upper === undefined || compareBytes(succ, upper) < 0)) upper = succ;
    }
    const cursors: InternalCursor[] = [];
    try {
      for (const m of mems) if (m.entryCount > 0) cursors.push(m.cursor());
      for (const f of version.levels[0]!) {
        if (lower !== undefined && compareBytes(f.largest, lower) < 0) continue;
        if (upper !== undefined && compareBytes(f.smallest, upper) >= 0) continue;
        cursors.push(this.tables.cursor(f));
      }
      for (let l = 1; l < version.levels.length; l++) {
        if (version.levels[l]!.length > 0) cursors.push(new LevelCursor(version.levels[l]!, (f) => this.tables.cursor(f)));
      }
    } catch (err) {
      for (const c of cursors) c.close?.();
      version.unref();
      throw err;
    }
    const tombSources = mems.filter((m) => m.hasTombstones);
    const vt = version.tombstones();
    const probe = (k: Uint8Array, rs: number): number => {
      let t = vt.count === 0 ? 0 : vt.maxCovering(k, rs);
      for (const m of tombSources) {
        const x = m.maxTombstoneCovering(k, rs);
        if (x > t) t = x;
      }
      return t;
    };
    return new StoreIterator({
      cursor: new MergingCursor(cursors),
      readSeq,
      maxTombstone: probe,
      start: options.start,
      end: options.end,
      prefix: options.prefix,
      reverse: options.reverse === true,
      release: () => version.unref(),
    });
  }

  // ───────────────────────────── background work ─────────────────────────────

  private push(lane: Lane, job: () => Promise<void>): void {
    const l = this.lanes[lane];
    l.jobs.push(job);
    if (l.running) return;
    l.running = true;
    void this.runLane(l);
  }

  /** True while either lane has a job running or queued. */
  private get busy(): boolean {
    return this.lanes.flush.running || this.lanes.compaction.running;
  }

  private async runLane(l: LaneState): Promise<void> {
    try {
      // Bounded: each round consumes one queued job; jobs only queue follow-ups while progress is made.
      for (;;) {
        const job = l.jobs.shift();
        if (job === undefined) break;
        await job();
      }
    } finally {
      l.running = false;
      if (!this.busy) {
        const w = this.idleWaiters;
        this.idleWaiters = [];
        for (const f of w) f();
      }
    }
  }

  private throwIfFailed(): void {
    if (this.bgError !== null) throw this.bgError;
  }

  private fail(err: unknown): Error {
    const e = err instanceof Error ? err : new PermanentStorageError(String(err));
    this.bgError ??= e;
    this.notifyCapacity();
    return e;
  }

  private tableOptions(): TableBuildOptions {
    return {
      blockSize: this.o.blockSize,
      restartInterval: this.o.restartInterval,
      bloomBitsPerKey: this.o.bloomBitsPerKey,
      compression: this.o.compression,
      creationTime: this.clock.now(),
    };
  }

  private newSlot(): { number: number; name: string; path: string } {
    const number = this.versions.newFileNumber();
    const name = tableFileName(number, this.sessionId);
    return { number, name, path: join(this.dir, name) };
  }

  private async runFlushJob(entry: SealedEntry): Promise<void> {
    if (this.bgError !== null) {
      entry.flushed.reject(this.bgError);
      for (const s of entry.snapshots) s.done.reject(this.bgError);
      return;
    }
    const started = this.clock.monotonic();
    const queued = started - entry.sealedAt;
    this.flushQueuedMillis += queued;
    if (queued > this.flushQueuedMaxMillis) this.flushQueuedMaxMillis = queued;
    try {
      // With a flush thread, the sort and the encoding run there: this thread only copies
      // the arena and the key arrays (memcpy speed), after the seal's caller returned (a
      // snapshot's synchronous part stays O(1)). Sorting and encoding here cost 2.3-4.8 s
      // of a busy demo's event loop per checkpoint (docs/lsm.md "Flush and compaction").
      // Inline, they run here in slices with a macrotask between them, so records and
      // barriers keep flowing while a large memtable is encoded.
      let payload;
      if (this.runners.flush.offThread) {
        await Promise.resolve();
        payload = entry.mem.flushImage();
      } else {
        payload = await entry.mem.encodeForFlushInSlices(yieldToEventLoop);
      }
      const encoded = this.clock.monotonic();
      const output = this.newSlot();
      const result = await this.runners.flush.run({ kind: 'flush', payload, output, table: this.tableOptions() });
      const written = this.clock.monotonic();
      const added = result.outputs.map((file) => ({ level: 0, file }));
      for (const a of added) this.tables.register(a.file);
      // The memtable leaves `sealed` in the same synchronous step that installs its table.
      const v = await this.logAndApply({ added, deleted: [] }, () => {
        assert(this.sealed[0] === entry, 'flushes must install in seal order');
        this.sealed.shift();
      });
      this.flushes++;
      const installed = this.clock.monotonic();
      this.flushRunMillis += installed - started;
      this.bytesWrittenByFlush += result.bytesWritten;
      entry.timing = {
        queuedMillis: queued, encodeMillis: encoded - started, writeMillis: written - encoded, installMillis: installed - written, bytes: result.bytesWritten,
      };
      for (const s of entry.snapshots) {
        if (!s.released) s.dataVersion = v.ref();
        s.flush = entry.timing;
        s.done.resolve();
      }
      entry.flushed.resolve();
      this.notifyCapacity();
      this.scheduleAutoCompaction();
    } catch (err) {
      const e = this.fail(err);
      entry.flushed.reject(e);
      for (const s of entry.snapshots) s.done.reject(e);
    }
  }

  private scheduleAutoCompaction(): void {
    if (!this.o.autoCompaction || this.autoCompactionQueued || this.closed) return;
    if (pickCompaction(this.versions.current, this.picker, this.compactCursors.slice()) === null) return;
    this.autoCompactionQueued = true;
    this.push('compaction', async () => {
      this.autoCompactionQueued = false;
      if (this.bgError !== null) return;
      try {
        const pick = pickCompaction(this.versions.current, this.picker, this.compactCursors);
        if (pick !== null) await this.runCompaction(pick);
        this.scheduleAutoCompaction();
      } catch (err) {
        this.fail(err);
      }
    });
  }

  /** Runs one picked compaction and installs its result. Caller is a queued job. */
  private async runCompaction(pick: CompactionPick): Promise<void> {
    const started = this.clock.monotonic();
    try {
      await this.runCompactionStep(pick);
    } finally {
      this.compactionRunMillis += this.clock.monotonic() - started;
    }
  }

  private async runCompactionStep(pick: CompactionPick): Promise<void> {
    const base = this.versions.current;
    let edit: VersionEdit;
    if (pick.trivialMove) {
      const f = pick.inputs[0]!.file;
      edit = { deleted: [{ level: pick.level, name: f.name }], added: [{ level: pick.outputLevel, file: f }] };
    } else {
      const inputNames = new Set(pick.inputs.map((i) => i.file.name));
      const others: OtherFile[] = [];
      for (const [level, f] of base.allFiles()) {
        if (inputNames.has(f.name)) continue;
        others.push({ level, smallest: f.smallest, largest: f.largest, tombstones: f.tombstones.map((t) => ({ start: t.start, end: t.end })) });
      }
      let inputBytes = 0;
      for (const i of pick.inputs) inputBytes += i.file.size;
      const slots = Math.ceil(inputBytes / this.o.targetFileBytes) * 2 + 2;
      const outputs = Array.from({ length: slots }, () => this.newSlot());
      const job: CompactionJob = {
        kind: 'compact',
        inputs: pick.inputs.map((i) => ({ path: this.tables.pathOf(i.file.name), name: i.file.name, level: i.level })),
        outputLevel: pick.outputLevel,
        outputs,
        targetFileBytes: this.o.targetFileBytes,
        table: this.tableOptions(),
        placeholderKey: pick.lo,
        others,
      };
      const result = await this.runners.compaction.run(job);
      crashPoint('compaction'); // outputs written, not yet installed (test-only hook, src/util/crash-points.ts)
      // A flush may have installed meanwhile (its own lane): it changes L0 only.
      assert(this.versions.current.levels.every((files, l) => l === 0 || sameFiles(files, base.levels[l]!)), 'levels >= 1 changed under a compaction');
      for (const f of result.outputs) this.tables.register(f);
      this.bytesWrittenByCompaction += result.bytesWritten;
      edit = {
        deleted: pick.inputs.map((i) => ({ level: i.level, name: i.file.name })),
        added: result.outputs.map((file) => ({ level: pick.outputLevel, file })),
      };
    }
    await this.logAndApply(edit);
    this.compactions++;
    this.notifyCapacity();
  }

  /**
   * Makes `edit` (applied to the current version) durable, then current — Pebble's
   * logAndApply, in this order (docs/lsm.md "Durability order"):
   *   1. write and sync the MANIFEST of current+edit (temp file, fsync, rename, dir fsync);
   *   2. `beforeInstall`, then install the version (synchronously, in one step);
   *   3. obsolete files are released by the install (VersionSet deletes a table when no
   *      live version lists it), so no table is ever deleted while a durable MANIFEST
   *      still names it, and a new table is never visible before a MANIFEST names it.
   * Version changes are serialized here (`manifestTail`), so the current version cannot
   * change while its successor's MANIFEST is being written.
   *
   * If the write fails the version is not installed and the store fails (bgError). The
   * new tables are NOT deleted: if only the directory fsync failed, the MANIFEST on disk
   * may already name them; the next open deletes whatever its MANIFEST does not name.
   */
  private logAndApply(edit: VersionEdit, beforeInstall?: () => void): Promise<Version> {
    const run = async (): Promise<Version> => {
      this.throwIfFailed();
      const base = this.versions.current;
      const bytes = encodeManifest({
        lastSequence: this.versions.lastSequence,
        nextFileNumber: this.versions.nextFileNumber,
        levels: applyEdit(base.levels, edit),
      });
      await writeManifestFile(this.dir, bytes, this.fs);
      crashPoint('manifest-synced'); // durable, not installed, inputs not deleted (test-only hook)
      assert(this.versions.current === base, 'the version changed while its successor\'s MANIFEST was written');
      beforeInstall?.();
      return this.versions.install(edit);
    };
    const p = this.manifestTail.then(run);
    this.manifestTail = p.then(() => {}, () => {});
    return p;
  }

  private currentManifestBytes(v: Version, lastSequence: number): Uint8Array {
    return encodeManifest({
      lastSequence,
      nextFileNumber: this.versions.nextFileNumber,
      levels: v.levels.map((files) => files.slice()),
    });
  }

  private deleteFile(f: FileMeta): void {
    this.tables.evict(f);
    const p = this.fs.removeAsync(join(this.dir, f.name)).catch((err: unknown) => {
      if (!isNotFound(err)) this.fail(new PermanentStorageError(`could not delete obsolete table ${f.name}`, { cause: err }));
    });
    this.pendingDeletes.add(p);
    void p.finally(() => this.pendingDeletes.delete(p));
  }

  /** Runs `fn` as a job of the compaction lane (manual compactions). */
  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    const d = deferred<T>();
    this.push('compaction', async () => {
      try {
        d.resolve(await fn());
      } catch (err) {
        d.reject(err);
      }
    });
    return d.promise;
  }

  async flush(): Promise<void> {
    this.throwIfFailed();
    const last = this.sealActive();
    if (last !== undefined) await last.flushed.promise;
    this.throwIfFailed();
  }

  async compactRange(start?: Uint8Array, end?: Uint8Array): Promise<void> {
    await this.flush();
    await this.enqueue(async () => {
      const levels = this.versions.current.levels;
      let bottom = 0;
      for (let l = 0; l < levels.length; l++) if (levels[l]!.length > 0) bottom = l;
      if (bottom === 0) bottom = 1;
      for (let l = 0; l < bottom; l++) {
        const pick = pickRange(this.versions.current, l, start, end);
        if (pick !== null) await this.runCompaction(pick);
      }
    });
    this.throwIfFailed();
  }

  async compactOnce(): Promise<boolean> {
    this.throwIfFailed();
    return this.enqueue(async () => {
      const pick = pickCompaction(this.versions.current, this.picker, this.compactCursors);
      if (pick === null) return false;
      await this.runCompaction(pick);
      return true;
    });
  }

  async waitForIdle(): Promise<void> {
    // Bounded: each round waits for the lanes to drain; new work only comes from jobs that make progress.
    while (this.busy) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await Promise.all([...this.pendingDeletes]);
    this.throwIfFailed();
  }

  // ───────────────────────────── files and snapshots ─────────────────────────────

  private liveFile(level: number, f: FileMeta): LiveFile {
    return { name: f.name, path: join(this.dir, f.name), size: f.size, level, smallest: f.smallest, largest: f.largest, entries: f.entries };
  }

  liveFiles(): LiveFile[] {
    return [...this.versions.current.allFiles()].map(([l, f]) => this.liveFile(l, f));
  }

  snapshot(): LsmSnapshot {
    if (this.closed) throw new StateError(`LSM store ${this.dir} is closed`);
    const last = this.sealActive();
    const s = new SnapshotImpl(this, this.nextSnapshotId++, this.versions.lastSequence, this.versions.current.ref());
    this.snapshots.add(s);
    if (last !== undefined) {
      last.snapshots.push(s);
    } else {
      s.dataVersion = this.versions.current.ref();
      s.done.resolve();
    }
    s.done.promise.catch(() => {});
    return s;
  }

  /** Called by SnapshotImpl.ready(). */
  snapshotFiles(s: SnapshotImpl, v: Version): SnapshotFiles {
    const files: LiveFile[] = [];
    for (const [l, f] of v.allFiles()) files.push(this.liveFile(l, f));
    return { files, manifest: this.currentManifestBytes(v, s.seq) };
  }

  releaseSnapshot(s: SnapshotImpl): void {
    this.snapshots.delete(s);
    s.pinned?.unref();
    s.pinned = null;
    s.dataVersion?.unref();
    s.dataVersion = null;
  }

  // ───────────────────────────── stats and lifecycle ─────────────────────────────

  stats(): LsmStats {
    const v = this.versions.current;
    const cache = this.tables.blockCache.stats;
    const flushed = this.bytesWrittenByFlush;
    return {
      levels: v.levels.map((files, level) => ({ level, files: files.length, bytes: v.levelBytes(level) })),
      memtableBytes: this.mem.bytes + this.sealed.reduce((n, s) => n + s.mem.bytes, 0),
      sealedMemtables: this.sealed.length,
      bytesWrittenByFlush: flushed,
      bytesWrittenByCompaction: this.bytesWrittenByCompaction,
      bytesIngested: this.bytesIngested,
      writeAmplification: flushed === 0 ? 0 : (flushed + this.bytesWrittenByCompaction) / flushed,
      flushes: this.flushes,
      compactions: this.compactions,
      blockCacheHits: cache.hits,
      blockCacheMisses: cache.misses,
      blockCacheBytes: cache.usedBytes,
      tableMetaBytes: this.tables.tableMetaBytes,
      openTables: this.tables.openTables,
      stallMillis: this.stallMillis,
      flushQueuedMillis: this.flushQueuedMillis,
      flushQueuedMaxMillis: this.flushQueuedMaxMillis,
      flushRunMillis: this.flushRunMillis,
      compactionRunMillis: this.compactionRunMillis,
      pinnedSnapshots: this.snapshots.size,
      obsoleteFilesHeld: this.versions.obsoleteFilesHeld(),
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    let error: unknown = null;
    try {
      await this.flush();
      await this.waitForIdle();
      await this.logAndApply({ added: [], deleted: [] }); // records the last sequence
    } catch (err) {
      error = err;
    }
    this.closed = true;
    await this.shutdown();
    if (error !== null) throw error as Error;
  }

  async abandon(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lanes.flush.jobs.length = 0;
    this.lanes.compaction.jobs.length = 0;
    const closedErr = new StateError(`LSM store ${this.dir} was abandoned`);
    for (const e of this.sealed) {
      e.flushed.reject(closedErr);
      for (const s of e.snapshots) s.done.reject(closedErr);
    }
    while (this.busy) await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
    await this.shutdown();
  }

  private async shutdown(): Promise<void> {
    for (const s of [...this.snapshots]) s.release();
    const closedErr = new StateError(`LSM store ${this.dir} is closed`);
    for (const w of this.capacityWaiters) w.reject(closedErr);
    this.capacityWaiters = [];
    await this.runners.flush.close();
    if (this.runners.compaction !== this.runners.flush) await this.runners.compaction.close();
    await Promise.all([...this.pendingDeletes]);
    this.tables.close();
    this.lock.release();
  }
}

/**
 * Opens (or creates) a store in options.dir from its MANIFEST. Takes dir/LOCK first
 * (dir-lock.ts) unless the caller already holds it (`lock`, openLsmFromSnapshot).
 */
export function openStoreSync(options: LsmOptions & LsmDependencies, lock?: DirLock): LsmStoreImpl {
  if (typeof options.dir !== 'string' || options.dir === '') throw new ConfigError('LSM option dir is required');
  const fs = options.fs ?? realFs;
  fs.mkdirAll(options.dir);
  const held = lock ?? acquireDirLock(options.dir, fs, options.clock ?? systemClock, options.processProbe);
  try {
    const manifestPath = join(options.dir, MANIFEST_NAME);
    const manifestBytes = fs.readFile(manifestPath);
    const manifest = manifestBytes === undefined ? null : decodeManifest(manifestBytes, manifestPath);
    // Remove leftovers: temp files and tables no manifest lists (an interrupted flush or compaction).
    const live = new Set<string>();
    if (manifest !== null) for (const files of manifest.levels) for (const f of files) live.add(f.name);
    for (const name of fs.list(options.dir)) {
      if (name.endsWith('.tmp') || (parseTableFileName(name) !== undefined && !live.has(name))) fs.remove(join(options.dir, name));
    }
    for (const name of live) {
      const path = join(options.dir, name);
      if (fs.stat(path) === undefined) throw new CorruptionError(path, undefined, `missing: the table is listed in ${manifestPath}`);
    }
    return new LsmStoreImpl(options, manifest, held);
  } catch (err) {
    held.release();
    throw err;
  }
}

function sameFiles(a: readonly FileMeta[], b: readonly FileMeta[]): boolean {
  return a.length === b.length && a.every((f, i) => f === b[i]);
}

/** Lets the event loop run (I/O, timers, other tasks) before the caller continues. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

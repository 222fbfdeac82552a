/**
 * The public contract of the LSM engine (src/lsm). Everything above this folder
 * (src/state) uses only what is declared here and exported from src/lsm/index.ts.
 *
 * Threading model: all calls below are made from ONE thread (the subtask's). Reads
 * and writes are synchronous (keyed state access is synchronous); sstable I/O on the
 * read path uses synchronous positional reads through the block cache. Flushes of
 * sealed memtables and compactions run on a worker thread; the calling thread only
 * installs the resulting version (an O(#files) metadata swap).
 *
 * Durability: there is no WAL. Data reaches disk when a sealed memtable is flushed;
 * a store that is closed cleanly (close() flushes) reopens with all its data; after a
 * crash a store is reopened from a checkpoint (openFromSnapshot), never from its own
 * directory.
 */

export interface LsmOptions {
  /** Directory owned exclusively by this store (created if missing). */
  dir: string;
  /** Memtable budget in bytes; when exceeded the memtable is sealed and flushed. Default 64 MiB. */
  memtableBytes?: number;
  /** Sealed memtables waiting for flush before writers must wait (see writeStalled). Default 2. */
  maxSealedMemtables?: number;
  /** Target uncompressed data block size. Default 4096. */
  blockSize?: number;
  /** Restart point interval in data blocks. Default 16. */
  restartInterval?: number;
  /** Bloom filter bits per key; 0 disables. Default 10. */
  bloomBitsPerKey?: number;
  /** Per-block compression codec. Default chosen by measurement (see docs/lsm.md). */
  compression?: 'none' | 'snappy' | 'lz4';
  /** Block cache capacity in bytes (LRU by bytes). Default 64 MiB. Shared if `blockCache` is given. */
  blockCacheBytes?: number;
  /** Max open sstable file handles (table cache). Default 256. */
  maxOpenFiles?: number;
  /** Number of L0 files that triggers an L0→L1 compaction. Default 4. */
  l0CompactionTrigger?: number;
  /** Target size of L1; level n+1 targets levelMultiplier × level n. Default 64 MiB. */
  levelBaseBytes?: number;
  /** Default 10. */
  levelMultiplier?: number;
  /** Compaction output is split at this size. Default 16 MiB. */
  targetFileBytes?: number;
  /** Number of levels. Default 7. */
  numLevels?: number;
  /**
   * When false, no compaction runs unless compact()/compactRange() is called. Flushes
   * still happen (on memtable budget, flush(), or snapshot). Tests use this to drive
   * the exact file sequence of a scenario. Default true.
   */
  autoCompaction?: boolean;
  /** Run flush encoding and compaction on a worker thread (default true). False = same thread, async. */
  useWorker?: boolean;
}

/** An immutable file of the current version, as the checkpoint layer sees it. */
export interface LiveFile {
  /**
   * Stable, unique file name inside the store directory, never reused by this store nor
   * by any later incarnation restored from one of its snapshots (it carries the
   * number and a per-open session id, e.g. "000042-9f1c2a7b.sst").
   */
  readonly name: string;
  /** Absolute local path (valid while the file is pinned or live). */
  readonly path: string;
  readonly size: number;
  readonly level: number;
  /** Smallest and largest user key in the file. */
  readonly smallest: Uint8Array;
  readonly largest: Uint8Array;
  /** Number of entries (including tombstones). */
  readonly entries: number;
}

export interface ScanOptions {
  /** Inclusive lower bound. */
  start?: Uint8Array;
  /** Exclusive upper bound. */
  end?: Uint8Array;
  /** Only keys with this prefix (combined with start/end if both given). */
  prefix?: Uint8Array;
  reverse?: boolean;
}

/**
 * A forward (or reverse) iterator over a consistent point-in-time view: writes made
 * after it was opened are not visible. Must be closed (or exhausted) to release the
 * files it holds. Keys and values returned may be views into internal buffers that
 * are only valid until the next call to next(); copy them to keep them.
 */
export interface LsmIterator extends Iterable<[Uint8Array, Uint8Array]> {
  next(): IteratorResult<[Uint8Array, Uint8Array]>;
  close(): void;
}

export interface WriteBatch {
  put(key: Uint8Array, value: Uint8Array): this;
  /** A merge operand (append), see LsmStore.merge. */
  merge(key: Uint8Array, operand: Uint8Array): this;
  delete(key: Uint8Array): this;
  deleteRange(start: Uint8Array, end: Uint8Array): this;
  readonly count: number;
}

/**
 * The state of the store at the instant snapshot() was called, held until release().
 *
 * Synchronous part (inside snapshot()): seal the memtable (O(1)), pin the current
 * version and the sealed memtables not yet flushed. Asynchronous part (ready()): wait
 * until every memtable sealed at or before the snapshot is flushed, then return the
 * exact file set and a manifest that opens to exactly the snapshot's data.
 */
export interface LsmSnapshot {
  /** Monotonic per store. */
  readonly id: number;
  ready(): Promise<SnapshotFiles>;
  /** Unpins: files obsoleted since are deleted once nothing else holds them. Idempotent. */
  release(): void;
}

export interface SnapshotFiles {
  /** The immutable sstables of the snapshot. Stay on disk until release(). */
  readonly files: readonly LiveFile[];
  /** Serialized manifest (version: files per level, sequence numbers, next file number). */
  readonly manifest: Uint8Array;
  /**
   * The flush this snapshot waited for (the memtable its seal queued), in phases; absent
   * when snapshot() had nothing to flush. Explains a slow `ready()` (docs/lsm.md "Snapshots").
   */
  readonly flush?: FlushTiming;
}

/** Where the time of one memtable flush went, ms (clock.monotonic()). */
export interface FlushTiming {
  /** Sealed → the flush started: waiting behind earlier background jobs (flushes, compactions). */
  readonly queuedMillis: number;
  /** Sorting and encoding the memtable on the store's thread (in slices between event-loop turns). */
  readonly encodeMillis: number;
  /** Writing the table (background worker or inline). */
  readonly writeMillis: number;
  /** MANIFEST write and install of the new version. */
  readonly installMillis: number;
  /** Bytes of the table written. */
  readonly bytes: number;
}

export interface LevelStats {
  level: number;
  files: number;
  bytes: number;
}

export interface LsmStats {
  levels: LevelStats[];
  memtableBytes: number;
  sealedMemtables: number;
  bytesWrittenByFlush: number;
  bytesWrittenByCompaction: number;
  /** Bytes of user data put (keys + values), the denominator of write amplification. */
  bytesIngested: number;
  /** (flush + compaction bytes) / bytes flushed. */
  writeAmplification: number;
  flushes: number;
  compactions: number;
  blockCacheHits: number;
  blockCacheMisses: number;
  blockCacheBytes: number;
  /** Index and filter blocks of the open tables, kept decoded outside the block's LRU list and charged to its capacity. */
  tableMetaBytes: number;
  openTables: number;
  /** Total milliseconds writers spent waiting in waitForWriteCapacity(). */
  stallMillis: number;
  /** Total and largest time a sealed memtable waited for its flush to start (queued behind other background jobs). */
  flushQueuedMillis: number;
  flushQueuedMaxMillis: number;
  /** Total time flushes ran (encode, write on the worker, MANIFEST) and compactions ran. */
  flushRunMillis: number;
  compactionRunMillis: number;
  pinnedSnapshots: number;
  /** Files obsolete but still held by a snapshot or iterator. */
  obsoleteFilesHeld: number;
}

export interface OpenFromSnapshotOptions extends LsmOptions {
  /** Downloaded sstables: file name (as in the manifest) → local path. Hard-linked (or copied) into dir. */
  files: ReadonlyMap<string, string>;
  manifest: Uint8Array;
}

export interface LsmStore {
  readonly dir: string;

  get(key: Uint8Array): Uint8Array | undefined;
  put(key: Uint8Array, value: Uint8Array): void;
  /**
   * Appends `operand` to key's value without reading it (a merge operand, src/lsm/merge.ts):
   * afterwards get(key) = old value (nothing if absent or deleted) ‖ operand. Costs the
   * operand's bytes; reads fold the operands, flushes and compactions fold or
   * concatenate them (docs/lsm.md "Merge operands").
   */
  merge(key: Uint8Array, operand: Uint8Array): void;
  delete(key: Uint8Array): void;
  /** Deletes every key in [start, end) with one range tombstone. */
  deleteRange(start: Uint8Array, end: Uint8Array): void;
  batch(): WriteBatch;
  /** Applies a batch atomically (readers never see part of it). */
  write(batch: WriteBatch): void;
  scan(options?: ScanOptions): LsmIterator;

  /**
   * True when writers should wait (too many sealed memtables awaiting flush, or L0 too
   * deep). Writes still succeed, but memory grows; callers that can wait should await
   * waitForWriteCapacity().
   */
  readonly writeStalled: boolean;
  waitForWriteCapacity(): Promise<void>;

  /** Seals the memtable (if non-empty) and resolves when every sealed memtable is flushed. */
  flush(): Promise<void>;
  /** Compacts everything (or [start,end)) down to the bottom-most non-empty level. */
  compactRange(start?: Uint8Array, end?: Uint8Array): Promise<void>;
  /** Runs one automatic-style compaction step if any level needs it; resolves false if none needed. */
  compactOnce(): Promise<boolean>;
  /** Resolves when no flush or compaction is running or scheduled. */
  waitForIdle(): Promise<void>;

  /** Immutable files of the current version. */
  liveFiles(): LiveFile[];
  snapshot(): LsmSnapshot;

  stats(): LsmStats;
  /** Flushes the memtable, waits for background work, writes the manifest, closes files. */
  close(): Promise<void>;
  /** Closes without flushing (tests of crash behaviour; data in the memtable is lost). */
  abandon(): Promise<void>;
}

/**
 * Durable bytes for checkpoints (DESIGN.md §1, src/storage). Knows nothing about
 * what the bytes mean.
 *
 * Paths are relative object keys with '/' separators ("job/chk-3/_metadata",
 * "job/shared/3f…-000042.sst"): no leading '/', no '.' or '..' segments, no empty
 * segments, no backslashes. Every implementation validates them (invalid → ConfigError)
 * so a crafted `_metadata` can never reach outside the root.
 *
 * Objects are immutable and published atomically: after write*() resolves, readers
 * see the whole object; if it rejects or the process dies, readers see either nothing
 * or (for a path that existed) the old object — never a prefix. Local: write a temp
 * file + fsync + rename. S3: PutObject / completed multipart upload.
 *
 * Errors: TransientStorageError (retry may help: the S3 implementation already
 * retried with backoff before throwing it), PermanentStorageError / NotFoundError,
 * CorruptionError on a download whose size or checksum does not match. Errors are
 * always rejections, never synchronous throws.
 *
 * Implementations: MemoryStorage, LocalStorage, S3Storage (createStorage(uri) picks one),
 * FaultInjectingStorage for tests. All three real ones also implement the optional
 * StreamingWrite capability (streaming-write.ts). The contract every implementation
 * must pass: test/storage/contract.ts.
 */
export interface ObjectInfo {
  /** Relative path, as passed to write. */
  readonly path: string;
  readonly size: number;
}

export interface WriteResult {
  readonly size: number;
  /** CRC-32C (hex, 8 chars) of the bytes written, as computed while writing. */
  readonly checksum: string;
}

export interface CheckpointStorage {
  /** e.g. "file:///abs/dir" or "s3://bucket/prefix"; never contains credentials. */
  readonly uri: string;

  /** Writes a small object from memory. */
  write(path: string, data: Uint8Array): Promise<WriteResult>;
  /**
   * Writes a small object only if no object exists at `path` (atomically: of two
   * concurrent creates at most one succeeds); AlreadyExistsError otherwise. Local: a temp
   * file hard-linked to the final name (link fails if the name exists). S3: PutObject with
   * `If-None-Match: *` (a store that ignores the header, such as s3rver, overwrites:
   * callers that need exclusivity read the object back, see src/checkpoint/job-lease.ts).
   * Optional: a storage without it gets a stat-then-write fallback from the caller.
   */
  create?(path: string, data: Uint8Array): Promise<WriteResult>;
  /** Uploads a local file, streaming (multipart on S3 above a threshold). */
  writeFile(path: string, localFile: string): Promise<WriteResult>;
  /** Reads a whole object. NotFoundError if absent. */
  read(path: string): Promise<Uint8Array>;
  /**
   * Downloads an object to a local file (temp + rename). If `expect` is given, the size
   * and CRC-32C are verified and a mismatch raises CorruptionError naming the path.
   */
  readToFile(path: string, localFile: string, expect?: { size?: number; checksum?: string }): Promise<void>;
  /** Size of an object, or undefined if absent. */
  stat(path: string): Promise<ObjectInfo | undefined>;
  /**
   * Every object under a prefix ("job/" lists recursively), sorted by path (UTF-8 byte
   * order, as S3). Plain string-prefix matching: "a/" never matches "ab/x", while
   * "job/chk-1" matches "job/chk-1/…" and "job/chk-10/…". "" lists everything.
   */
  list(prefix: string): Promise<ObjectInfo[]>;
  /**
   * Leftovers of writes that never finished (a process killed mid-upload), under a prefix:
   * their paths — not object paths: the last segment carries the temp marker, see
   * paths.ts — and sizes, sorted. list() never shows them; delete() accepts these paths.
   * Optional: only a storage that stages writes under a visible temp name has them
   * (local); S3's unfinished multipart uploads are invisible and left to the bucket's
   * lifecycle rule (AbortIncompleteMultipartUpload). The job scan (src/checkpoint) counts
   * them as orphans, so the start of a job and `weir checkpoints gc` remove them.
   */
  listTempFiles?(prefix: string): Promise<ObjectInfo[]>;
  /** Deletes one object (or a path listTempFiles returned); deleting an absent one is not an error. */
  delete(path: string): Promise<void>;
  /**
   * Deletes every object under a prefix, recursively (FLINK-38909: never leave data behind).
   * The prefix must be "" or end with '/' (ConfigError otherwise), so "job/chk-1" can never
   * take "job/chk-10" with it.
   */
  deletePrefix(prefix: string): Promise<void>;
  close(): Promise<void>;
}

/** Runs async tasks with at most `limit` in flight; used for parallel upload/download. */
export type ConcurrencyLimit = <T>(task: () => Promise<T>) => Promise<T>;

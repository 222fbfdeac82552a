/**
 * Messages between the store (main thread) and the flush/compaction executor (a worker
 * thread, or the main thread when useWorker is false). Everything here is structured-
 * clone friendly; a flush's entries travel as transferred ArrayBuffers.
 */
import type { FlushPayload, MemtableFlushImage } from '../memtable/memtable.ts';
import type { FileMeta } from '../version/file-meta.ts';
import type { CompressionName } from '../compression.ts';

export interface TableBuildOptions {
  blockSize: number;
  restartInterval: number;
  bloomBitsPerKey: number;
  compression: CompressionName;
  creationTime: number;
}

export interface OutputSlot {
  number: number;
  name: string;
  path: string;
}

export interface FlushJob {
  kind: 'flush';
  /**
   * The entries: encoded by the store (inline runner, encoded in slices between
   * event-loop turns), or an image the flush thread sorts and encodes itself.
   */
  payload: FlushPayload | MemtableFlushImage;
  output: OutputSlot;
  table: TableBuildOptions;
}

/** What a compaction must know of a file outside its inputs (to decide what it may drop). */
export interface OtherFile {
  level: number;
  smallest: Uint8Array;
  largest: Uint8Array;
  tombstones: { start: Uint8Array; end: Uint8Array }[];
}

export interface CompactionJob {
  kind: 'compact';
  inputs: { path: string; name: string; level: number }[];
  outputLevel: number;
  /** Pre-allocated output names, used in order; the last one absorbs any overflow. */
  outputs: OutputSlot[];
  targetFileBytes: number;
  table: TableBuildOptions;
  /** Bounds of a tombstone-only output: a key inside the picked range (so it cannot overlap other files). */
  placeholderKey: Uint8Array;
  /** Every file of the version that is not an input (any level). */
  others: OtherFile[];
}

export type Job = FlushJob | CompactionJob;

export interface JobResult {
  /** New files, in key order (compaction) or the single flushed file. Empty if nothing survived. */
  outputs: FileMeta[];
  bytesWritten: number;
  entriesDropped: number;
}

/**
 * The keyed state contract between user code / the runtime and the two backends
 * (heap, lsm). Access is synchronous; only snapshots, restore and disposal are async.
 */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import type { KeyGroupRange, KeyedStateHandle, SnapshotTarget } from './handles.ts';

export type { KeyGroupRange, KeyedStateHandle, SnapshotTarget } from './handles.ts';

/** Turns state values (or keys) into bytes and back. The default is msgpack. */
export interface Serializer<T> {
  /** The bytes of `value`. */
  serialize(value: T): Uint8Array;
  /** The value `serialize` made these bytes from. */
  deserialize(bytes: Uint8Array): T;
}

/** A single value of the current key. */
export interface ValueState<T> {
  /** The value, or undefined when none was set (or it was cleared). */
  value(): T | undefined;
  /** Sets the value. Later changes to the object do not change the state: update again. */
  update(value: T): void;
  /** Removes the value. */
  clear(): void;
}

/** A list of the current key. */
export interface ListState<T> {
  /** The elements in insertion order ([] when empty). */
  get(): T[];
  /** Appends one element. */
  add(value: T): void;
  /** Appends several elements. */
  addAll(values: readonly T[]): void;
  /** Replaces the whole list. */
  update(values: readonly T[]): void;
  /** Empties the list. */
  clear(): void;
}

/** A map of the current key (each entry stored separately). */
export interface MapState<K, V> {
  /** The value of `key`, or undefined. */
  get(key: K): V | undefined;
  /** Sets the value of `key`. */
  put(key: K, value: V): void;
  /** Whether `key` has a value. */
  has(key: K): boolean;
  /** Removes `key`. */
  remove(key: K): void;
  /** Entries in the order of the serialized user keys (use an order-preserving key serializer for numeric order). */
  entries(): IterableIterator<[K, V]>;
  /** The keys, in the order of entries(). */
  keys(): IterableIterator<K>;
  /** The values, in the order of entries(). */
  values(): IterableIterator<V>;
  /** Whether the map has no entry. */
  isEmpty(): boolean;
  /** Removes every entry. */
  clear(): void;
}

/** A value of the current key folded from everything added (getReducingState's reduce function). */
export interface ReducingState<T> {
  /** The reduced value, or undefined when nothing was added. */
  get(): T | undefined;
  /** Folds `value` into the state. */
  add(value: T): void;
  /** Forgets the reduced value. */
  clear(): void;
}

/** An accumulator of the current key (getAggregatingState's AggregateFunction). */
export interface AggregatingState<IN, OUT> {
  /** The result for what was added, or undefined when nothing was. */
  get(): OUT | undefined;
  /** Adds `value` to the accumulator. */
  add(value: IN): void;
  /** Forgets the accumulator. */
  clear(): void;
}

/** An incremental aggregation: used by aggregating state, `KeyedStream.aggregate` and window `aggregate`. */
export interface AggregateFunction<IN, ACC, OUT> {
  /** A new, empty accumulator. */
  createAccumulator(): ACC;
  /** Adds a value to the accumulator; returns the accumulator (it may be the same object). */
  add(value: IN, acc: ACC): ACC;
  /** The result of an accumulator. */
  getResult(acc: ACC): OUT;
  /** Two accumulators as one (session windows merge theirs). */
  merge?(a: ACC, b: ACC): ACC;
}

export type StateDescriptor =
  | { readonly kind: 'value'; readonly name: string; readonly serializer?: Serializer<any> }
  | { readonly kind: 'list'; readonly name: string; readonly serializer?: Serializer<any> }
  | { readonly kind: 'map'; readonly name: string; readonly keySerializer?: Serializer<any>; readonly valueSerializer?: Serializer<any> }
  | { readonly kind: 'reducing'; readonly name: string; readonly serializer?: Serializer<any>; readonly reduce: (a: any, b: any) => any }
  | { readonly kind: 'aggregating'; readonly name: string; readonly accumulatorSerializer?: Serializer<any>; readonly aggregate: AggregateFunction<any, any, any> };

/** A timer registered for a key (and namespace) at a timestamp. */
export interface TimerEntry<NS = unknown> {
  readonly timestamp: number;
  readonly key: unknown;
  readonly namespace: NS;
}

export interface StateBackendOptions {
  readonly operatorId: string;
  readonly subtaskIndex: number;
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly keySerializer?: Serializer<unknown>;
  /** Local working directory for this subtask's store (lsm backend). */
  readonly localDir: string;
  readonly storage: CheckpointStorage;
  /** Id of the run (one start of the job) in every upload's name; default: a new one per backend. */
  readonly runId?: string;
  /** Parallel uploads/downloads per subtask. Default 4. */
  readonly transferConcurrency?: number;
  /** Handles to restore from (empty/undefined: start empty). May cover more key groups than keyGroupRange. */
  readonly restoreFrom?: readonly KeyedStateHandle[];
  /** Progress of a restore's downloads. */
  readonly onRestoreProgress?: (downloadedBytes: number, totalBytes: number) => void;
}

/** Result of the synchronous part of a snapshot. */
export interface SnapshotInProgress {
  /** How long the synchronous (blocking) part took, ms. */
  readonly syncMillis: number;
  /**
   * The asynchronous part: upload and build the handle. On rejection every object it
   * uploaded has been deleted (best effort) and the error says why.
   */
  readonly done: Promise<KeyedStateHandle>;
  /**
   * Where the asynchronous part's time went; filled in by it, complete once `done`
   * resolved (the REST API's checkpoint details show it per subtask).
   */
  readonly phases?: SnapshotPhases;
}

/** Phases of one backend's asynchronous snapshot part (ms, bytes). Mutable: the async part fills it in. */
export interface SnapshotPhases {
  /** Waiting for the data of the snapshot to be in files (lsm: the seal's memtable flush). */
  flushWaitMillis: number;
  /** Of flushWaitMillis (lsm): the flush queued behind earlier background jobs, encoding the memtable, writing the table, MANIFEST + install. */
  flushQueuedMillis: number;
  flushEncodeMillis: number;
  flushWriteMillis: number;
  flushInstallMillis: number;
  /** Serializing the state (heap: the whole snapshot file; lsm: 0). */
  serializeMillis: number;
  /** Uploading new files and writing the private files (MANIFEST, meta). */
  uploadMillis: number;
  /** Bytes and files this snapshot uploaded (new shared + private); reused files are not uploaded. */
  uploadBytes: number;
  uploadFiles: number;
  reusedFiles: number;
}

export function emptySnapshotPhases(): SnapshotPhases {
  return {
    flushWaitMillis: 0, flushQueuedMillis: 0, flushEncodeMillis: 0, flushWriteMillis: 0, flushInstallMillis: 0,
    serializeMillis: 0, uploadMillis: 0, uploadBytes: 0, uploadFiles: 0, reusedFiles: 0,
  };
}

export interface KeyedStateBackend {
  readonly kind: 'heap' | 'lsm';
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;

  /** Sets the key for every following state access; serializes and hashes it once. */
  setCurrentKey(key: unknown): void;
  getCurrentKey(): unknown;
  /** Key group of the current key. */
  currentKeyGroup(): number;

  getValueState<T>(name: string, serializer?: Serializer<T>): ValueState<T>;
  getListState<T>(name: string, serializer?: Serializer<T>): ListState<T>;
  getMapState<K, V>(name: string, keySerializer?: Serializer<K>, valueSerializer?: Serializer<V>): MapState<K, V>;
  getReducingState<T>(name: string, reduce: (a: T, b: T) => T, serializer?: Serializer<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(name: string, fn: AggregateFunction<IN, ACC, OUT>, serializer?: Serializer<ACC>): AggregatingState<IN, OUT>;

  /**
   * Namespaced state (windows): the same state kinds, scoped to the current key AND a
   * namespace (serialized with the given serializer).
   */
  setCurrentNamespace(namespace: unknown): void;

  /** Timers (event-time and processing-time), stored per key group and snapshotted with the state. */
  registerTimer(domain: 'event' | 'processing', timestamp: number, namespace?: unknown): void;
  deleteTimer(domain: 'event' | 'processing', timestamp: number, namespace?: unknown): void;
  /** Removes and returns, in timestamp order, every timer of the domain with timestamp <= upTo. */
  pollTimers(domain: 'event' | 'processing', upTo: number): TimerEntry[];
  /** Earliest timer timestamp of the domain, or undefined. */
  nextTimer(domain: 'event' | 'processing'): number | undefined;

  /** Synchronous part runs inside this call; see SnapshotInProgress. */
  snapshot(target: SnapshotTarget): SnapshotInProgress;
  /** The coordinator confirmed this checkpoint: it may now serve as the incremental base. */
  notifyCheckpointComplete(checkpointId: number): void;
  notifyCheckpointAborted(checkpointId: number): void;

  /** Undefined when writes may go on; otherwise await it before the next record (LSM write stall). */
  writeBackpressure(): Promise<void> | undefined;

  /** Approximate bytes of state held (for metrics). */
  approximateSize(): number;
  dispose(): Promise<void>;
}

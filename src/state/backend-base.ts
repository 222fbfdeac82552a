/**
 * What both backends share: the current key and namespace (serialized and hashed once
 * per setCurrentKey / setCurrentNamespace), the registry of states (name → id, kind),
 * the state objects, and the timers. A backend supplies the CellStore (byte-level cell
 * access) and the snapshot strategy.
 *
 * Ownership: every field here is owned by the subtask's thread and changed only by the
 * KeyedStateBackend methods; snapshot strategies read the registry and timers only in
 * their synchronous part.
 */
import type {
  AggregateFunction, AggregatingState, KeyedStateBackend, ListState, MapState, ReducingState, Serializer,
  SnapshotInProgress, StateBackendOptions, TimerEntry, ValueState,
} from './types.ts';
import type { KeyGroupRange, KeyedStateHandle, SnapshotTarget } from './handles.ts';
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import type { Clock } from '../util/clock.ts';
import { systemClock } from '../util/clock.ts';
import { ConfigError, StateError } from '../util/errors.ts';
import { assert } from '../util/assert.ts';
import { checkMaxParallelism, keyGroupOf, murmur3, rangeContains } from './key-groups.ts';
import { MAX_STATE_ID, bytesToBinaryString, lengthPrefixed, readVarint } from './key-layout.ts';
import { MSGPACK_FAST_MAX_BYTES, copyRange, msgpackSerializer, serializerId, writeMsgpackFast } from './serializers.ts';
import {
  AggregatingStateImpl, ListStateImpl, MapStateImpl, ReducingStateImpl, ValueStateImpl,
} from './state-objects.ts';
import type { CellStore, StateKind } from './state-objects.ts';
import { TimerQueues } from './timer-queue.ts';
import type { TimerDomain, TimerRecord, TimerSnapshotEntry } from './timer-queue.ts';
import type { SnapshotMeta, StateMetaEntry } from './snapshot-meta.ts';
import { META_FORMAT_VERSION } from './snapshot-meta.ts';
import { newRunId, randomHex, validateRunId, type UploadOwner } from '../storage/job-layout.ts';

/** Options every backend factory accepts beyond the contract's StateBackendOptions. */
export interface BackendExtraOptions {
  /** Serializer of namespaces (windows). Default msgpack. */
  readonly namespaceSerializer?: Serializer<unknown>;
  /** Time source for syncMillis. Default the system clock. */
  readonly clock?: Clock;
}

export type BackendOptions = StateBackendOptions & BackendExtraOptions;

/** Names of internal states (internalStateId) start with this; user states may not. */
export const INTERNAL_STATE_PREFIX = '\u0000';

/** Length-prefixed empty namespace: the namespace of state used without setCurrentNamespace. */
const VOID_NS_PART = Uint8Array.of(0);

export abstract class BaseKeyedBackend implements KeyedStateBackend, CellStore {
  abstract readonly kind: 'heap' | 'lsm';
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;
  /** New for every open/restore: recorded in every handle this instance writes. */
  readonly backendId = randomHex(8);
  /** The run whose uploads this backend writes (in every upload's name, see job-layout.ts). */
  readonly runId: string;

  protected readonly operatorId: string;
  protected readonly subtaskIndex: number;
  protected readonly storage: CheckpointStorage;
  protected readonly clock: Clock;
  protected readonly transferConcurrency: number;
  protected readonly keySerializer: Serializer<unknown>;
  protected readonly namespaceSerializer: Serializer<unknown>;

  // The current cell, set by setCurrentKey / setCurrentNamespace.
  protected hasKey = false;
  protected currentKey: unknown = undefined;
  /** Length-prefixed serialized current key. */
  protected keyPart: Uint8Array = VOID_NS_PART;
  protected keyGroup = -1;
  protected namespace: unknown = undefined;
  /** Length-prefixed serialized current namespace. */
  protected nsPart: Uint8Array = VOID_NS_PART;
  /**
   * The current key as a number when it is a 32-bit integer serialized by the default
   * msgpack serializer (its bytes are then exactly writeMsgpackFast's), else undefined.
   * The heap backend keys such cells by the number itself.
   */
  protected intKey: number | undefined = undefined;
  /** Bumped whenever the key or namespace changes; backends cache per-state key bytes against it. */
  protected cellVersion = 0;

  /** name → id and kind; restored ids are kept so existing entries stay readable. */
  protected readonly registeredStates = new Map<string, StateMetaEntry>();
  private readonly stateObjects = new Map<string, unknown>();
  protected nextStateId = 1;

  /** Keys use the default msgpack serializer: setCurrentKey may take writeMsgpackFast's path. */
  private readonly fastKeys: boolean;
  private readonly keyScratch = new Uint8Array(1 + MSGPACK_FAST_MAX_BYTES);

  protected readonly timers = new TimerQueues();
  protected disposed = false;

  /** Who writes this checkpoint's uploads (their unique names start with the run id). */
  protected uploadOwner(checkpointId: number): UploadOwner {
    return { runId: this.runId, operatorId: this.operatorId, subtaskIndex: this.subtaskIndex, checkpointId };
  }

  constructor(opts: BackendOptions) {
    checkMaxParallelism(opts.maxParallelism);
    const r = opts.keyGroupRange;
    if (!Number.isInteger(r.start) || !Number.isInteger(r.end) || r.start < 0 || r.end < r.start || r.end >= opts.maxParallelism) {
      throw new ConfigError(`invalid key-group range [${r.start}, ${r.end}] for maxParallelism ${opts.maxParallelism}`);
    }
    this.keyGroupRange = { start: r.start, end: r.end };
    this.maxParallelism = opts.maxParallelism;
    this.operatorId = opts.operatorId;
    this.subtaskIndex = opts.subtaskIndex;
    this.runId = validateRunId(opts.runId ?? newRunId());
    this.storage = opts.storage;
    this.clock = opts.clock ?? systemClock;
    this.transferConcurrency = Math.max(1, opts.transferConcurrency ?? 4);
    this.keySerializer = opts.keySerializer ?? msgpackSerializer;
    this.fastKeys = this.keySerializer === msgpackSerializer;
    this.namespaceSerializer = opts.namespaceSerializer ?? msgpackSerializer;
  }

  // ---- current key / namespace ------------------------------------------------------

  setCurrentKey(key: unknown): void {
    let keyPart: Uint8Array;
    let kg: number;
    // Fast path (msgpack keys that are 32-bit integers or short ASCII strings): the key's
    // msgpack bytes are written once, after a one-byte length, and hashed in place —
    // the same bytes and key group as serialize + lengthPrefixed, without the copies.
    const s = this.keyScratch;
    const end = this.fastKeys ? writeMsgpackFast(key, s, 1) : -1;
    if (end >= 0 && end <= 0x80) {
      s[0] = end - 1;
      kg = murmur3(s, 0, 1, end) % this.maxParallelism;
      keyPart = copyRange(s, 0, end);
    } else {
      const bytes = this.keySerializer.serialize(key);
      kg = keyGroupOf(bytes, this.maxParallelism);
      keyPart = lengthPrefixed(bytes);
    }
    if (!rangeContains(this.keyGroupRange, kg)) {
      throw new StateError(
        `key group ${kg} of key ${JSON.stringify(key)} is outside this backend's range [${this.keyGroupRange.start}, ${this.keyGroupRange.end}]`,
      );
    }
    this.currentKey = key;
    // -0 serializes like 0 (same bytes, same cell).
    this.intKey = end >= 0 && typeof key === 'number' ? key + 0 : undefined;
    this.keyPart = keyPart;
    this.keyGroup = kg;
    this.hasKey = true;
    this.cellVersion++;
  }

  getCurrentKey(): unknown {
    return this.currentKey;
  }

  currentKeyGroup(): number {
    this.requireKey();
    return this.keyGroup;
  }

  setCurrentNamespace(namespace: unknown): void {
    // Primitives only: an object namespace may have been mutated since it was serialized.
    if (namespace === this.namespace && (namespace === null || typeof namespace !== 'object') && this.cellVersion > 0) return;
    this.namespace = namespace;
    this.nsPart = this.namespacePart(namespace);
    this.cellVersion++;
  }

  protected namespacePart(namespace: unknown): Uint8Array {
    return namespace === undefined ? VOID_NS_PART : lengthPrefixed(this.namespaceSerializer.serialize(namespace));
  }

  protected requireKey(): void {
    if (!this.hasKey) throw new StateError('no current key: call setCurrentKey before accessing keyed state');
    if (this.disposed) throw new StateError('state backend is disposed');
  }

  // ---- states -------------------------------------------------------------------------

  private register<S>(name: string, kind: StateKind, make: (id: number) => S): S {
    if (name.startsWith(INTERNAL_STATE_PREFIX)) throw new StateError(`state name ${JSON.stringify(name)}: names starting with \\u0000 are reserved for weir's own state`);
    const cached = this.stateObjects.get(name);
    const known = this.registeredStates.get(name);
    if (known && known.kind !== kind) {
      throw new StateError(`state "${name}" is a ${known.kind} state, requested as ${kind}`);
    }
    if (cached !== undefined) return cached as S;
    let entry = known;
    if (!entry) {
      if (this.nextStateId > MAX_STATE_ID) throw new StateError(`too many states (max ${MAX_STATE_ID})`);
      entry = { name, id: this.nextStateId++, kind };
      this.registeredStates.set(name, entry);
    }
    const obj = make(entry.id);
    this.stateObjects.set(name, obj);
    return obj;
  }

  /** Adopts restored state ids (before any state is registered). */
  protected adoptStates(states: readonly StateMetaEntry[]): void {
    for (const s of states) {
      const known = this.registeredStates.get(s.name);
      assert(known === undefined || (known.id === s.id && known.kind === s.kind), `conflicting restored state ${s.name}`);
      this.registeredStates.set(s.name, { name: s.name, id: s.id, kind: s.kind });
      this.nextStateId = Math.max(this.nextStateId, s.id + 1);
    }
  }

  /**
   * Maps the state ids of a restored handle onto this backend's ids (registering names
   * it does not know yet). Returns old id → new id.
   */
  protected mapRestoredStates(states: readonly StateMetaEntry[]): Map<number, number> {
    const out = new Map<number, number>();
    for (const s of states) {
      let known = this.registeredStates.get(s.name);
      if (known && known.kind !== s.kind) {
        throw new StateError(`restored state "${s.name}" is ${s.kind} in one handle and ${known.kind} in another`);
      }
      if (!known) {
        if (this.nextStateId > MAX_STATE_ID) throw new StateError(`too many states (max ${MAX_STATE_ID})`);
        known = { name: s.name, id: this.nextStateId++, kind: s.kind };
        this.registeredStates.set(s.name, known);
      }
      out.set(s.id, known.id);
    }
    return out;
  }

  getValueState<T>(name: string, serializer?: Serializer<T>): ValueState<T> {
    return this.register(name, 'value', (id) => new ValueStateImpl<T>(this, id, serializer ?? msgpackSerializer));
  }

  getListState<T>(name: string, serializer?: Serializer<T>): ListState<T> {
    return this.register(name, 'list', (id) => new ListStateImpl<T>(this, id, serializer ?? msgpackSerializer));
  }

  getMapState<K, V>(name: string, keySerializer?: Serializer<K>, valueSerializer?: Serializer<V>): MapState<K, V> {
    return this.register(name, 'map', (id) => new MapStateImpl<K, V>(this, id, keySerializer ?? msgpackSerializer, valueSerializer ?? msgpackSerializer));
  }

  getReducingState<T>(name: string, reduce: (a: T, b: T) => T, serializer?: Serializer<T>): ReducingState<T> {
    return this.register(name, 'reducing', (id) => new ReducingStateImpl<T>(this, id, reduce, serializer ?? msgpackSerializer));
  }

  getAggregatingState<IN, ACC, OUT>(name: string, fn: AggregateFunction<IN, ACC, OUT>, serializer?: Serializer<ACC>): AggregatingState<IN, OUT> {
    return this.register(name, 'aggregating', (id) => new AggregatingStateImpl<IN, ACC, OUT>(this, id, fn, serializer ?? msgpackSerializer));
  }

  // ---- timers -------------------------------------------------------------------------

  /** `namespace` omitted = the void namespace (not the current one). */
  registerTimer(domain: TimerDomain, timestamp: number, namespace?: unknown): void {
    this.requireKey();
    if (!Number.isFinite(timestamp)) throw new StateError(`timer timestamp must be finite, got ${timestamp}`);
    const keyNs = concat2(this.keyPart, this.namespacePart(namespace));
    this.timers.register(domain, {
      timestamp, keyGroup: this.keyGroup, keyNs, id: bytesToBinaryString(keyNs), key: this.currentKey, namespace, dead: false,
    });
  }

  deleteTimer(domain: TimerDomain, timestamp: number, namespace?: unknown): void {
    this.requireKey();
    const keyNs = concat2(this.keyPart, this.namespacePart(namespace));
    this.timers.delete(domain, timestamp, bytesToBinaryString(keyNs));
  }

  pollTimers(domain: TimerDomain, upTo: number): TimerEntry[] {
    return this.timers.poll(domain, upTo);
  }

  nextTimer(domain: TimerDomain): number | undefined {
    return this.timers.next(domain);
  }

  /**
   * Re-registers timers listed in a snapshot's meta file whose key group is in this
   * backend's range (and persists them where this backend persists timers).
   */
  protected restoreTimers(entries: readonly TimerSnapshotEntry[]): void {
    for (const [domain, timestamp, kg, keyNsRaw] of entries) {
      if (!rangeContains(this.keyGroupRange, kg)) continue;
      this.timers.register(domain === 0 ? 'event' : 'processing', this.timerRecord(timestamp, kg, new Uint8Array(keyNsRaw)));
    }
  }

  /** A timer from its stored parts (keyNs: length-prefixed key ‖ length-prefixed namespace). */
  protected timerRecord(timestamp: number, keyGroup: number, keyNs: Uint8Array): TimerRecord {
    const [klen, ko] = readVarint(keyNs, 0);
    const key = this.keySerializer.deserialize(keyNs.subarray(ko, ko + klen));
    const [nlen, no] = readVarint(keyNs, ko + klen);
    const namespace = nlen === 0 ? undefined : this.namespaceSerializer.deserialize(keyNs.subarray(no, no + nlen));
    return { timestamp, keyGroup, keyNs, id: bytesToBinaryString(keyNs), key, namespace, dead: false };
  }

  /**
   * The id of an internal state (no state object; e.g. the lsm backend's timers),
   * registered on first use and kept in the state list like any state.
   */
  protected internalStateId(name: string, kind: string): number {
    const known = this.registeredStates.get(name);
    if (known) {
      assert(known.kind === kind, `internal state ${JSON.stringify(name)} is a ${known.kind} state`);
      return known.id;
    }
    if (this.nextStateId > MAX_STATE_ID) throw new StateError(`too many states (max ${MAX_STATE_ID})`);
    const entry = { name, id: this.nextStateId++, kind };
    this.registeredStates.set(name, entry);
    return entry.id;
  }

  protected buildMeta(timers: TimerSnapshotEntry[], heapChunks?: [number, number, number][], formatVersion = META_FORMAT_VERSION): SnapshotMeta {
    return {
      formatVersion,
      backend: this.kind,
      keySerializer: serializerId(this.keySerializer),
      namespaceSerializer: serializerId(this.namespaceSerializer),
      maxParallelism: this.maxParallelism,
      keyGroupRange: this.keyGroupRange,
      states: this.stateList(),
      timers,
      ...(heapChunks ? { heapChunks } : {}),
    };
  }

  protected stateList(): StateMetaEntry[] {
    return [...this.registeredStates.values()].map((s) => ({ name: s.name, id: s.id, kind: s.kind }));
  }

  protected checkRestoreHandle(h: KeyedStateHandle): void {
    if (h.format !== this.kind) throw new ConfigError(`cannot restore a ${h.format} handle into the ${this.kind} backend`);
    if (h.maxParallelism !== this.maxParallelism) {
      throw new ConfigError(`handle of ${h.operatorId}/${h.subtaskIndex} has maxParallelism ${h.maxParallelism}, backend has ${this.maxParallelism}`);
    }
  }

  // ---- the parts each backend provides ------------------------------------------------

  abstract cellGet(stateId: number): Uint8Array | undefined;
  abstract cellPut(stateId: number, value: Uint8Array): void;
  abstract cellDelete(stateId: number): void;
  abstract mapGet(stateId: number, userKey: Uint8Array): Uint8Array | undefined;
  abstract mapPut(stateId: number, userKey: Uint8Array, value: Uint8Array): void;
  abstract mapDelete(stateId: number, userKey: Uint8Array): void;
  abstract mapEntries(stateId: number): Iterable<[Uint8Array, Uint8Array]>;
  abstract mapIsEmpty(stateId: number): boolean;
  abstract mapClear(stateId: number): void;

  abstract snapshot(target: SnapshotTarget): SnapshotInProgress;
  abstract notifyCheckpointComplete(checkpointId: number): void;
  abstract notifyCheckpointAborted(checkpointId: number): void;
  abstract writeBackpressure(): Promise<void> | undefined;
  abstract approximateSize(): number;
  abstract dispose(): Promise<void>;
}

function concat2(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

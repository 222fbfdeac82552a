/**
 * The heap backend: state in memory, one table per (key group, state), full snapshots.
 *
 * Layout: tables[kg - range.start][state id] maps a cell to a stored value. The cell is
 * the key itself when the key is a 32-bit integer serialized by the default msgpack
 * serializer and the namespace is void (a number key: no string to build or hash), else
 * the latin1 string of (serialized key ‖ namespace) as key-layout.ts lays them out.
 * Stored values: single-value state (value, reducing, aggregating) keeps an immutable
 * primitive (number, boolean, null, well-formed string) as it is when the state uses the
 * default msgpack serializer — like Flink's heap backend, which keeps objects, but only
 * where that cannot be observed: a primitive cannot be mutated behind the backend's back
 * and round-trips msgpack exactly — and everything else as serialized bytes (objects, so
 * a returned object is a copy, as with the lsm backend; list state; custom serializers).
 * MapState cells hold a user map (latin1(user key) → value bytes).
 *
 * Snapshot, synchronous part: copy the per-key-group arrays of table references
 * (O(#key groups × #states)) and bump `epoch`. Copy-on-write keeps that view frozen: a
 * table or user map whose `version` is older than `epoch` may be held by an in-flight
 * snapshot, so the first write to it after a snapshot clones it (shallowly: stored
 * values are immutable) when a snapshot is in flight, or just takes the new version when
 * none is. Asynchronous part: encode each key group's tables as a chunk (yielding to the
 * event loop between chunks; number cells and primitive values are serialized here), write
 * the data file and a meta file (states, timers, chunk offsets) to `<job>/taskowned/`,
 * return a 'heap'/'full' handle.
 *
 * Data file (unchanged format): chunks back to back; a chunk is a sequence of entries
 *   varint cellLen ‖ cell bytes ‖ 0 ‖ varint valueLen ‖ value               (single value)
 *   varint cellLen ‖ cell bytes ‖ 1 ‖ varint n ‖ n × (varint ukLen ‖ uk ‖ varint vLen ‖ v)   (map)
 * where cell bytes = state id (2 bytes) ‖ length-prefixed key ‖ length-prefixed namespace.
 *
 * Invariants: a table / user map with version === epoch is referenced by no snapshot
 * taken so far and may be mutated in place; `inFlight` counts snapshots whose
 * asynchronous part has not finished reading the frozen tables. A cell of a given
 * (key, namespace) is always the same form (number or string): decided by its bytes.
 */
import type { KeyedStateHandle, PrivateFileRef, SnapshotTarget } from './handles.ts';
import { emptySnapshotPhases, type Serializer, type SnapshotInProgress, type SnapshotPhases } from './types.ts';
import { BaseKeyedBackend } from './backend-base.ts';
import type { BackendOptions } from './backend-base.ts';
import { bytesToBinaryString, readVarint } from './key-layout.ts';
import {
  decodeMeta, encodeMeta, readVerified, writePrivate,
} from './snapshot-meta.ts';
import { intersectRanges, rangeContains, rangeSize } from './key-groups.ts';
import type { TimerSnapshotEntry } from './timer-queue.ts';
import type { StateMetaEntry } from './snapshot-meta.ts';
import { msgpackIntAt, msgpackSerializer, writeMsgpackFast } from './serializers.ts';
import { privatePath } from '../storage/job-layout.ts';
import { assert } from '../util/assert.ts';
import { crashPoint } from '../util/crash-points.ts';
import { CheckpointDeclinedError, CorruptionError } from '../util/errors.ts';

interface HeapUserMap {
  version: number;
  readonly map: Map<string, Uint8Array>;
}

type Primitive = number | string | boolean | null;
type Stored = Uint8Array | Primitive | HeapUserMap;
/** A number key (int key, void namespace) or latin1(key part ‖ namespace part). */
type Cell = number | string;

interface HeapTable {
  version: number;
  readonly map: Map<Cell, Stored>;
}

/** Per key group: tables by state id. */
type GroupTables = (HeapTable | undefined)[];

const ENTRY_VALUE = 0;
const ENTRY_MAP = 1;
/** Rough per-entry overhead of a JS Map entry, for approximateSize(). */
const ENTRY_OVERHEAD = 48;
/** The smallest buffer of an appended list cell (it doubles as the list grows). */
const MIN_LIST_ROOM = 64;
const EMPTY = new Uint8Array(0);

function isUserMap(v: Stored | undefined): v is HeapUserMap {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array);
}

/** A primitive the backend may keep unserialized (msgpack round-trips it exactly). */
function keepable(v: unknown): v is Primitive {
  switch (typeof v) {
    case 'number':
    case 'boolean':
      return true;
    case 'string':
      return (v as string & { isWellFormed(): boolean }).isWellFormed();
    default:
      return v === null;
  }
}

function storedSize(v: Stored): number {
  if (v instanceof Uint8Array) return v.length;
  return typeof v === 'string' ? v.length : 8;
}

/** Cell parts up to this many bytes (key ‖ namespace) are built in a scratch buffer. */
const CELL_SCRATCH_BYTES = 512;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Growable byte buffer for encoding chunks. */
class ByteWriter {
  buf = Buffer.allocUnsafe(64 * 1024);
  pos = 0;
  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  varint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }
  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }
  latin1(s: string): void {
    this.varint(s.length);
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }
  bytes(b: Uint8Array): void {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  /** varint(length) ‖ state id ‖ cell bytes (a number cell is its key part ‖ the void namespace). */
  cell(stateId: number, cell: Cell, scratch: Uint8Array): void {
    if (typeof cell === 'number') {
      const end = writeMsgpackFast(cell, scratch, 1);
      scratch[0] = end - 1;
      scratch[end] = 0;
      this.varint(2 + end + 1);
      this.ensure(2 + end + 1);
      this.buf[this.pos++] = (stateId >>> 8) & 0xff;
      this.buf[this.pos++] = stateId & 0xff;
      for (let i = 0; i <= end; i++) this.buf[this.pos++] = scratch[i]!;
      return;
    }
    this.varint(2 + cell.length);
    this.ensure(2 + cell.length);
    this.buf[this.pos++] = (stateId >>> 8) & 0xff;
    this.buf[this.pos++] = stateId & 0xff;
    this.pos += this.buf.write(cell, this.pos, 'latin1');
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }
}

export class HeapKeyedBackend extends BaseKeyedBackend {
  readonly kind = 'heap' as const;

  private tables: (GroupTables | undefined)[];
  private epoch = 0;
  private inFlight = 0;
  private bytes = 0;
  private readonly cellScratch = new Uint8Array(CELL_SCRATCH_BYTES);
  private cachedCell: Cell = 0;
  private cachedCellVersion = -1;
  /** Snapshots whose asynchronous part is running: id → aborted flag. */
  private readonly running = new Map<number, { aborted: boolean }>();
  /** Asynchronous parts not yet settled (dispose() waits for them). */
  private readonly asyncParts = new Set<Promise<void>>();
  /** Buffers of appended list cells → the offset up to which they are written (cellAppend). */
  private readonly appendEnds = new WeakMap<ArrayBufferLike, number>();

  constructor(opts: BackendOptions) {
    super(opts);
    this.tables = new Array<GroupTables | undefined>(rangeSize(this.keyGroupRange)).fill(undefined);
  }

  // ---- cell access ---------------------------------------------------------------------

  /**
   * The current cell, cached until the key or namespace changes: a record's read and
   * write then use the same number, or the same string object (V8 caches a string's
   * hash). A string cell is built as one flat latin1 string from a scratch buffer.
   */
  private cell(): Cell {
    this.requireKey();
    if (this.cachedCellVersion === this.cellVersion) return this.cachedCell;
    const np = this.nsPart;
    let cell: Cell;
    if (this.intKey !== undefined && np.length === 1 && np[0] === 0) {
      cell = this.intKey;
    } else {
      const kp = this.keyPart;
      const n = kp.length + np.length;
      if (n <= CELL_SCRATCH_BYTES) {
        const s = this.cellScratch;
        s.set(kp, 0);
        s.set(np, kp.length);
        cell = bytesToBinaryString(s.subarray(0, n));
      } else {
        cell = bytesToBinaryString(kp) + bytesToBinaryString(np);
      }
    }
    this.cachedCell = cell;
    this.cachedCellVersion = this.cellVersion;
    return cell;
  }

  private readTable(stateId: number): HeapTable | undefined {
    return this.tables[this.keyGroup - this.keyGroupRange.start]?.[stateId];
  }

  private writableTable(stateId: number): HeapTable {
    const i = this.keyGroup - this.keyGroupRange.start;
    let g = this.tables[i];
    if (g === undefined) {
      g = [];
      this.tables[i] = g;
    }
    let t = g[stateId];
    if (t === undefined) {
      t = { version: this.epoch, map: new Map() };
      g[stateId] = t;
    } else if (t.version !== this.epoch) {
      if (this.inFlight > 0) {
        t = { version: this.epoch, map: new Map(t.map) };
        g[stateId] = t;
      } else {
        t.version = this.epoch;
      }
    }
    return t;
  }

  private writableUserMap(t: HeapTable, cell: Cell): HeapUserMap {
    const cur = t.map.get(cell);
    if (!isUserMap(cur)) {
      const um: HeapUserMap = { version: this.epoch, map: new Map() };
      t.map.set(cell, um);
      this.bytes += ENTRY_OVERHEAD;
      return um;
    }
    if (cur.version !== this.epoch) {
      if (this.inFlight > 0) {
        const um: HeapUserMap = { version: this.epoch, map: new Map(cur.map) };
        t.map.set(cell, um);
        return um;
      }
      cur.version = this.epoch;
    }
    return cur;
  }

  private putStored(stateId: number, v: Uint8Array | Primitive): void {
    const cell = this.cell();
    const t = this.writableTable(stateId);
    const old = t.map.get(cell);
    this.bytes += storedSize(v) - (old === undefined ? -ENTRY_OVERHEAD : isUserMap(old) ? 0 : storedSize(old));
    t.map.set(cell, v);
  }

  cellGet(stateId: number): Uint8Array | undefined {
    const cell = this.cell();
    const v = this.readTable(stateId)?.map.get(cell);
    if (v === undefined || isUserMap(v)) return undefined;
    return v instanceof Uint8Array ? v : msgpackSerializer.serialize(v);
  }

  cellPut(stateId: number, value: Uint8Array): void {
    this.putStored(stateId, value);
  }

  /**
   * ListState.add/addAll: appends without copying the list. A list cell is a view
   * [0, len) of a buffer this backend allocated with spare room (`appendEnds` says how far
   * each such buffer is written); an append to the view that ends at the written end
   * writes into the spare room and stores a longer view of the same buffer, otherwise it
   * copies into a buffer twice the size. Bytes inside a stored view never change, so a
   * snapshot in flight (which holds the older, shorter view) and cellGet's callers see
   * exactly what they saw: n adds cost O(n) bytes copied in all, not O(n²).
   */
  cellAppend(stateId: number, bytes: Uint8Array): void {
    const cell = this.cell();
    const t = this.writableTable(stateId);
    const old = t.map.get(cell);
    const prior = old instanceof Uint8Array ? old : undefined;
    const n = bytes.length;
    let next: Uint8Array;
    if (prior !== undefined && this.appendEnds.get(prior.buffer) === prior.byteOffset + prior.length
      && prior.buffer.byteLength - prior.byteOffset - prior.length >= n) {
      next = new Uint8Array(prior.buffer, prior.byteOffset, prior.length + n);
      next.set(bytes, prior.length);
    } else {
      const oldBytes = prior ?? (old === undefined || isUserMap(old) ? EMPTY : msgpackSerializer.serialize(old));
      const len = oldBytes.length + n;
      const room = new Uint8Array(Math.max(MIN_LIST_ROOM, 2 * len));
      room.set(oldBytes, 0);
      room.set(bytes, oldBytes.length);
      next = room.subarray(0, len);
    }
    this.appendEnds.set(next.buffer, next.byteOffset + next.length);
    this.bytes += n + (old === undefined ? ENTRY_OVERHEAD : 0);
    t.map.set(cell, next);
  }

  valueGet<T>(stateId: number, ser: Serializer<T>): T | undefined {
    const cell = this.cell();
    const v = this.readTable(stateId)?.map.get(cell);
    if (v === undefined || isUserMap(v)) return undefined;
    // Primitives are stored as they are only for the msgpack serializer (valuePut).
    return v instanceof Uint8Array ? ser.deserialize(v) : (v as T);
  }

  valuePut<T>(stateId: number, value: T, ser: Serializer<T>): void {
    if (ser === msgpackSerializer && keepable(value)) {
      // -0 serializes as 0 with msgpack: keep what a round trip would give.
      this.putStored(stateId, typeof value === 'number' ? value + 0 : value);
    } else {
      this.putStored(stateId, ser.serialize(value));
    }
  }

  cellDelete(stateId: number): void {
    const cell = this.cell();
    const rt = this.readTable(stateId);
    if (rt === undefined || !rt.map.has(cell)) return;
    const t = this.writableTable(stateId);
    const old = t.map.get(cell);
    if (old !== undefined && !isUserMap(old)) this.bytes -= storedSize(old) + ENTRY_OVERHEAD;
    t.map.delete(cell);
  }

  mapGet(stateId: number, userKey: Uint8Array): Uint8Array | undefined {
    const cell = this.cell();
    const um = this.readTable(stateId)?.map.get(cell);
    if (!isUserMap(um)) return undefined;
    return um.map.get(bytesToBinaryString(userKey));
  }

  mapPut(stateId: number, userKey: Uint8Array, value: Uint8Array): void {
    const cell = this.cell();
    const um = this.writableUserMap(this.writableTable(stateId), cell);
    const uk = bytesToBinaryString(userKey);
    const old = um.map.get(uk);
    this.bytes += value.length - (old ? old.length : -uk.length - ENTRY_OVERHEAD);
    um.map.set(uk, value);
  }

  mapDelete(stateId: number, userKey: Uint8Array): void {
    const cell = this.cell();
    const cur = this.readTable(stateId)?.map.get(cell);
    const uk = bytesToBinaryString(userKey);
    if (!isUserMap(cur) || !cur.map.has(uk)) return;
    const t = this.writableTable(stateId);
    const um = this.writableUserMap(t, cell);
    const old = um.map.get(uk)!;
    this.bytes -= old.length + uk.length + ENTRY_OVERHEAD;
    um.map.delete(uk);
    if (um.map.size === 0) {
      t.map.delete(cell);
      this.bytes -= ENTRY_OVERHEAD;
    }
  }

  mapEntries(stateId: number): Iterable<[Uint8Array, Uint8Array]> {
    const cell = this.cell();
    const um = this.readTable(stateId)?.map.get(cell);
    if (!isUserMap(um)) return [];
    // latin1 strings compare like their bytes (one UTF-16 unit per byte).
    const keys = [...um.map.keys()].sort();
    const map = um.map;
    return keys.map((k): [Uint8Array, Uint8Array] => [new Uint8Array(Buffer.from(k, 'latin1')), map.get(k)!]);
  }

  mapIsEmpty(stateId: number): boolean {
    const cell = this.cell();
    const um = this.readTable(stateId)?.map.get(cell);
    return !isUserMap(um) || um.map.size === 0;
  }

  mapClear(stateId: number): void {
    const cell = this.cell();
    const cur = this.readTable(stateId)?.map.get(cell);
    if (!isUserMap(cur)) return;
    const t = this.writableTable(stateId);
    let freed = ENTRY_OVERHEAD;
    for (const [k, v] of cur.map) freed += k.length + v.length + ENTRY_OVERHEAD;
    this.bytes -= freed;
    t.map.delete(cell);
  }

  // ---- snapshot -----------------------------------------------------------------------

  snapshot(target: SnapshotTarget): SnapshotInProgress {
    if (this.disposed) throw new CheckpointDeclinedError(target.checkpointId, 'state backend is disposed');
    const t0 = this.clock.monotonic();
    const frozen = this.tables.map((g) => g?.slice());
    this.epoch++;
    this.inFlight++;
    crashPoint('snapshot-sync');
    const timers = this.timers.capture();
    const states = this.stateList();
    const syncMillis = this.clock.monotonic() - t0;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        this.inFlight--;
        assert(this.inFlight >= 0, 'heap snapshot released twice');
      }
    };
    const phases = emptySnapshotPhases();
    const done = this.asyncSnapshot(target, frozen, timers, states, release, phases);
    const tracked = done.then(() => undefined, () => undefined);
    this.asyncParts.add(tracked);
    void tracked.then(() => this.asyncParts.delete(tracked));
    return { syncMillis, done, phases };
  }

  private async asyncSnapshot(
    target: SnapshotTarget,
    frozen: readonly (GroupTables | undefined)[],
    timers: TimerSnapshotEntry[],
    states: StateMetaEntry[],
    release: () => void,
    phases: SnapshotPhases,
  ): Promise<KeyedStateHandle> {
    const written: string[] = [];
    const run = { aborted: false };
    this.running.set(target.checkpointId, run);
    const checkAborted = (): void => {
      if (run.aborted) throw new CheckpointDeclinedError(target.checkpointId, 'aborted while its snapshot was being written');
    };
    try {
      // Everything below runs after snapshot() has returned (the frozen view is copy-on-write).
      await yieldToEventLoop();
      crashPoint('snapshot-async');
      const serializeStart = this.clock.monotonic();
      const w = new ByteWriter();
      const chunks: [number, number, number][] = [];
      const scratch = new Uint8Array(8);
      for (let i = 0; i < frozen.length; i++) {
        const g = frozen[i];
        if (g === undefined) continue;
        const start = w.pos;
        for (let stateId = 0; stateId < g.length; stateId++) {
          const t = g[stateId];
          if (t === undefined) continue;
          for (const [cell, v] of t.map) {
            w.cell(stateId, cell, scratch);
            if (isUserMap(v)) {
              w.byte(ENTRY_MAP);
              w.varint(v.map.size);
              for (const [uk, uv] of v.map) {
                w.latin1(uk);
                w.bytes(uv);
              }
            } else {
              w.byte(ENTRY_VALUE);
              w.bytes(v instanceof Uint8Array ? v : msgpackSerializer.serialize(v));
            }
          }
        }
        if (w.pos > start) chunks.push([this.keyGroupRange.start + i, start, w.pos - start]);
        if (i % 16 === 15) await yieldToEventLoop();
      }
      release();
      checkAborted();
      const uploadStart = this.clock.monotonic();
      phases.serializeMillis = uploadStart - serializeStart;
      const { checkpointId, jobPath } = target;
      const r = this.keyGroupRange;
      const dataPath = privatePath(jobPath, this.uploadOwner(checkpointId), `heap-kg-${r.start}-${r.end}`);
      written.push(dataPath);
      const dataRef = await writePrivate(this.storage, dataPath, `heap-kg-${r.start}-${r.end}`, w.result());
      crashPoint('upload');
      const meta = encodeMeta({ ...this.buildMeta(timers, chunks), states });
      const metaPath = privatePath(jobPath, this.uploadOwner(checkpointId), 'meta');
      written.push(metaPath);
      const metaRef = await writePrivate(this.storage, metaPath, 'meta', meta);
      checkAborted();
      const privateFiles: PrivateFileRef[] = [metaRef, dataRef];
      const size = metaRef.size + dataRef.size;
      phases.uploadMillis = this.clock.monotonic() - uploadStart;
      phases.uploadBytes = size;
      phases.uploadFiles = privateFiles.length;
      return {
        format: 'heap',
        mode: 'full',
        backendId: this.backendId,
        operatorId: this.operatorId,
        subtaskIndex: this.subtaskIndex,
        keyGroupRange: this.keyGroupRange,
        maxParallelism: this.maxParallelism,
        checkpointId,
        sharedFiles: [],
        privateFiles,
        fullSize: size,
        incrementalSize: size,
        states,
      };
    } catch (err) {
      release();
      await Promise.allSettled(written.map((p) => this.storage.delete(p)));
      if (run.aborted) throw new CheckpointDeclinedError(target.checkpointId, 'aborted while its snapshot was being written', { cause: err });
      throw new CheckpointDeclinedError(target.checkpointId, `heap snapshot failed: ${(err as Error).message}`, { cause: err });
    } finally {
      this.running.delete(target.checkpointId);
    }
  }

  notifyCheckpointComplete(_checkpointId: number): void {
    // Full snapshots: nothing to base the next one on.
  }

  /** A snapshot still being written stops, deletes its files and rejects. */
  notifyCheckpointAborted(checkpointId: number): void {
    const run = this.running.get(checkpointId);
    if (run) run.aborted = true;
  }

  writeBackpressure(): Promise<void> | undefined {
    return undefined;
  }

  approximateSize(): number {
    return this.bytes;
  }

  async dispose(): Promise<void> {
    this.disposed = true;
    // A snapshot still writing can no longer be acknowledged (the task is closing, e.g. on
    // Ctrl-C): abort it, so it deletes what it wrote, and wait (a clean stop leaves no upload behind).
    for (const run of this.running.values()) run.aborted = true;
    await Promise.allSettled([...this.asyncParts]);
    this.tables = [];
  }

  // ---- restore ------------------------------------------------------------------------

  /** Reads the key groups of this backend's range from every handle. */
  async restore(handles: readonly KeyedStateHandle[], onProgress?: (done: number, total: number) => void): Promise<void> {
    const relevant = handles.filter((h) => {
      this.checkRestoreHandle(h);
      const x = intersectRanges(h.keyGroupRange, this.keyGroupRange);
      return x.start <= x.end;
    });
    if (relevant.length === 0) return;
    this.adoptStates(relevant[0]!.states);
    const files = relevant.map((h) => {
      const meta = h.privateFiles.find((f) => f.name === 'meta');
      const data = h.privateFiles.find((f) => f.name.startsWith('heap-kg-'));
      if (!meta || !data) throw new CorruptionError(`${h.operatorId}/${h.subtaskIndex}@${h.checkpointId}`, undefined, 'heap handle lacks its meta or data file');
      return { h, meta, data };
    });
    const total = files.reduce((n, f) => n + f.meta.size + f.data.size, 0);
    let downloaded = 0;
    const progress = (n: number): void => {
      downloaded += n;
      onProgress?.(downloaded, total);
    };
    onProgress?.(0, total);
    // Download in parallel (bounded), then apply in handle order (deterministic ids).
    const limit = this.transferConcurrency;
    const loaded: { meta: Uint8Array; data: Uint8Array }[] = new Array(files.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let i = next++; i < files.length; i = next++) {
        const f = files[i]!;
        const [meta, data] = await Promise.all([
          readVerified(this.storage, f.meta.path, f.meta.size, f.meta.checksum),
          readVerified(this.storage, f.data.path, f.data.size, f.data.checksum),
        ]);
        progress(meta.length + data.length);
        crashPoint('restore');
        loaded[i] = { meta, data };
      }
    };
    await Promise.all(Array.from({ length: Math.min(limit, files.length) }, worker));
    for (let i = 0; i < files.length; i++) {
      const { meta: metaBytes, data } = loaded[i]!;
      const meta = decodeMeta(metaBytes, files[i]!.meta.path);
      const ids = this.mapRestoredStates(meta.states);
      for (const [kg, offset, length] of meta.heapChunks ?? []) {
        if (!rangeContains(this.keyGroupRange, kg)) continue;
        this.loadChunk(kg, data.subarray(offset, offset + length), ids, files[i]!.data.path);
      }
      this.restoreTimers(meta.timers);
    }
  }

  private loadChunk(kg: number, chunk: Uint8Array, ids: Map<number, number>, file: string): void {
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const fastKeys = this.keySerializer === msgpackSerializer;
    let off = 0;
    const str = (): string => {
      const [len, o] = readVarint(chunk, off);
      off = o + len;
      if (off > chunk.length) throw new CorruptionError(file, o, 'heap chunk entry runs past its chunk');
      return buf.toString('latin1', o, o + len);
    };
    const bytes = (): Uint8Array => {
      const [len, o] = readVarint(chunk, off);
      off = o + len;
      if (off > chunk.length) throw new CorruptionError(file, o, 'heap chunk value runs past its chunk');
      return chunk.slice(o, o + len);
    };
    let guard = chunk.length;
    while (off < chunk.length && guard-- > 0) {
      const [cellLen, co] = readVarint(chunk, off);
      off = co + cellLen;
      if (off > chunk.length || cellLen < 2) throw new CorruptionError(file, co, 'heap chunk cell runs past its chunk');
      const oldId = (chunk[co]! << 8) | chunk[co + 1]!;
      const newId = ids.get(oldId);
      if (newId === undefined) throw new CorruptionError(file, off, `entry of unknown state id ${oldId}`);
      // The same form a live write of this (key, namespace) uses (see cell()).
      const [klen, ko] = readVarint(chunk, co + 2);
      const voidNs = ko + klen === off - 1 && chunk[off - 1] === 0;
      const asInt = fastKeys && voidNs ? msgpackIntAt(chunk, ko, ko + klen) : undefined;
      const cell: Cell = asInt !== undefined ? asInt : buf.toString('latin1', co + 2, off);
      const t = this.restoreTable(kg, newId);
      const type = chunk[off++];
      if (type === ENTRY_VALUE) {
        const v = bytes();
        t.map.set(cell, v);
        this.bytes += v.length + ENTRY_OVERHEAD;
      } else if (type === ENTRY_MAP) {
        const [n, o] = readVarint(chunk, off);
        off = o;
        const um: HeapUserMap = { version: this.epoch, map: new Map() };
        for (let j = 0; j < n; j++) {
          const uk = str();
          const v = bytes();
          um.map.set(uk, v);
          this.bytes += uk.length + v.length + ENTRY_OVERHEAD;
        }
        t.map.set(cell, um);
        this.bytes += ENTRY_OVERHEAD;
      } else {
        throw new CorruptionError(file, off - 1, `unknown heap entry type ${String(type)}`);
      }
    }
  }

  private restoreTable(kg: number, stateId: number): HeapTable {
    const i = kg - this.keyGroupRange.start;
    let g = this.tables[i];
    if (g === undefined) {
      g = [];
      this.tables[i] = g;
    }
    let t = g[stateId];
    if (t === undefined) {
      t = { version: this.epoch, map: new Map() };
      g[stateId] = t;
    }
    return t;
  }
}

/** Opens a heap backend, restoring the key groups of its range from `opts.restoreFrom`. */
export async function createHeapBackend(opts: BackendOptions): Promise<HeapKeyedBackend> {
  const b = new HeapKeyedBackend(opts);
  await b.restore(opts.restoreFrom ?? [], opts.onRestoreProgress);
  return b;
}

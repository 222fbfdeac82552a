/**
 * The state kinds users see (value, list, map, reducing, aggregating), written once
 * over a backend's byte-level cell access (CellStore). A "cell" is (state id, current
 * key, current namespace); the backend resolves the current key and namespace, which it
 * serialized once in setCurrentKey / setCurrentNamespace. Values are (de)serialized
 * only here, only when read or written.
 *
 * List encoding: the elements' serialized bytes, each prefixed with a varint length, so
 * the encoding of a list is the concatenation of its elements' encodings: add() appends
 * bytes without deserializing the list. On a backend with `cellAppend` add()/addAll()
 * write only the new elements' bytes (the lsm backend: an LSM merge operand,
 * src/lsm/merge.ts; the heap backend: into spare room after the list's bytes);
 * otherwise they read the list's bytes and write old ‖ new.
 */
import type {
  AggregateFunction, AggregatingState, ListState, MapState, ReducingState, Serializer, ValueState,
} from './types.ts';
import { readVarint, varintLength, writeVarint } from './key-layout.ts';

export type StateKind = 'value' | 'list' | 'map' | 'reducing' | 'aggregating';

/** Byte-level access to the current key's cells; implemented by each backend. */
export interface CellStore {
  cellGet(stateId: number): Uint8Array | undefined;
  cellPut(stateId: number, value: Uint8Array): void;
  cellDelete(stateId: number): void;
  mapGet(stateId: number, userKey: Uint8Array): Uint8Array | undefined;
  mapPut(stateId: number, userKey: Uint8Array, value: Uint8Array): void;
  mapDelete(stateId: number, userKey: Uint8Array): void;
  /** Entries of the current cell's map in byte order of the user key; a point-in-time view, copied. */
  mapEntries(stateId: number): Iterable<[Uint8Array, Uint8Array]>;
  mapIsEmpty(stateId: number): boolean;
  mapClear(stateId: number): void;
  /**
   * Optional: appends bytes to the cell's value without reading it (absent cell = empty
   * value); a later cellGet returns old ‖ bytes. ListState uses it when present.
   */
  cellAppend?(stateId: number, bytes: Uint8Array): void;
  /**
   * Optional object-level access to a single-value cell (value, reducing, aggregating
   * state): a backend that keeps values unserialized (the heap backend keeps immutable
   * primitives as they are) implements both; the state objects then skip the bytes.
   */
  valueGet?<T>(stateId: number, ser: Serializer<T>): T | undefined;
  valuePut?<T>(stateId: number, value: T, ser: Serializer<T>): void;
}

/** Reads a single-value cell as an object, through the object-level path when the backend has one. */
function readValue<T>(cells: CellStore, id: number, ser: Serializer<T>): T | undefined {
  if (cells.valueGet !== undefined) return cells.valueGet(id, ser);
  const b = cells.cellGet(id);
  return b === undefined ? undefined : ser.deserialize(b);
}

function writeValue<T>(cells: CellStore, id: number, value: T, ser: Serializer<T>): void {
  if (cells.valuePut !== undefined) cells.valuePut(id, value, ser);
  else cells.cellPut(id, ser.serialize(value));
}

export class ValueStateImpl<T> implements ValueState<T> {
  constructor(private readonly cells: CellStore, private readonly id: number, private readonly ser: Serializer<T>) {}
  value(): T | undefined {
    return readValue(this.cells, this.id, this.ser);
  }
  update(value: T): void {
    if (value === undefined) {
      this.cells.cellDelete(this.id);
      return;
    }
    writeValue(this.cells, this.id, value, this.ser);
  }
  clear(): void {
    this.cells.cellDelete(this.id);
  }
}

function encodeElements(ser: Serializer<any>, values: readonly unknown[], prefix?: Uint8Array): Uint8Array {
  const parts = values.map((v) => ser.serialize(v));
  let len = prefix?.length ?? 0;
  for (const p of parts) len += varintLength(p.length) + p.length;
  const out = new Uint8Array(len);
  let off = 0;
  if (prefix) {
    out.set(prefix, 0);
    off = prefix.length;
  }
  for (const p of parts) {
    off = writeVarint(out, off, p.length);
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export function decodeElements<T>(ser: Serializer<T>, bytes: Uint8Array): T[] {
  const out: T[] = [];
  let off = 0;
  while (off < bytes.length) {
    const [len, o] = readVarint(bytes, off);
    out.push(ser.deserialize(bytes.subarray(o, o + len)));
    off = o + len;
  }
  return out;
}

export class ListStateImpl<T> implements ListState<T> {
  constructor(private readonly cells: CellStore, private readonly id: number, private readonly ser: Serializer<T>) {}
  get(): T[] {
    const b = this.cells.cellGet(this.id);
    return b === undefined ? [] : decodeElements(this.ser, b);
  }
  add(value: T): void {
    if (this.cells.cellAppend !== undefined) this.cells.cellAppend(this.id, encodeElements(this.ser, [value]));
    else this.cells.cellPut(this.id, encodeElements(this.ser, [value], this.cells.cellGet(this.id)));
  }
  addAll(values: readonly T[]): void {
    if (values.length === 0) return;
    if (this.cells.cellAppend !== undefined) this.cells.cellAppend(this.id, encodeElements(this.ser, values));
    else this.cells.cellPut(this.id, encodeElements(this.ser, values, this.cells.cellGet(this.id)));
  }
  update(values: readonly T[]): void {
    if (values.length === 0) {
      this.cells.cellDelete(this.id);
      return;
    }
    this.cells.cellPut(this.id, encodeElements(this.ser, values));
  }
  clear(): void {
    this.cells.cellDelete(this.id);
  }
}

export class MapStateImpl<K, V> implements MapState<K, V> {
  constructor(
    private readonly cells: CellStore,
    private readonly id: number,
    private readonly keySer: Serializer<K>,
    private readonly valueSer: Serializer<V>,
  ) {}
  get(key: K): V | undefined {
    const b = this.cells.mapGet(this.id, this.keySer.serialize(key));
    return b === undefined ? undefined : this.valueSer.deserialize(b);
  }
  put(key: K, value: V): void {
    this.cells.mapPut(this.id, this.keySer.serialize(key), this.valueSer.serialize(value));
  }
  has(key: K): boolean {
    return this.cells.mapGet(this.id, this.keySer.serialize(key)) !== undefined;
  }
  remove(key: K): void {
    this.cells.mapDelete(this.id, this.keySer.serialize(key));
  }
  *entries(): IterableIterator<[K, V]> {
    for (const [k, v] of this.cells.mapEntries(this.id)) yield [this.keySer.deserialize(k), this.valueSer.deserialize(v)];
  }
  *keys(): IterableIterator<K> {
    for (const [k] of this.cells.mapEntries(this.id)) yield this.keySer.deserialize(k);
  }
  *values(): IterableIterator<V> {
    for (const [, v] of this.cells.mapEntries(this.id)) yield this.valueSer.deserialize(v);
  }
  isEmpty(): boolean {
    return this.cells.mapIsEmpty(this.id);
  }
  clear(): void {
    this.cells.mapClear(this.id);
  }
}

export class ReducingStateImpl<T> implements ReducingState<T> {
  constructor(
    private readonly cells: CellStore,
    private readonly id: number,
    private readonly reduce: (a: T, b: T) => T,
    private readonly ser: Serializer<T>,
  ) {}
  get(): T | undefined {
    return readValue(this.cells, this.id, this.ser);
  }
  add(value: T): void {
    const cur = readValue(this.cells, this.id, this.ser);
    writeValue(this.cells, this.id, cur === undefined ? value : this.reduce(cur, value), this.ser);
  }
  clear(): void {
    this.cells.cellDelete(this.id);
  }
}

export class AggregatingStateImpl<IN, ACC, OUT> implements AggregatingState<IN, OUT> {
  constructor(
    private readonly cells: CellStore,
    private readonly id: number,
    private readonly fn: AggregateFunction<IN, ACC, OUT>,
    private readonly ser: Serializer<ACC>,
  ) {}
  get(): OUT | undefined {
    const acc = readValue(this.cells, this.id, this.ser);
    return acc === undefined ? undefined : this.fn.getResult(acc);
  }
  add(value: IN): void {
    const cur = readValue(this.cells, this.id, this.ser);
    const acc = cur === undefined ? this.fn.createAccumulator() : cur;
    writeValue(this.cells, this.id, this.fn.add(value, acc), this.ser);
  }
  clear(): void {
    this.cells.cellDelete(this.id);
  }
}

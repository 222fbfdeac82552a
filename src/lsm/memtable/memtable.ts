/**
 * A memtable: the in-memory buffer every write goes to first.
 *
 * Layout (what the fastest engines do for point-heavy workloads: an append-only arena
 * with a hash index, ordered only when order is needed):
 *  - an arena of 256 KiB slabs holding key and value bytes (no per-entry ArrayBuffer or
 *    view object);
 *  - distinct keys, id k = 0, 1, … in first-write order, in typed arrays: where the
 *    key's bytes are, its hash, two numeric prefixes (bytes 0-5 and 6-11, compare.ts) and
 *    `head` = its newest entry;
 *  - entries (versions), id e, in typed arrays: sequence, where the value's bytes are,
 *    the value length (-1 = point deletion), its kind (Put/Delete/Merge) and `older` =
 *    the previous entry of the same key, so a key's versions form a chain in
 *    sequence-descending order; a merge operand (append, ../merge.ts) is one entry with
 *    only the operand's bytes, folded onto the entries below it by reads and the flush;
 *  - an open-addressing hash table (linear probing, load <= 1/2) from key bytes to key
 *    id.
 * get() and add() are one hash probe each; neither touches an ordered structure.
 *
 * Order is built only when needed: a cursor (scans, iterators) first brings the
 * KeyIndex (a B+tree of key ids, key-index.ts) up to date with the keys added since
 * the last cursor — one insert each, or a sort and an O(n) rebuild when many are
 * pending — and the flush sorts the ids in slices (sort-ids.ts) between event-loop
 * turns. So seal() stays O(1) and a workload that never scans never sorts on its
 * task path. Range tombstones are kept apart in a TombstoneList.
 *
 * Byte accounting counts key and value bytes plus fixed per-key and per-entry overheads
 * for the typed arrays and the hash table (calibrated with bench/lsm/memtable-overhead.ts),
 * so the budget bounds real memory.
 *
 * Lifecycle: active (writable, owned by the store) → sealed (immutable, queued for
 * flush, readable by gets and by iterators that pinned it) → dropped after its flush is
 * installed and no iterator holds it (plain GC). Invariant: after seal() no method
 * changes its contents (asserted in add()); building its index changes no content.
 * Sequences of one key arrive increasing (the store assigns them); add() asserts it.
 */
import { assert } from '../../util/assert.ts';
import type { RangeTombstone, TombstoneIndex } from '../range-tombstones.ts';
import { TombstoneList } from '../range-tombstones.ts';
import { MAX_SEQUENCE, ValueKind } from '../internal-key.ts';
import { appendOperands } from '../merge.ts';
import { PREFIX_BYTES, keyPrefixAt } from './compare.ts';
import { KeyIndex, type KeyOrder } from './key-index.ts';
import { mergeIds, sortIdsByPrefixes, sortIdsNow } from './sort-ids.ts';
import { MemtableCursor, type MemtableEntries } from './memtable-cursor.ts';

export { MemtableCursor } from './memtable-cursor.ts';

const SLAB_BYTES = 256 * 1024;
const INITIAL_CAPACITY = 1024;
/**
 * Bytes per entry (version) beyond its value: sequence (8), value slab/offset/length
 * (12), older link (4), and growth slack of the doubling arrays.
 */
export const ENTRY_OVERHEAD = 40;
/**
 * Bytes per distinct key beyond its bytes: slab/offset/length/hash/head (20), two
 * prefixes (16), hash table slots at load <= 1/2 (8 to 16), growth slack, and the
 * ordered index when a cursor built it.
 */
export const KEY_OVERHEAD = 64;

export interface PointHit {
  seq: number;
  /** null = point deletion. */
  value: Uint8Array | null;
  /** The entry is a merge operand (value = the operand): the reader folds it onto what lies below. */
  merge: boolean;
  /** Memtable entry id of the hit (olderHit continues below it); -1 from a table. */
  entry: number;
}

/**
 * Entry layout in a flush buffer (little-endian): klen u32, vlen u32 (0xffffffff = delete),
 * seq hi u32 (bit 31 set = merge operand), seq lo u32, key, value. In-process only (store
 * thread → flush thread), never on disk.
 */
export const FLUSH_ENTRY_HEADER = 16;
export const DELETE_VLEN = 0xffffffff;
export const FLUSH_MERGE_FLAG = 0x8000_0000;

/** A key's newest entries folded for a flush: kind Put (a base was in the memtable) or Merge (operands only). */
interface Folded {
  kind: ValueKind;
  value: Uint8Array;
}

/** One entry of a flush: key, value (undefined: a point deletion), sequence and kind. */
export type FlushVisitor = (key: Uint8Array, value: Uint8Array | undefined, seq: number, kind: ValueKind) => void;

export interface FlushPayload {
  /** Entries in internal-key order, newest version of each key only (see encodeForFlush). Transferable. */
  buffer: ArrayBuffer;
  count: number;
  tombstones: RangeTombstone[];
  minSeq: number;
  maxSeq: number;
}

/**
 * A sealed memtable's newest version of each key, copied into fresh (transferable)
 * buffers, so its flush can sort and encode on the background flush thread instead of
 * the store's thread (Memtable.flushImage / Memtable.fromFlushImage). Key ids are the
 * memtable's; `slabs` are the arena's used bytes.
 */
export interface MemtableFlushImage {
  id: number;
  nKeys: number;
  slabs: Uint8Array<ArrayBuffer>[];
  kSlab: Int32Array<ArrayBuffer>;
  kOff: Int32Array<ArrayBuffer>;
  kLen: Int32Array<ArrayBuffer>;
  kP1: Float64Array<ArrayBuffer>;
  kP2: Float64Array<ArrayBuffer>;
  /** The newest entry of each key: sequence, where its value is, its length (-1 = deletion). */
  vSeq: Float64Array<ArrayBuffer>;
  vSlab: Int32Array<ArrayBuffer>;
  vOff: Int32Array<ArrayBuffer>;
  vLen: Int32Array<ArrayBuffer>;
  /** Its kind (ValueKind); a merge head is already folded with the entries below it (Memtable.foldHead). */
  vKind: Uint8Array<ArrayBuffer>;
  tombstones: RangeTombstone[];
  minSeq: number;
  maxSeq: number;
}

/** The buffers of an image (its postMessage transfer list). */
export function flushImageBuffers(img: MemtableFlushImage): ArrayBuffer[] {
  return [...img.slabs.map((s) => s.buffer), img.kSlab.buffer, img.kOff.buffer, img.kLen.buffer, img.kP1.buffer, img.kP2.buffer,
    img.vSeq.buffer, img.vSlab.buffer, img.vOff.buffer, img.vLen.buffer, img.vKind.buffer];
}

function growI32(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

function growU8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}

function growF64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

/** FNV-1a over the bytes, then murmur3's finalizer (linear probing wants well-mixed low bits). */
function hashBytes(k: Uint8Array): number {
  let h = 0x811c9dc5 ^ k.length;
  for (let i = 0; i < k.length; i++) h = Math.imul(h ^ k[i]!, 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

export class Memtable implements KeyOrder, MemtableEntries {
  readonly id: number;
  private readonly tombs = new TombstoneList();
  private frozen: TombstoneIndex | null = null;

  // Arena.
  private readonly slabs: Uint8Array[] = [new Uint8Array(SLAB_BYTES)];
  private slabIndex = 0;
  private slabOff = 0;

  // Distinct keys.
  private kSlab = new Int32Array(INITIAL_CAPACITY);
  private kOff = new Int32Array(INITIAL_CAPACITY);
  private kLen = new Int32Array(INITIAL_CAPACITY);
  private kHash = new Int32Array(INITIAL_CAPACITY);
  private kHead = new Int32Array(INITIAL_CAPACITY);
  private kP1 = new Float64Array(INITIAL_CAPACITY);
  private kP2 = new Float64Array(INITIAL_CAPACITY);
  private nKeys = 0;

  // Entries (versions).
  private eSeq = new Float64Array(INITIAL_CAPACITY);
  private eSlab = new Int32Array(INITIAL_CAPACITY);
  private eOff = new Int32Array(INITIAL_CAPACITY);
  private eLen = new Int32Array(INITIAL_CAPACITY);
  private eOlder = new Int32Array(INITIAL_CAPACITY);
  private eKind = new Uint8Array(INITIAL_CAPACITY);
  private nEntries = 0;
  /** Merge operands added (0: no key needs folding at flush). */
  private merges = 0;

  /** Hash table: key id + 1 per slot (0 = empty). */
  private slots = new Int32Array(2 * INITIAL_CAPACITY);
  private mask = 2 * INITIAL_CAPACITY - 1;

  /** The ordered index and how many key ids (0..indexed-1) it holds. */
  private readonly index = new KeyIndex(this);
  private indexed = 0;

  private _bytes = 0;
  private _sealed = false;
  minSeq = Number.MAX_SAFE_INTEGER;
  maxSeq = 0;

  constructor(id: number) {
    this.id = id;
  }

  get bytes(): number {
    return this._bytes;
  }

  get sealed(): boolean {
    return this._sealed;
  }

  get isEmpty(): boolean {
    return this.nEntries === 0 && this.tombs.length === 0;
  }

  get entryCount(): number {
    return this.nEntries;
  }

  get keyCount(): number {
    return this.nKeys;
  }

  get tombstones(): readonly RangeTombstone[] {
    return this.tombs.all;
  }

  // ---- arena ----------------------------------------------------------------------------

  /** Copies bytes into the arena; sets this.at (slab index) and returns the offset. */
  private at = 0;
  private copy(src: Uint8Array): number {
    const n = src.length;
    if (n > SLAB_BYTES >>> 2) {
      this.slabs.push(src.slice());
      this.at = this.slabs.length - 1;
      // The current slab stays the last small one: append a fresh one after the big one.
      this.slabs.push(new Uint8Array(SLAB_BYTES));
      this.slabIndex = this.slabs.length - 1;
      this.slabOff = 0;
      return 0;
    }
    if (this.slabOff + n > SLAB_BYTES) {
      this.slabs.push(new Uint8Array(SLAB_BYTES));
      this.slabIndex = this.slabs.length - 1;
      this.slabOff = 0;
    }
    const s = this.slabs[this.slabIndex]!;
    const off = this.slabOff;
    if (n <= 32) {
      for (let i = 0; i < n; i++) s[off + i] = src[i]!;
    } else s.set(src, off);
    this.slabOff = off + n;
    this.at = this.slabIndex;
    return off;
  }

  // ---- keys -----------------------------------------------------------------------------

  private keyEquals(id: number, key: Uint8Array): boolean {
    const n = key.length;
    if (this.kLen[id] !== n) return false;
    const s = this.slabs[this.kSlab[id]!]!;
    const o = this.kOff[id]!;
    for (let i = 0; i < n; i++) if (s[o + i] !== key[i]) return false;
    return true;
  }

  /** Key id of key (hash h), or -1. */
  private find(key: Uint8Array, h: number): number {
    const slots = this.slots;
    const mask = this.mask;
    const kHash = this.kHash;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const id = slots[i]! - 1;
      if (id < 0) return -1;
      if (kHash[id] === h && this.keyEquals(id, key)) return id;
    }
  }

  private newKey(key: Uint8Array, h: number): number {
    const id = this.nKeys;
    if (id === this.kSlab.length) {
      const n = id * 2;
      this.kSlab = growI32(this.kSlab, n);
      this.kOff = growI32(this.kOff, n);
      this.kLen = growI32(this.kLen, n);
      this.kHash = growI32(this.kHash, n);
      this.kHead = growI32(this.kHead, n);
      this.kP1 = growF64(this.kP1, n);
      this.kP2 = growF64(this.kP2, n);
    }
    this.kOff[id] = this.copy(key);
    this.kSlab[id] = this.at;
    this.kLen[id] = key.length;
    this.kHash[id] = h;
    this.kHead[id] = -1;
    this.kP1[id] = keyPrefixAt(key, 0);
    this.kP2[id] = keyPrefixAt(key, PREFIX_BYTES);
    this.nKeys = id + 1;
    if (this.nKeys * 2 > this.slots.length) this.rehash(this.slots.length * 2);
    else this.place(id, h);
    return id;
  }

  private place(id: number, h: number): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = h & mask;
    while (slots[i] !== 0) i = (i + 1) & mask;
    slots[i] = id + 1;
  }

  private rehash(size: number): void {
    this.slots = new Int32Array(size);
    this.mask = size - 1;
    for (let id = 0; id < this.nKeys; id++) this.place(id, this.kHash[id]!);
  }

  /** A view of key id's bytes. */
  keyView(id: number): Uint8Array {
    const o = this.kOff[id]!;
    return this.slabs[this.kSlab[id]!]!.subarray(o, o + this.kLen[id]!);
  }

  compareIds(a: number, b: number): number {
    const pa = this.kP1[a]!;
    const pb = this.kP1[b]!;
    if (pa !== pb) return pa < pb ? -1 : 1;
    const qa = this.kP2[a]!;
    const qb = this.kP2[b]!;
    if (qa !== qb) return qa < qb ? -1 : 1;
    const al = this.kLen[a]!;
    const bl = this.kLen[b]!;
    const n = al < bl ? al : bl;
    if (n > 2 * PREFIX_BYTES) {
      const sa = this.slabs[this.kSlab[a]!]!;
      const sb = this.slabs[this.kSlab[b]!]!;
      const oa = this.kOff[a]!;
      const ob = this.kOff[b]!;
      for (let i = 2 * PREFIX_BYTES; i < n; i++) {
        const d = sa[oa + i]! - sb[ob + i]!;
        if (d !== 0) return d;
      }
    }
    return al - bl;
  }

  compareIdToKey(id: number, key: Uint8Array, p1: number, p2: number): number {
    const pa = this.kP1[id]!;
    if (pa !== p1) return pa < p1 ? -1 : 1;
    const qa = this.kP2[id]!;
    if (qa !== p2) return qa < p2 ? -1 : 1;
    const al = this.kLen[id]!;
    const bl = key.length;
    const n = al < bl ? al : bl;
    if (n > 2 * PREFIX_BYTES) {
      const sa = this.slabs[this.kSlab[id]!]!;
      const oa = this.kOff[id]!;
      for (let i = 2 * PREFIX_BYTES; i < n; i++) {
        const d = sa[oa + i]! - key[i]!;
        if (d !== 0) return d;
      }
    }
    return al - bl;
  }

  private readonly compare = (a: number, b: number): number => this.compareIds(a, b);
  /** Order of two keys whose two prefixes are equal (compareIds past the prefixes). */
  private readonly tieAfterPrefixes = (a: number, b: number): number => this.compareIds(a, b);

  // ---- writes ---------------------------------------------------------------------------

  /** value === null writes a point deletion; merge: value is a merge operand (append). */
  add(key: Uint8Array, seq: number, value: Uint8Array | null, merge = false): void {
    assert(!this._sealed, 'write to a sealed memtable');
    const h = hashBytes(key);
    let id = this.find(key, h);
    let added = 0;
    if (id < 0) {
      id = this.newKey(key, h);
      added = key.length + KEY_OVERHEAD;
    } else {
      assert(seq > this.eSeq[this.kHead[id]!]!, 'memtable sequences of a key must increase');
    }
    const e = this.nEntries;
    if (e === this.eSeq.length) {
      const n = e * 2;
      this.eSeq = growF64(this.eSeq, n);
      this.eSlab = growI32(this.eSlab, n);
      this.eOff = growI32(this.eOff, n);
      this.eLen = growI32(this.eLen, n);
      this.eOlder = growI32(this.eOlder, n);
      this.eKind = growU8(this.eKind, n);
    }
    this.eSeq[e] = seq;
    if (value === null) {
      assert(!merge, 'a merge operand needs a value');
      this.eLen[e] = -1;
      this.eKind[e] = ValueKind.Delete;
    } else {
      this.eKind[e] = merge ? ValueKind.Merge : ValueKind.Put;
      if (merge) this.merges++;
      this.eOff[e] = this.copy(value);
      this.eSlab[e] = this.at;
      this.eLen[e] = value.length;
      added += value.length;
    }
    this.eOlder[e] = this.kHead[id]!;
    this.kHead[id] = e;
    this.nEntries = e + 1;
    this._bytes += added + ENTRY_OVERHEAD;
    if (seq < this.minSeq) this.minSeq = seq;
    if (seq > this.maxSeq) this.maxSeq = seq;
  }

  addRangeTombstone(start: Uint8Array, end: Uint8Array, seq: number): void {
    assert(!this._sealed, 'write to a sealed memtable');
    this.tombs.add({ start: start.slice(), end: end.slice(), seq });
    this._bytes += start.length + end.length + ENTRY_OVERHEAD;
    if (seq < this.minSeq) this.minSeq = seq;
    if (seq > this.maxSeq) this.maxSeq = seq;
  }

  /** O(1): no sorting here (see the file comment). */
  seal(): void {
    this._sealed = true;
    this.frozen = this.tombs.freeze();
  }

  // ---- reads ----------------------------------------------------------------------------

  /** Newest point entry of key with seq <= readSeq, written into hit. */
  get(key: Uint8Array, readSeq: number, hit: PointHit): boolean {
    if (this.nKeys === 0) return false;
    const id = this.find(key, hashBytes(key));
    if (id < 0) return false;
    let e = this.kHead[id]!;
    while (e >= 0 && this.eSeq[e]! > readSeq) e = this.eOlder[e]!;
    if (e < 0) return false;
    hit.seq = this.eSeq[e]!;
    hit.value = this.entryValue(e);
    hit.merge = this.eKind[e] === ValueKind.Merge;
    hit.entry = e;
    return true;
  }

  /** The entry below hit.entry (same key), written into hit; false at the end of the chain. */
  olderHit(hit: PointHit): boolean {
    const e = this.eOlder[hit.entry]!;
    if (e < 0) return false;
    hit.seq = this.eSeq[e]!;
    hit.value = this.entryValue(e);
    hit.merge = this.eKind[e] === ValueKind.Merge;
    hit.entry = e;
    return true;
  }

  /**
   * Key id's newest entry folded with the entries below it in this memtable, for a flush
   * (only called when the newest entry is a merge operand that is not hidden). The chain
   * is walked down to the newest base: a Put (folded into a Put), a Delete or an entry
   * hidden by one of this memtable's range tombstones (operands alone, as a Put: nothing
   * older can show through), or the end of the chain — then operands alone stay a Merge,
   * unless a tombstone of this memtable covers the key (a Put again: the tombstone hides
   * every older table). Sealed memtables only: iterators needing older versions pin it.
   */
  private foldHead(id: number, tombSeq: number): Folded {
    const ops: Uint8Array[] = [];
    let e = this.kHead[id]!;
    for (; e >= 0; e = this.eOlder[e]!) {
      if (this.eSeq[e]! < tombSeq) break;
      const k = this.eKind[e]! as ValueKind;
      if (k !== ValueKind.Merge) {
        return { kind: ValueKind.Put, value: appendOperands(k === ValueKind.Put ? this.entryValue(e) : null, ops) };
      }
      ops.push(this.entryValue(e)!);
    }
    return { kind: tombSeq > 0 ? ValueKind.Put : ValueKind.Merge, value: appendOperands(null, ops) };
  }

  /** Folds of the keys whose newest entry is a merge operand with something to fold into (flush). */
  private foldMerges(ids: ArrayLike<number> | null): Map<number, Folded> {
    const out = new Map<number, Folded>();
    if (this.merges === 0) return out;
    const tombs = this.frozen;
    const n = ids === null ? this.nKeys : ids.length;
    for (let i = 0; i < n; i++) {
      const id = ids === null ? i : ids[i]!;
      const e = this.kHead[id]!;
      if (this.eKind[e] !== ValueKind.Merge) continue;
      const t = tombs === null || tombs.count === 0 ? 0 : tombs.maxCovering(this.keyView(id), MAX_SEQUENCE);
      if (t > this.eSeq[e]!) continue; // hidden: the flush drops it
      if (this.eOlder[e]! < 0 && t === 0) continue; // one operand, nothing below: written as it is
      out.set(id, this.foldHead(id, t));
    }
    return out;
  }

  /** Largest sequence <= readSeq of a range tombstone here covering key (0 = none). */
  maxTombstoneCovering(key: Uint8Array, readSeq: number): number {
    if (this.frozen !== null) return this.frozen.count === 0 ? 0 : this.frozen.maxCovering(key, readSeq);
    return this.tombs.length === 0 ? 0 : this.tombs.maxCovering(key, readSeq);
  }

  get hasTombstones(): boolean {
    return this.tombs.length > 0;
  }

  // ---- entries (for the cursor) -----------------------------------------------------------

  /** Newest entry of key id. */
  headOf(id: number): number {
    return this.kHead[id]!;
  }

  /** The next older entry of the same key, or -1. */
  olderOf(e: number): number {
    return this.eOlder[e]!;
  }

  /** The next newer entry of key id than e, or -1 (walks the chain: versions per key are few). */
  newerOf(id: number, e: number): number {
    let n = -1;
    for (let x = this.kHead[id]!; x >= 0 && x !== e; x = this.eOlder[x]!) n = x;
    return n;
  }

  /** Oldest entry of key id. */
  oldestOf(id: number): number {
    let e = this.kHead[id]!;
    for (let o = this.eOlder[e]!; o >= 0; o = this.eOlder[o]!) e = o;
    return e;
  }

  seqOf(e: number): number {
    return this.eSeq[e]!;
  }

  isMerge(e: number): boolean {
    return this.eKind[e] === ValueKind.Merge;
  }

  /** A view of entry e's value; null for a point deletion. */
  entryValue(e: number): Uint8Array | null {
    const n = this.eLen[e]!;
    if (n < 0) return null;
    const o = this.eOff[e]!;
    return this.slabs[this.eSlab[e]!]!.subarray(o, o + n);
  }

  /**
   * The ordered index over every key added so far: keys added since the last call are
   * inserted one by one, or — when many are pending — sorted and merged in one O(n)
   * rebuild.
   */
  orderedIndex(): KeyIndex {
    const pending = this.nKeys - this.indexed;
    if (pending === 0) return this.index;
    if (pending <= 64 || pending * 16 < this.indexed) {
      for (let id = this.indexed; id < this.nKeys; id++) this.index.insert(id);
    } else {
      const fresh = new Int32Array(pending);
      for (let i = 0; i < pending; i++) fresh[i] = this.indexed + i;
      const sorted = sortIdsNow(fresh, this.compare);
      this.index.build(this.indexed === 0 ? sorted : mergeIds(this.index.toArray(), sorted, this.compare));
    }
    this.indexed = this.nKeys;
    return this.index;
  }

  cursor(): MemtableCursor {
    return new MemtableCursor(this, this.orderedIndex());
  }

  // ---- flush ----------------------------------------------------------------------------

  /**
   * Copies what a flush needs (the arena's used bytes, the key arrays, each key's newest
   * entry) into fresh buffers: memcpy-speed, O(keys) — the sort and the encoding then run
   * wherever the image goes (the flush thread). The memtable stays readable meanwhile.
   */
  flushImage(): MemtableFlushImage {
    assert(this._sealed, 'flush image of an unsealed memtable');
    const n = this.nKeys;
    const vSeq = new Float64Array(n);
    const vSlab = new Int32Array(n);
    const vOff = new Int32Array(n);
    const vLen = new Int32Array(n);
    const vKind = new Uint8Array(n);
    const kHead = this.kHead;
    for (let id = 0; id < n; id++) {
      const e = kHead[id]!;
      vSeq[id] = this.eSeq[e]!;
      vSlab[id] = this.eSlab[e]!;
      vOff[id] = this.eOff[e]!;
      vLen[id] = this.eLen[e]!;
      vKind[id] = this.eKind[e]!;
    }
    const slabs = this.slabs.map((slab, i) => (i === this.slabIndex ? slab.slice(0, this.slabOff) : slab.slice()));
    // Folded merge chains travel packed in one extra slab.
    const folds = this.foldMerges(null);
    if (folds.size > 0) {
      let total = 0;
      for (const f of folds.values()) total += f.value.length;
      const packed = new Uint8Array(total);
      const at = slabs.length;
      slabs.push(packed);
      let off = 0;
      for (const [id, f] of folds) {
        packed.set(f.value, off);
        vSlab[id] = at;
        vOff[id] = off;
        vLen[id] = f.value.length;
        vKind[id] = f.kind;
        off += f.value.length;
      }
    }
    return {
      id: this.id,
      nKeys: n,
      slabs,
      kSlab: this.kSlab.slice(0, n),
      kOff: this.kOff.slice(0, n),
      kLen: this.kLen.slice(0, n),
      kP1: this.kP1.slice(0, n),
      kP2: this.kP2.slice(0, n),
      vSeq, vSlab, vOff, vLen, vKind,
      tombstones: this.tombs.all.map((t) => ({ start: t.start, end: t.end, seq: t.seq })),
      minSeq: this.minSeq,
      maxSeq: this.maxSeq,
    };
  }

  /**
   * A sealed memtable over an image, for encodeForFlush() only: it holds one version per
   * key and no hash table (get() finds nothing); cursors and the encoder work.
   */
  static fromFlushImage(img: MemtableFlushImage): Memtable {
    const m = new Memtable(img.id);
    const n = img.nKeys;
    m.slabs.length = 0;
    m.slabs.push(...img.slabs);
    m.slabIndex = m.slabs.length - 1;
    m.slabOff = m.slabs[m.slabIndex]?.length ?? 0;
    m.kSlab = img.kSlab;
    m.kOff = img.kOff;
    m.kLen = img.kLen;
    m.kP1 = img.kP1;
    m.kP2 = img.kP2;
    m.kHead = new Int32Array(n);
    for (let id = 0; id < n; id++) m.kHead[id] = id;
    m.nKeys = n;
    m.eSeq = img.vSeq;
    m.eSlab = img.vSlab;
    m.eOff = img.vOff;
    m.eLen = img.vLen;
    m.eKind = img.vKind;
    for (let id = 0; id < n; id++) if (img.vKind[id] === ValueKind.Merge) m.merges++;
    m.eOlder = new Int32Array(n).fill(-1);
    m.nEntries = n;
    for (const t of img.tombstones) m.tombs.add(t);
    m.minSeq = img.minSeq;
    m.maxSeq = img.maxSeq;
    m.seal();
    return m;
  }

  /**
   * Serializes the entries for a flush into one transferable buffer: only the newest
   * version of each user key (iterators that need older versions pin this memtable, not
   * the table), and not entries hidden by this memtable's own range tombstones.
   */
  encodeForFlush(): FlushPayload {
    const enc = this.flushEncoder(Number.MAX_SAFE_INTEGER);
    while (enc.step());
    return enc.finish();
  }

  /**
   * The flush's entries — the same ones, in the same order, as encodeForFlush writes —
   * handed to `visit` one by one as views into this memtable's slabs (valid only during
   * the call), without building the encoded buffer: the flush thread streams them into the
   * table, so a flush holds the image and the table's current block, not a second copy
   * of the memtable. `value` is undefined for a point deletion. Returns the count visited.
   */
  visitForFlush(visit: FlushVisitor): number {
    assert(this._sealed, 'flush of an unsealed memtable');
    const sorting = this.sortedIds(Number.MAX_SAFE_INTEGER);
    let r = sorting.next();
    while (r.done !== true) r = sorting.next();
    const ids = r.value;
    const tombs = this.frozen!;
    return this.visitRange(ids, 0, ids.length, tombs.count > 0 ? tombs : null, this.foldMerges(ids), visit);
  }

  /**
   * The same encoding in slices of about `work` comparisons or entries, awaiting
   * `pause()` between slices, so that sorting and encoding a large sealed memtable on
   * the main thread never blocks the event loop for long (records and barriers go on
   * between slices). The memtable is sealed, so nothing changes under the encoder.
   */
  async encodeForFlushInSlices(pause: () => Promise<void>, work = 32768): Promise<FlushPayload> {
    const enc = this.flushEncoder(work);
    while (enc.step()) await pause();
    return enc.finish();
  }

  /** Key ids in key order, produced in slices: the ordered index plus the sorted pending ids. */
  private sortedIds(work: number): Generator<void, Int32Array, void> {
    // Taken now, not when the generator first runs: a cursor opened between slices
    // brings the index up to date, and the ids it adds are already in `fresh`.
    const indexed = this.indexed;
    const inIndex = indexed === 0 ? null : this.index.toArray();
    const fresh = new Int32Array(this.nKeys - indexed);
    for (let i = 0; i < fresh.length; i++) fresh[i] = indexed + i;
    return this.sortAndMerge(inIndex, fresh, work);
  }

  private *sortAndMerge(inIndex: Int32Array | null, fresh: Int32Array, work: number): Generator<void, Int32Array, void> {
    const sorted = yield* sortIdsByPrefixes(fresh, this.kP1, this.kP2, this.tieAfterPrefixes, work);
    if (inIndex === null) return sorted;
    yield;
    return mergeIds(inIndex, sorted, this.compare);
  }

  private flushEncoder(work: number): { step(): boolean; finish(): FlushPayload } {
    assert(this._sealed, 'flush of an unsealed memtable');
    const sorting = this.sortedIds(work);
    let order: Int32Array | null = null;
    let buffer = new ArrayBuffer(0);
    let bytes = new Uint8Array(buffer);
    let dv = new DataView(buffer);
    let size = 0;
    let off = 0;
    let count = 0;
    let next = 0;
    const tombs = this.frozen!;
    const hasTombs = tombs.count > 0;
    let folds: Map<number, Folded> = new Map();
    const start = (ids: Int32Array): void => {
      order = ids;
      folds = this.foldMerges(ids);
      for (let i = 0; i < ids.length; i++) {
        const id = ids[i]!;
        const f = folds.get(id);
        size += FLUSH_ENTRY_HEADER + this.kLen[id]! + (f !== undefined ? f.value.length : Math.max(0, this.eLen[this.kHead[id]!]!));
      }
      buffer = new ArrayBuffer(size);
      bytes = new Uint8Array(buffer);
      dv = new DataView(buffer);
    };
    return {
      step: (): boolean => {
        if (order === null) {
          const r = sorting.next();
          if (r.done !== true) return true;
          start(r.value);
          return true;
        }
        const ids: Int32Array = order;
        const n = this.encodeRange(ids, next, Math.min(ids.length, next + work), bytes, dv, off, hasTombs ? tombs : null, folds);
        next = n.next;
        off = n.off;
        count += n.count;
        return next < ids.length;
      },
      finish: (): FlushPayload => ({
        buffer: off === size ? buffer : buffer.slice(0, off),
        count,
        tombstones: this.tombs.all.map((t) => ({ start: t.start, end: t.end, seq: t.seq })),
        minSeq: this.minSeq,
        maxSeq: this.maxSeq,
      }),
    };
  }

  /** Encodes the flush entries of ids[from, to) at off (visitRange's entries, in the flush payload's format). */
  private encodeRange(
    ids: Int32Array, from: number, to: number, bytes: Uint8Array, dv: DataView, off: number, tombs: TombstoneIndex | null,
    folds: Map<number, Folded>,
  ): { next: number; off: number; count: number } {
    const count = this.visitRange(ids, from, to, tombs, folds, (key, value, seq, kind) => {
      dv.setUint32(off, key.length, true);
      dv.setUint32(off + 4, value === undefined ? DELETE_VLEN : value.length, true);
      dv.setUint32(off + 8, Math.floor(seq / 0x1_0000_0000) + (kind === ValueKind.Merge ? FLUSH_MERGE_FLAG : 0), true);
      dv.setUint32(off + 12, seq >>> 0, true);
      off += FLUSH_ENTRY_HEADER;
      off = put(bytes, key, 0, key.length, off);
      if (value !== undefined) off = put(bytes, value, 0, value.length, off);
    });
    return { next: to, off, count };
  }

  /**
   * The flush's entries of ids[from, to), in order: the newest entry of each key (a key in
   * `folds` as its folded merge chain), skipping those hidden by this memtable's own range
   * tombstones; key and value as views into the slabs, valid during the call. Returns the
   * count visited. The one loop behind encodeForFlush and visitForFlush.
   */
  private visitRange(ids: Int32Array, from: number, to: number, tombs: TombstoneIndex | null, folds: Map<number, Folded>, visit: FlushVisitor): number {
    const { kHead, kLen, kSlab, kOff, eSeq, eLen, eSlab, eOff, eKind, slabs } = this;
    const anyFolds = folds.size > 0;
    let count = 0;
    for (let i = from; i < to; i++) {
      const id = ids[i]!;
      const e = kHead[id]!;
      const seq = eSeq[e]!;
      const ko = kOff[id]!;
      const key = slabs[kSlab[id]!]!.subarray(ko, ko + kLen[id]!);
      if (tombs !== null && tombs.maxCovering(key, MAX_SEQUENCE) > seq) continue;
      const f = anyFolds ? folds.get(id) : undefined;
      if (f !== undefined) {
        visit(key, f.value, seq, f.kind);
      } else {
        const vl = eLen[e]!;
        const vo = eOff[e]!;
        visit(key, vl < 0 ? undefined : slabs[eSlab[e]!]!.subarray(vo, vo + vl), seq, eKind[e]!);
      }
      count++;
    }
    return count;
  }

  /** Test helper: hash table, version chains and (after building it) the ordered index. */
  checkInvariants(): void {
    let entries = 0;
    for (let id = 0; id < this.nKeys; id++) {
      assert(this.find(this.keyView(id), hashBytes(this.keyView(id))) === id, 'key not found through the hash table');
      assert(this.kP1[id] === keyPrefixAt(this.keyView(id), 0) && this.kP2[id] === keyPrefixAt(this.keyView(id), PREFIX_BYTES), 'stale key prefix');
      let prevSeq = Infinity;
      for (let e = this.kHead[id]!; e >= 0; e = this.eOlder[e]!) {
        assert(this.eSeq[e]! < prevSeq, 'version chain out of order');
        prevSeq = this.eSeq[e]!;
        entries++;
      }
    }
    assert(entries === this.nEntries, 'entries outside the version chains');
    this.orderedIndex().checkInvariants();
    assert(this.index.size === this.nKeys, 'ordered index misses keys');
  }
}

/** Copies src[from, from + n) into dst at off; a loop for short runs (TypedArray.set has a high fixed cost). */
function put(dst: Uint8Array, src: Uint8Array, from: number, n: number, off: number): number {
  if (n <= 32) {
    for (let i = 0; i < n; i++) dst[off + i] = src[from + i]!;
  } else dst.set(src.subarray(from, from + n), off);
  return off + n;
}

/**
 * A memtable: the sorted in-memory buffer every write goes to first.
 *
 * Key and value are copied contiguously into an arena of 256 KiB slabs (no per-entry
 * ArrayBuffer; the tree keeps one view per entry, the key's, and derives the value), the entries are indexed by an EntryTree (B+tree), range tombstones are
 * kept apart in a TombstoneList. Byte accounting counts key + value + a fixed per-entry
 * overhead for the tree's arrays and views, so the budget bounds real memory.
 *
 * Lifecycle: active (writable, owned by the store) → sealed (immutable, queued for
 * flush, readable by gets and by iterators that pinned it) → dropped after its flush is
 * installed and no iterator holds it (plain GC: nothing to free explicitly).
 * Invariant: after seal() no method mutates it (asserted in add()).
 */
import { assert } from '../../util/assert.ts';
import type { Leaf } from './entry-tree.ts';
import { EntryTree, valueOf } from './entry-tree.ts';
import type { FragmentedTombstones, RangeTombstone } from '../range-tombstones.ts';
import { TombstoneList } from '../range-tombstones.ts';
import { MAX_SEQUENCE } from '../internal-key.ts';

const SLAB_BYTES = 256 * 1024;
/**
 * Bytes per entry beyond key and value: one view (the key; the value follows it in the
 * arena), four array slots, tree nodes. Calibrated with bench/lsm/memtable-overhead.ts
 * (16-byte keys, 100-byte values: 146 bytes measured per entry = 116 + 30; it was 242
 * with a second view for the value), rounded up.
 */
export const ENTRY_OVERHEAD = 48;

export interface PointHit {
  seq: number;
  /** null = point deletion. */
  value: Uint8Array | null;
}

/** Entry layout in a flush buffer (little-endian): klen u32, vlen u32 (0xffffffff = delete), seq hi u32, seq lo u32, key, value. */
export const FLUSH_ENTRY_HEADER = 16;
export const DELETE_VLEN = 0xffffffff;

export interface FlushPayload {
  /** Entries in internal-key order, newest version of each key only (see encodeForFlush). Transferable. */
  buffer: ArrayBuffer;
  count: number;
  tombstones: RangeTombstone[];
  minSeq: number;
  maxSeq: number;
}

export class Memtable {
  readonly id: number;
  private readonly tree = new EntryTree();
  private readonly tombs = new TombstoneList();
  private frozen: FragmentedTombstones | null = null;
  private slab: Uint8Array = new Uint8Array(SLAB_BYTES);
  private slabOff = 0;
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
    return this.tree.size === 0 && this.tombs.length === 0;
  }

  get entryCount(): number {
    return this.tree.size;
  }

  get tombstones(): readonly RangeTombstone[] {
    return this.tombs.all;
  }

  /** Copies key ‖ value contiguously (the tree derives the value from the key view, see valueOf). */
  private copy(key: Uint8Array, value: Uint8Array | null): Uint8Array {
    const kn = key.length;
    const n = kn + (value === null ? 0 : value.length);
    let buf: Uint8Array;
    let off: number;
    if (n > SLAB_BYTES >>> 2) {
      buf = new Uint8Array(n);
      off = 0;
    } else {
      if (this.slabOff + n > SLAB_BYTES) {
        this.slab = new Uint8Array(SLAB_BYTES);
        this.slabOff = 0;
      }
      buf = this.slab;
      off = this.slabOff;
      this.slabOff = off + n;
    }
    put(buf, key, off);
    if (value !== null) put(buf, value, off + kn);
    return buf.subarray(off, off + kn);
  }

  /** value === null writes a point deletion. */
  add(key: Uint8Array, seq: number, value: Uint8Array | null): void {
    assert(!this._sealed, 'write to a sealed memtable');
    this.tree.insert(this.copy(key, value), seq, value === null ? -1 : value.length);
    this._bytes += key.length + (value === null ? 0 : value.length) + ENTRY_OVERHEAD;
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

  seal(): void {
    this._sealed = true;
    this.frozen = this.tombs.freeze();
  }

  private readonly pos: { leaf: Leaf; index: number } = { leaf: null as unknown as Leaf, index: 0 };

  /** Newest point entry of key with seq <= readSeq, written into hit. */
  get(key: Uint8Array, readSeq: number, hit: PointHit): boolean {
    if (this.tree.size === 0) return false;
    if (!this.tree.findVisible(key, readSeq, this.pos)) return false;
    const leaf = this.pos.leaf;
    const i = this.pos.index;
    hit.seq = leaf.seqs[i]!;
    hit.value = valueOf(leaf.keys[i]!, leaf.vlens[i]!);
    return true;
  }

  /** Largest sequence <= readSeq of a range tombstone here covering key (0 = none). */
  maxTombstoneCovering(key: Uint8Array, readSeq: number): number {
    if (this.frozen !== null) return this.frozen.count === 0 ? 0 : this.frozen.maxCovering(key, readSeq);
    return this.tombs.length === 0 ? 0 : this.tombs.maxCovering(key, readSeq);
  }

  get hasTombstones(): boolean {
    return this.tombs.length > 0;
  }

  cursor(): MemtableCursor {
    return new MemtableCursor(this.tree);
  }

  /**
   * Serializes the entries for a flush into one transferable buffer: only the newest
   * version of each user key (iterators that need older versions pin this memtable, not
   * the table), and not entries hidden by this memtable's own range tombstones.
   */
  encodeForFlush(): FlushPayload {
    const enc = this.flushEncoder();
    while (enc.step(Number.MAX_SAFE_INTEGER));
    return enc.finish();
  }

  /**
   * The same encoding in slices of `leavesPerSlice` B+tree leaves (64 entries each),
   * awaiting `pause()` between slices, so that encoding a large sealed memtable on the
   * main thread never blocks the event loop for long (records and barriers go on between
   * slices). The memtable is sealed, so nothing changes under the encoder.
   */
  async encodeForFlushInSlices(pause: () => Promise<void>, leavesPerSlice = 64): Promise<FlushPayload> {
    const enc = this.flushEncoder();
    while (enc.step(leavesPerSlice)) await pause();
    return enc.finish();
  }

  private flushEncoder(): { step(maxLeaves: number): boolean; finish(): FlushPayload } {
    assert(this._sealed, 'flush of an unsealed memtable');
    let size = 0;
    for (let leaf: Leaf | null = this.tree.first; leaf !== null; leaf = leaf.next) {
      for (let i = 0; i < leaf.keys.length; i++) size += FLUSH_ENTRY_HEADER + leaf.keys[i]!.length + Math.max(0, leaf.vlens[i]!);
    }
    const buffer = new ArrayBuffer(size);
    const bytes = new Uint8Array(buffer);
    const dv = new DataView(buffer);
    let off = 0;
    let count = 0;
    let prev: Uint8Array | null = null;
    const tombs = this.frozen!;
    const hasTombs = tombs.count > 0;
    let leaf: Leaf | null = this.tree.first;
    return {
      step: (maxLeaves: number): boolean => {
        for (let n = 0; leaf !== null && n < maxLeaves; leaf = leaf.next, n++) {
          for (let i = 0; i < leaf.keys.length; i++) {
            const k = leaf.keys[i]!;
            if (prev !== null && sameBytes(prev, k)) continue;
            prev = k;
            const seq = leaf.seqs[i]!;
            if (hasTombs && tombs.maxCovering(k, MAX_SEQUENCE) > seq) continue;
            const vlen = leaf.vlens[i]!;
            dv.setUint32(off, k.length, true);
            dv.setUint32(off + 4, vlen < 0 ? DELETE_VLEN : vlen, true);
            dv.setUint32(off + 8, Math.floor(seq / 0x1_0000_0000), true);
            dv.setUint32(off + 12, seq >>> 0, true);
            off += FLUSH_ENTRY_HEADER;
            // Key and value are contiguous in the arena: one copy.
            off = put(bytes, vlen <= 0 ? k : new Uint8Array(k.buffer, k.byteOffset, k.length + vlen), off);
            count++;
          }
        }
        return leaf !== null;
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

  checkInvariants(): void {
    this.tree.checkInvariants();
  }
}

/** Copies src into dst at off; a loop for short arrays (TypedArray.set has a high fixed cost). */
function put(dst: Uint8Array, src: Uint8Array, off: number): number {
  const n = src.length;
  if (n <= 32) {
    for (let i = 0; i < n; i++) dst[off + i] = src[i]!;
  } else dst.set(src, off);
  return off + n;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * A positioned cursor over every entry (all versions) in internal-key order. The active
 * memtable may be written while a cursor is open (an iterator holds it): inserts shift
 * positions inside leaves and split leaves, so when the tree changed since the cursor
 * last moved it first re-finds its current entry by (key, seq) — which still exists,
 * entries are never removed — and steps from there.
 */
export class MemtableCursor {
  private leaf: Leaf | null = null;
  private index = 0;
  private mods = -1;
  private readonly tree: EntryTree;

  constructor(tree: EntryTree) {
    this.tree = tree;
  }

  get valid(): boolean {
    return this.leaf !== null;
  }
  get key(): Uint8Array {
    this.revalidate();
    return this.leaf!.keys[this.index]!;
  }
  get seq(): number {
    this.revalidate();
    return this.leaf!.seqs[this.index]!;
  }
  get value(): Uint8Array | null {
    this.revalidate();
    return valueOf(this.leaf!.keys[this.index]!, this.leaf!.vlens[this.index]!);
  }

  private revalidate(): void {
    if (this.mods === this.tree.mods || this.leaf === null) return;
    // Remember the current entry from the (possibly stale) position: entries only move
    // right within/after their leaf on insert, so search from the key we last returned.
    const key = this.curKey!;
    const seq = this.curSeq;
    const p = this.tree.seekGE(key, seq);
    this.normalizeForward(p.leaf, p.index);
  }

  private curKey: Uint8Array | null = null;
  private curSeq = 0;

  private set(leaf: Leaf | null, index: number): void {
    this.leaf = leaf;
    this.index = index;
    this.mods = this.tree.mods;
    if (leaf !== null) {
      this.curKey = leaf.keys[index]!;
      this.curSeq = leaf.seqs[index]!;
    }
  }

  private normalizeForward(leaf: Leaf | null, index: number): void {
    while (leaf !== null && index >= leaf.keys.length) {
      leaf = leaf.next;
      index = 0;
    }
    this.set(leaf, index);
  }

  private normalizeBackward(leaf: Leaf | null, index: number): void {
    while (leaf !== null && index < 0) {
      leaf = leaf.prev;
      index = leaf === null ? 0 : leaf.keys.length - 1;
    }
    this.set(leaf, index);
  }

  seekToFirst(): void {
    this.normalizeForward(this.tree.first, 0);
  }

  seekToLast(): void {
    this.normalizeBackward(this.tree.last, this.tree.last.keys.length - 1);
  }

  /** First entry with user key >= key. */
  seekGE(key: Uint8Array): void {
    const p = this.tree.seekGE(key, MAX_SEQUENCE);
    this.normalizeForward(p.leaf, p.index);
  }

  /** Last entry with user key < key. */
  seekLT(key: Uint8Array): void {
    const p = this.tree.seekGE(key, MAX_SEQUENCE);
    this.normalizeBackward(p.leaf, p.index - 1);
  }

  next(): void {
    this.revalidate();
    this.normalizeForward(this.leaf, this.index + 1);
  }

  prev(): void {
    this.revalidate();
    this.normalizeBackward(this.leaf, this.index - 1);
  }
}

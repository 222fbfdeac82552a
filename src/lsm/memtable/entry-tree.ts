/**
 * The memtable's sorted structure: an in-memory B+tree of entries ordered by
 * (user key ascending, sequence DEScending) — the internal-key order of
 * internal-key.ts, without building internal keys (the sequence is kept as a number
 * beside the key, the kind is encoded by `value === null` for a point deletion).
 *
 * Why a B+tree: measured in JS (lsm-notes.md) a B+tree inserts in ~1.8 µs vs ~4 µs for
 * a skiplist, and leaves are plain arrays, so an in-order walk (flush, scans) is a
 * loop over arrays. Leaves are doubly linked for forward and reverse cursors.
 *
 * Invariants (checked by checkInvariants() in tests):
 *  - every leaf except a root leaf holds 1..LEAF_MAX entries, sorted strictly;
 *  - an internal node's minKeys[i]/minSeqs[i] (i >= 1) is the smallest entry of
 *    children[i]; minKeys[0] is never read (the leftmost child's minimum may shrink);
 *  - (key, seq) pairs are unique (sequences are unique per store).
 *
 * Ownership: the tree stores the key and value views it is given; the caller (the
 * memtable) copies them into its arena first. Single-threaded, no awaits inside.
 */
import { assert } from '../../util/assert.ts';

const LEAF_MAX = 64;
const NODE_MAX = 64;

export class Leaf {
  pfx: number[] = [];
  keys: Uint8Array[] = [];
  seqs: number[] = [];
  /** Value length (-1 = point deletion); the value bytes follow the key in its buffer (see valueOf). */
  vlens: number[] = [];
  next: Leaf | null = null;
  prev: Leaf | null = null;
}

class Inner {
  minPfx: number[] = [];
  minKeys: Uint8Array[] = [];
  minSeqs: number[] = [];
  children: (Inner | Leaf)[] = [];
}

/**
 * The value of an entry: its bytes follow the key's bytes in the key's buffer (the
 * memtable copies key and value contiguously), so the tree keeps one view per entry.
 */
export function valueOf(key: Uint8Array, vlen: number): Uint8Array | null {
  return vlen < 0 ? null : new Uint8Array(key.buffer, key.byteOffset + key.length, vlen);
}

/**
 * Byte order of a and b; then sequence descending. Hot: a plain loop (faster than
 * Buffer.compare for short keys). `from`: bytes before it are known equal — callers pass
 * PREFIX_BYTES when the keys' prefixes (keyPrefix) are equal, which matters because in
 * weir's state layout ([key group][state id][key]…) many keys share their first bytes
 * (measured: +24–42% records/s on the lsm keyed-count bench).
 */
export function compareEntry(ak: Uint8Array, as: number, bk: Uint8Array, bs: number, from = 0): number {
  const al = ak.length;
  const bl = bk.length;
  const n = al < bl ? al : bl;
  for (let i = from; i < n; i++) {
    const d = ak[i]! - bk[i]!;
    if (d !== 0) return d;
  }
  if (al !== bl) return al - bl;
  return bs - as;
}

/**
 * The first 6 bytes of a key as a number (missing bytes = 0), kept beside every key so
 * most comparisons of random keys are one float compare instead of a byte loop. Order
 * of prefixes is consistent with byte order; equal prefixes fall back to compareEntry.
 */
export const PREFIX_BYTES = 6;

export function keyPrefix(k: Uint8Array): number {
  const n = k.length;
  if (n >= 6) return k[0]! * 0x100_0000_0000 + k[1]! * 0x1_0000_0000 + ((k[2]! << 24) >>> 0) + (k[3]! << 16) + (k[4]! << 8) + k[5]!;
  let p = 0;
  for (let i = 0; i < 6; i++) p = p * 256 + (i < n ? k[i]! : 0);
  return p;
}

/** Index of the first entry of the leaf that is >= (key, seq). */
function leafLowerBound(leaf: Leaf, key: Uint8Array, pfx: number, seq: number): number {
  const keys = leaf.keys;
  const seqs = leaf.seqs;
  const pfxs = leaf.pfx;
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = pfxs[mid]!;
    if (p < pfx || (p === pfx && compareEntry(keys[mid]!, seqs[mid]!, key, seq, PREFIX_BYTES) < 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the child of an inner node whose range holds (key, seq). */
function childIndex(node: Inner, key: Uint8Array, pfx: number, seq: number): number {
  // Largest i >= 1 with minKey[i] <= (key, seq), else 0.
  const keys = node.minKeys;
  const seqs = node.minSeqs;
  const pfxs = node.minPfx;
  let lo = 1;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const p = pfxs[mid]!;
    if (p < pfx || (p === pfx && compareEntry(keys[mid]!, seqs[mid]!, key, seq, PREFIX_BYTES) <= 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export class EntryTree {
  private root: Inner | Leaf = new Leaf();
  private _size = 0;
  /** Incremented by every insert: cursors re-seek when it changed under them. */
  mods = 0;
  /** Leftmost and rightmost leaves (for seekToFirst / seekToLast). */
  first: Leaf;
  last: Leaf;

  constructor() {
    this.first = this.root as Leaf;
    this.last = this.root as Leaf;
  }

  get size(): number {
    return this._size;
  }

  insert(key: Uint8Array, seq: number, vlen: number): void {
    const split = this.insertInto(this.root, key, keyPrefix(key), seq, vlen);
    if (split !== null) {
      const r = new Inner();
      r.minPfx.push(this.root instanceof Leaf ? this.root.pfx[0]! : this.root.minPfx[0]!, split.pfx);
      r.minKeys.push(this.root instanceof Leaf ? this.root.keys[0]! : this.root.minKeys[0]!, split.key);
      r.minSeqs.push(this.root instanceof Leaf ? this.root.seqs[0]! : this.root.minSeqs[0]!, split.seq);
      r.children.push(this.root, split.node);
      this.root = r;
    }
    this._size++;
    this.mods++;
  }

  private insertInto(node: Inner | Leaf, key: Uint8Array, pfx: number, seq: number, vlen: number): { key: Uint8Array; pfx: number; seq: number; node: Inner | Leaf } | null {
    if (node instanceof Leaf) {
      const i = leafLowerBound(node, key, pfx, seq);
      if (i < node.keys.length) assert(compareEntry(node.keys[i]!, node.seqs[i]!, key, seq) !== 0, 'duplicate (key, seq) in memtable');
      if (i === node.keys.length) {
        node.pfx.push(pfx);
        node.keys.push(key);
        node.seqs.push(seq);
        node.vlens.push(vlen);
      } else {
        node.pfx.splice(i, 0, pfx);
        node.keys.splice(i, 0, key);
        node.seqs.splice(i, 0, seq);
        node.vlens.splice(i, 0, vlen);
      }
      if (node.keys.length <= LEAF_MAX) return null;
      const right = new Leaf();
      // Appends at the right end (ascending inserts) split unevenly so leaves stay full.
      const at = i === node.keys.length - 1 && node.next === null ? node.keys.length - 1 : node.keys.length >>> 1;
      right.pfx = node.pfx.splice(at);
      right.keys = node.keys.splice(at);
      right.seqs = node.seqs.splice(at);
      right.vlens = node.vlens.splice(at);
      right.next = node.next;
      right.prev = node;
      if (node.next !== null) node.next.prev = right;
      else this.last = right;
      node.next = right;
      return { key: right.keys[0]!, pfx: right.pfx[0]!, seq: right.seqs[0]!, node: right };
    }
    const ci = childIndex(node, key, pfx, seq);
    const split = this.insertInto(node.children[ci]!, key, pfx, seq, vlen);
    if (split === null) return null;
    node.minPfx.splice(ci + 1, 0, split.pfx);
    node.minKeys.splice(ci + 1, 0, split.key);
    node.minSeqs.splice(ci + 1, 0, split.seq);
    node.children.splice(ci + 1, 0, split.node);
    if (node.children.length <= NODE_MAX) return null;
    const right = new Inner();
    const at = node.children.length >>> 1;
    right.minPfx = node.minPfx.splice(at);
    right.minKeys = node.minKeys.splice(at);
    right.minSeqs = node.minSeqs.splice(at);
    right.children = node.children.splice(at);
    return { key: right.minKeys[0]!, pfx: right.minPfx[0]!, seq: right.minSeqs[0]!, node: right };
  }

  /** The leaf and index of the first entry >= (key, seq); index may equal leaf length (then the entry is in leaf.next). */
  seekGE(key: Uint8Array, seq: number): { leaf: Leaf; index: number } {
    const pfx = keyPrefix(key);
    let node = this.root;
    while (!(node instanceof Leaf)) node = node.children[childIndex(node, key, pfx, seq)]!;
    return { leaf: node, index: leafLowerBound(node, key, pfx, seq) };
  }

  /**
   * Point lookup: the newest entry of `key` with sequence <= seq. Returns the leaf
   * position (leaf, index) through the out-parameter to avoid allocating, or false.
   */
  findVisible(key: Uint8Array, seq: number, out: { leaf: Leaf; index: number }): boolean {
    const pfx = keyPrefix(key);
    let node = this.root;
    while (!(node instanceof Leaf)) node = node.children[childIndex(node, key, pfx, seq)]!;
    let leaf: Leaf = node;
    let i = leafLowerBound(leaf, key, pfx, seq);
    if (i === leaf.keys.length) {
      if (leaf.next === null) return false;
      leaf = leaf.next;
      i = 0;
    }
    const k = leaf.keys[i]!;
    if (k.length !== key.length) return false;
    for (let j = 0; j < k.length; j++) if (k[j] !== key[j]) return false;
    out.leaf = leaf;
    out.index = i;
    return true;
  }

  /** Test helper: verifies ordering, node fill and link invariants. */
  checkInvariants(): void {
    let count = 0;
    let prevKey: Uint8Array | null = null;
    let prevSeq = 0;
    let prevLeaf: Leaf | null = null;
    for (let leaf: Leaf | null = this.first; leaf !== null; leaf = leaf.next) {
      assert(leaf.prev === prevLeaf, 'leaf prev link broken');
      assert(leaf.keys.length === leaf.seqs.length && leaf.keys.length === leaf.vlens.length && leaf.keys.length === leaf.pfx.length, 'leaf arrays out of step');
      for (let i = 0; i < leaf.keys.length; i++) assert(leaf.pfx[i] === keyPrefix(leaf.keys[i]!), 'stale key prefix');
      assert(leaf.keys.length > 0 || this._size === 0, 'empty leaf');
      for (let i = 0; i < leaf.keys.length; i++) {
        if (prevKey !== null) assert(compareEntry(prevKey, prevSeq, leaf.keys[i]!, leaf.seqs[i]!) < 0, 'leaf entries out of order');
        prevKey = leaf.keys[i]!;
        prevSeq = leaf.seqs[i]!;
        count++;
      }
      prevLeaf = leaf;
    }
    assert(prevLeaf === this.last, 'last leaf pointer wrong');
    assert(count === this._size, 'size mismatch');
  }
}

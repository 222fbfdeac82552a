/**
 * The memtable's ordered index: a B+tree of distinct-key ids ordered by key bytes (the
 * versions of a key hang off the key, see memtable.ts, so the tree never holds more than
 * one item per user key). Leaves are plain arrays of ids, doubly linked, for forward and
 * reverse cursors.
 *
 * The index is built lazily (memtable.ts: only when a cursor is opened, and then for
 * the keys added since the last one), so point reads and writes never touch it.
 * Comparisons go through a KeyOrder (the memtable's key storage).
 *
 * Invariants (checkInvariants): every leaf except a root leaf holds 1..LEAF_MAX ids in
 * strictly increasing key order; an inner node's minIds[i] (i >= 1) is the smallest id
 * of children[i]; minIds[0] is never read.
 */
import { assert } from '../../util/assert.ts';

const LEAF_MAX = 64;
const NODE_MAX = 64;

export interface KeyOrder {
  /** Order of the keys of two ids (distinct keys: never 0 for a != b). */
  compareIds(a: number, b: number): number;
  /** Order of an id's key against a probe key whose two prefixes (compare.ts) are given. */
  compareIdToKey(id: number, key: Uint8Array, p1: number, p2: number): number;
}

export class Leaf {
  ids: number[] = [];
  next: Leaf | null = null;
  prev: Leaf | null = null;
}

class Inner {
  minIds: number[] = [];
  children: (Inner | Leaf)[] = [];
}

export class KeyIndex {
  private root: Inner | Leaf = new Leaf();
  private _size = 0;
  /** Incremented by every change: cursors re-seek when it changed under them. */
  mods = 0;
  first: Leaf;
  last: Leaf;
  private readonly order: KeyOrder;

  constructor(order: KeyOrder) {
    this.order = order;
    this.first = this.root as Leaf;
    this.last = this.root as Leaf;
  }

  get size(): number {
    return this._size;
  }

  insert(id: number): void {
    const split = this.insertInto(this.root, id);
    if (split !== null) {
      const r = new Inner();
      r.minIds.push(this.root instanceof Leaf ? this.root.ids[0]! : this.root.minIds[0]!, split.min);
      r.children.push(this.root, split.node);
      this.root = r;
    }
    this._size++;
    this.mods++;
  }

  private insertInto(node: Inner | Leaf, id: number): { min: number; node: Inner | Leaf } | null {
    const o = this.order;
    if (node instanceof Leaf) {
      const ids = node.ids;
      let lo = 0;
      let hi = ids.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (o.compareIds(ids[mid]!, id) < 0) lo = mid + 1;
        else hi = mid;
      }
      if (lo === ids.length) ids.push(id);
      else ids.splice(lo, 0, id);
      if (ids.length <= LEAF_MAX) return null;
      const right = new Leaf();
      // Appends at the right end (ascending inserts) split unevenly so leaves stay full.
      const at = lo === ids.length - 1 && node.next === null ? ids.length - 1 : ids.length >>> 1;
      right.ids = ids.splice(at);
      right.next = node.next;
      right.prev = node;
      if (node.next !== null) node.next.prev = right;
      else this.last = right;
      node.next = right;
      return { min: right.ids[0]!, node: right };
    }
    const mins = node.minIds;
    let lo = 1;
    let hi = mins.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (o.compareIds(mins[mid]!, id) <= 0) lo = mid + 1;
      else hi = mid;
    }
    const ci = lo - 1;
    const split = this.insertInto(node.children[ci]!, id);
    if (split === null) return null;
    node.minIds.splice(ci + 1, 0, split.min);
    node.children.splice(ci + 1, 0, split.node);
    if (node.children.length <= NODE_MAX) return null;
    const right = new Inner();
    const at = node.children.length >>> 1;
    right.minIds = node.minIds.splice(at);
    right.children = node.children.splice(at);
    return { min: right.minIds[0]!, node: right };
  }

  /** Replaces the contents with `sorted` (ascending key order): O(n), full leaves. */
  build(sorted: Int32Array): void {
    const leaves: Leaf[] = [];
    for (let i = 0; i < sorted.length; i += LEAF_MAX) {
      const l = new Leaf();
      l.ids = Array.from(sorted.subarray(i, Math.min(sorted.length, i + LEAF_MAX)));
      const prev = leaves[leaves.length - 1];
      if (prev !== undefined) {
        prev.next = l;
        l.prev = prev;
      }
      leaves.push(l);
    }
    if (leaves.length === 0) leaves.push(new Leaf());
    this.first = leaves[0]!;
    this.last = leaves[leaves.length - 1]!;
    let level: (Inner | Leaf)[] = leaves;
    let mins: number[] = leaves.map((l) => l.ids[0] ?? -1);
    while (level.length > 1) {
      const up: Inner[] = [];
      const upMins: number[] = [];
      for (let i = 0; i < level.length; i += NODE_MAX) {
        const n = new Inner();
        n.children = level.slice(i, i + NODE_MAX);
        n.minIds = mins.slice(i, i + NODE_MAX);
        up.push(n);
        upMins.push(n.minIds[0]!);
      }
      level = up;
      mins = upMins;
    }
    this.root = level[0]!;
    this._size = sorted.length;
    this.mods++;
  }

  /** Every id in key order. */
  toArray(): Int32Array {
    const out = new Int32Array(this._size);
    let k = 0;
    for (let l: Leaf | null = this.first; l !== null; l = l.next) for (const id of l.ids) out[k++] = id;
    return out;
  }

  /** The leaf and index of the first id whose key is >= key; index may equal the leaf's length. */
  seekGE(key: Uint8Array, p1: number, p2: number): { leaf: Leaf; index: number } {
    const o = this.order;
    let node = this.root;
    while (!(node instanceof Leaf)) {
      const mins = node.minIds;
      let lo = 1;
      let hi = mins.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (o.compareIdToKey(mins[mid]!, key, p1, p2) <= 0) lo = mid + 1;
        else hi = mid;
      }
      node = node.children[lo - 1]!;
    }
    const ids = node.ids;
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (o.compareIdToKey(ids[mid]!, key, p1, p2) < 0) lo = mid + 1;
      else hi = mid;
    }
    return { leaf: node, index: lo };
  }

  /** Test helper: ordering, fill and link invariants. */
  checkInvariants(): void {
    let count = 0;
    let prev = -1;
    let prevLeaf: Leaf | null = null;
    for (let leaf: Leaf | null = this.first; leaf !== null; leaf = leaf.next) {
      assert(leaf.prev === prevLeaf, 'leaf prev link broken');
      assert(leaf.ids.length > 0 || this._size === 0, 'empty leaf');
      for (const id of leaf.ids) {
        if (prev >= 0) assert(this.order.compareIds(prev, id) < 0, 'key index out of order');
        prev = id;
        count++;
      }
      prevLeaf = leaf;
    }
    assert(prevLeaf === this.last, 'last leaf pointer wrong');
    assert(count === this._size, 'size mismatch');
  }
}

/**
 * Range tombstones: `deleteRange(start, end)` writes (start, end, seq), which hides
 * every entry with user key in [start, end) and sequence < seq, for readers at a
 * sequence >= seq.
 *
 * Reads ask one question: "what is the largest sequence <= readSeq of a tombstone
 * covering this key?" (0 = none); an entry is visible iff its sequence is larger.
 * Because the answer compares sequence numbers only, tombstones may live anywhere
 * (memtable, any table at any level) without the level order mattering.
 *
 * FragmentedTombstones answers in O(log n): the tombstones are cut at every start and
 * end into non-overlapping fragments, each with the sequences covering it, sorted
 * descending. Built once per immutable source (sealed memtable, version).
 * TombstoneList is the active memtable's growing set: an index plus a short unindexed
 * tail, re-indexed when the tail grows past a fraction of the index (amortised).
 */
import { compareBytes } from '../util/bytes.ts';

export interface RangeTombstone {
  readonly start: Uint8Array;
  readonly end: Uint8Array;
  readonly seq: number;
}

export class FragmentedTombstones {
  /** Fragment i covers [bounds[i], bounds[i+1]) and holds seqs[i] (descending). */
  private readonly bounds: Uint8Array[];
  private readonly seqs: number[][];
  readonly count: number;

  constructor(tombstones: readonly RangeTombstone[]) {
    this.count = tombstones.length;
    const pts: Uint8Array[] = [];
    for (const t of tombstones) {
      if (compareBytes(t.start, t.end) >= 0) continue;
      pts.push(t.start, t.end);
    }
    pts.sort(compareBytes);
    const bounds: Uint8Array[] = [];
    for (const p of pts) if (bounds.length === 0 || compareBytes(bounds[bounds.length - 1]!, p) !== 0) bounds.push(p);
    this.bounds = bounds;
    this.seqs = bounds.map(() => []);
    for (const t of tombstones) {
      if (compareBytes(t.start, t.end) >= 0) continue;
      let i = this.fragmentOf(t.start);
      for (; i < bounds.length - 1 && compareBytes(bounds[i]!, t.end) < 0; i++) this.seqs[i]!.push(t.seq);
    }
    for (const s of this.seqs) if (s.length > 1) s.sort((a, b) => b - a);
  }

  /** Index of the fragment whose start is the last bound <= key, or -1. */
  private fragmentOf(key: Uint8Array): number {
    const b = this.bounds;
    let lo = 0;
    let hi = b.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(b[mid]!, key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  /** Largest sequence <= readSeq of a tombstone covering key, 0 if none. */
  maxCovering(key: Uint8Array, readSeq: number): number {
    if (this.bounds.length === 0) return 0;
    const i = this.fragmentOf(key);
    if (i < 0) return 0;
    const s = this.seqs[i]!;
    for (let j = 0; j < s.length; j++) if (s[j]! <= readSeq) return s[j]!;
    return 0;
  }
}

/** The active memtable's tombstones: indexed part + short tail scanned linearly. */
export class TombstoneList {
  readonly all: RangeTombstone[] = [];
  private index: FragmentedTombstones | null = null;
  private indexed = 0;

  add(t: RangeTombstone): void {
    this.all.push(t);
    const tail = this.all.length - this.indexed;
    if (tail > 16 && tail > this.indexed >>> 2) {
      this.index = new FragmentedTombstones(this.all);
      this.indexed = this.all.length;
    }
  }

  get length(): number {
    return this.all.length;
  }

  maxCovering(key: Uint8Array, readSeq: number): number {
    let best = this.index === null ? 0 : this.index.maxCovering(key, readSeq);
    const all = this.all;
    for (let i = this.indexed; i < all.length; i++) {
      const t = all[i]!;
      if (t.seq > best && t.seq <= readSeq && compareBytes(t.start, key) <= 0 && compareBytes(key, t.end) < 0) best = t.seq;
    }
    return best;
  }

  freeze(): FragmentedTombstones {
    return new FragmentedTombstones(this.all);
  }
}

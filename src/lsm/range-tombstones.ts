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
 * descending. Built once per immutable set (a version's tables, a compaction's inputs,
 * a run of TombstoneList). TombstoneList is a memtable's growing set: O(log n) indexed
 * runs plus a short tail (see there).
 */
import { assert } from '../util/assert.ts';
import { compareBytes } from '../util/bytes.ts';

export interface RangeTombstone {
  readonly start: Uint8Array;
  readonly end: Uint8Array;
  readonly seq: number;
}

function byStart(a: RangeTombstone, b: RangeTombstone): number {
  return compareBytes(a.start, b.start) || b.seq - a.seq;
}

/** Merges two sorted arrays (cmp order) into one; `dedup`: equal elements (cmp 0) once. */
function mergeSorted<T>(a: readonly T[], b: readonly T[], cmp: (x: T, y: T) => number, dedup: boolean): T[] {
  const out: T[] = new Array<T>(a.length + b.length);
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    const c = cmp(a[i]!, b[j]!);
    if (c < 0) out[n++] = a[i++]!;
    else if (c > 0) out[n++] = b[j++]!;
    else {
      out[n++] = a[i++]!;
      if (dedup) j++;
      else out[n++] = b[j++]!;
    }
  }
  while (i < a.length) out[n++] = a[i++]!;
  while (j < b.length) out[n++] = b[j++]!;
  out.length = n;
  return out;
}

export class FragmentedTombstones {
  /** Fragment i covers [bounds[i], bounds[i+1]). */
  private readonly bounds: Uint8Array[];
  /** Per fragment: the largest sequence covering it (0 = none). */
  private readonly top: Float64Array;
  /** Per fragment covered by 2+ tombstones: all their sequences, descending. */
  private readonly more: (number[] | undefined)[];
  readonly count: number;
  /** The (non-empty) tombstones by start ascending, then sequence descending: merge() is linear. */
  readonly sorted: readonly RangeTombstone[];
  readonly maxSeq: number;

  constructor(tombstones: readonly RangeTombstone[]);
  constructor(tombstones: readonly RangeTombstone[], sorted: RangeTombstone[], bounds: Uint8Array[]);
  constructor(tombstones: readonly RangeTombstone[], sorted?: RangeTombstone[], bounds?: Uint8Array[]) {
    this.count = tombstones.length;
    if (sorted === undefined || bounds === undefined) {
      sorted = tombstones.filter((t) => compareBytes(t.start, t.end) < 0).sort(byStart);
      const pts: Uint8Array[] = [];
      for (const t of sorted) pts.push(t.start, t.end);
      pts.sort(compareBytes);
      bounds = [];
      for (const p of pts) if (bounds.length === 0 || compareBytes(bounds[bounds.length - 1]!, p) !== 0) bounds.push(p);
    }
    this.sorted = sorted;
    this.bounds = bounds;
    const top = new Float64Array(bounds.length);
    const more: (number[] | undefined)[] = [];
    let maxSeq = 0;
    // One sweep: starts ascend, so the fragment where each tombstone starts only moves forward.
    let j = 0;
    for (const t of sorted) {
      if (t.seq > maxSeq) maxSeq = t.seq;
      while (compareBytes(bounds[j]!, t.start) < 0) j++;
      for (let i = j; i < bounds.length - 1 && compareBytes(bounds[i]!, t.end) < 0; i++) {
        const cur = top[i]!;
        if (cur === 0) {
          top[i] = t.seq;
          continue;
        }
        const m = more[i];
        if (m === undefined) more[i] = [cur, t.seq];
        else m.push(t.seq);
        if (t.seq > cur) top[i] = t.seq;
      }
    }
    for (const m of more) if (m !== undefined) m.sort((x, y) => y - x);
    this.top = top;
    this.more = more;
    this.maxSeq = maxSeq;
  }

  /** The index of a ∪ b, by linear merges of their sorted tombstones and bounds (no sort). */
  static merge(a: FragmentedTombstones, b: FragmentedTombstones): FragmentedTombstones {
    const sorted = mergeSorted(a.sorted, b.sorted, byStart, false);
    const bounds = mergeSorted(a.bounds, b.bounds, compareBytes, true);
    return new FragmentedTombstones(sorted, sorted, bounds);
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
    const t = this.top[i]!;
    if (t <= readSeq) return t;
    const s = this.more[i];
    if (s === undefined) return 0;
    for (let k = 0; k < s.length; k++) if (s[k]! <= readSeq) return s[k]!;
    return 0;
  }
}

/** What a memtable's reads and flush ask of its tombstones. */
export interface TombstoneIndex {
  readonly count: number;
  /** Largest sequence <= readSeq of a tombstone covering key, 0 if none. */
  maxCovering(key: Uint8Array, readSeq: number): number;
}

/** Tombstones scanned linearly before they are indexed as a run. */
const TAIL = 16;

/**
 * The active memtable's growing set (and, frozen, a sealed one's): the logarithmic method
 * (Bentley–Saxe). Tombstones go to a tail of at most TAIL scanned linearly; a full tail
 * becomes an indexed run, and runs of equal-or-smaller size than their successor merge
 * (a binary counter) by linear merges (FragmentedTombstones.merge), so there are
 * O(log n) runs, each tombstone takes part in O(log n) merges (amortized O(log n) per
 * add for tombstones that overlap little), and a probe is O(TAIL + log² n).
 *
 * Why (issue 11, Nexmark q16, whose MapState.clear writes 8 deleteRange per key and
 * timer): the former list re-indexed ALL tombstones whenever its unindexed tail passed a
 * quarter of them — O(n log n) per rebuild, 18 % of q16's time — and scanned that tail
 * (up to n/4 entries) on every read of the memtable, another ~10 %.
 *
 * A probe visits the tail and the runs newest first and skips a run whose largest
 * sequence cannot beat the best so far: in a memtable sequences grow with insertion, so
 * once a covering tombstone is found no older run is searched.
 */
export class TombstoneList implements TombstoneIndex {
  readonly all: RangeTombstone[] = [];
  private readonly runs: FragmentedTombstones[] = [];
  /** all[tailFrom..] are not in a run. */
  private tailFrom = 0;
  private frozen = false;

  add(t: RangeTombstone): void {
    assert(!this.frozen, 'TombstoneList.add after freeze');
    this.all.push(t);
    if (this.all.length - this.tailFrom >= TAIL) this.indexTail();
  }

  private indexTail(): void {
    const items = this.all.slice(this.tailFrom);
    this.tailFrom = this.all.length;
    if (items.length === 0) return;
    const runs = this.runs;
    let run = new FragmentedTombstones(items);
    // Runs merge linearly (their tombstones and bounds are kept sorted), never re-sorted.
    while (runs.length > 0 && runs[runs.length - 1]!.count <= run.count) run = FragmentedTombstones.merge(runs.pop()!, run);
    runs.push(run);
  }

  get length(): number {
    return this.all.length;
  }

  get count(): number {
    return this.all.length;
  }

  maxCovering(key: Uint8Array, readSeq: number): number {
    let best = 0;
    const all = this.all;
    for (let i = all.length - 1; i >= this.tailFrom; i--) {
      const t = all[i]!;
      if (t.seq > best && t.seq <= readSeq && compareBytes(t.start, key) <= 0 && compareBytes(key, t.end) < 0) best = t.seq;
    }
    const runs = this.runs;
    for (let r = runs.length - 1; r >= 0; r--) {
      const run = runs[r]!;
      if (run.maxSeq <= best) continue;
      const s = run.maxCovering(key, readSeq);
      if (s > best) best = s;
    }
    return best;
  }

  /** Seals the set (no more adds; the tail stays a linear scan of at most TAIL): O(1). */
  freeze(): TombstoneIndex {
    this.frozen = true;
    return this;
  }
}

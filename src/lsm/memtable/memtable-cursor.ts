/**
 * A positioned cursor over every entry (all versions) of a memtable in internal-key
 * order: keys ascending through the ordered index (key-index.ts), and within a key its
 * version chain, newest first.
 *
 * The cursor holds the key id and entry it is on, so key/seq/value never need the
 * index. The index may change under an open cursor (a later cursor on the same active
 * memtable brings it up to date): next/prev then first re-find the current key by its
 * bytes — it is still there, keys are never removed — and step from there. Keys and
 * versions added after the cursor was opened may or may not be seen; they are newer
 * than any reader's sequence that opened it, so the store's iterators filter them.
 */
import type { InternalCursor } from '../internal-cursor.ts';
import { PREFIX_BYTES, keyPrefixAt } from './compare.ts';
import type { KeyIndex, Leaf } from './key-index.ts';

/** What the cursor reads of a memtable (memtable.ts implements it). */
export interface MemtableEntries {
  keyView(id: number): Uint8Array;
  headOf(id: number): number;
  olderOf(e: number): number;
  newerOf(id: number, e: number): number;
  oldestOf(id: number): number;
  seqOf(e: number): number;
  entryValue(e: number): Uint8Array | null;
  /** True when entry e is a merge operand. */
  isMerge(e: number): boolean;
}

export class MemtableCursor implements InternalCursor {
  private readonly m: MemtableEntries;
  private readonly index: KeyIndex;
  private leaf: Leaf | null = null;
  private pos = 0;
  private mods = -1;
  private id = -1;
  private e = -1;
  private keyBytes: Uint8Array = new Uint8Array(0);

  constructor(m: MemtableEntries, index: KeyIndex) {
    this.m = m;
    this.index = index;
  }

  get valid(): boolean {
    return this.leaf !== null;
  }
  get key(): Uint8Array {
    return this.keyBytes;
  }
  get seq(): number {
    return this.m.seqOf(this.e);
  }
  get value(): Uint8Array | null {
    return this.m.entryValue(this.e);
  }
  get merge(): boolean {
    return this.m.isMerge(this.e);
  }

  private revalidate(): void {
    if (this.mods === this.index.mods || this.leaf === null) return;
    const [p1, p2] = prefixesOf(this.keyBytes);
    const p = this.index.seekGE(this.keyBytes, p1, p2);
    let leaf: Leaf | null = p.leaf;
    let i = p.index;
    while (leaf !== null && i >= leaf.ids.length) {
      leaf = leaf.next;
      i = 0;
    }
    this.leaf = leaf;
    this.pos = i;
    this.mods = this.index.mods;
  }

  /** Positions on index entry (leaf, i) moving forward over empty ends; entry = newest (or oldest). */
  private land(leaf: Leaf | null, i: number, forward: boolean, oldest: boolean): void {
    if (forward) {
      while (leaf !== null && i >= leaf.ids.length) {
        leaf = leaf.next;
        i = 0;
      }
    } else {
      while (leaf !== null && i < 0) {
        leaf = leaf.prev;
        i = leaf === null ? 0 : leaf.ids.length - 1;
      }
    }
    this.leaf = leaf;
    this.pos = i;
    this.mods = this.index.mods;
    if (leaf === null) return;
    const id = leaf.ids[i]!;
    this.id = id;
    this.e = oldest ? this.m.oldestOf(id) : this.m.headOf(id);
    this.keyBytes = this.m.keyView(id);
  }

  seekToFirst(): void {
    this.land(this.index.first, 0, true, false);
  }

  seekToLast(): void {
    this.land(this.index.last, this.index.last.ids.length - 1, false, true);
  }

  /** First entry with user key >= key. */
  seekGE(key: Uint8Array): void {
    const [p1, p2] = prefixesOf(key);
    const p = this.index.seekGE(key, p1, p2);
    this.land(p.leaf, p.index, true, false);
  }

  /** Last entry with user key < key. */
  seekLT(key: Uint8Array): void {
    const [p1, p2] = prefixesOf(key);
    const p = this.index.seekGE(key, p1, p2);
    this.land(p.leaf, p.index - 1, false, true);
  }

  next(): void {
    if (this.leaf === null) return;
    const older = this.m.olderOf(this.e);
    if (older >= 0) {
      this.e = older;
      return;
    }
    this.revalidate();
    this.land(this.leaf, this.pos + 1, true, false);
  }

  prev(): void {
    if (this.leaf === null) return;
    const newer = this.m.newerOf(this.id, this.e);
    if (newer >= 0) {
      this.e = newer;
      return;
    }
    this.revalidate();
    this.land(this.leaf, this.pos - 1, false, true);
  }
}

function prefixesOf(key: Uint8Array): [number, number] {
  return [keyPrefixAt(key, 0), keyPrefixAt(key, PREFIX_BYTES)];
}

/**
 * Merges N internal cursors into one stream in internal-key order (forward) or its
 * exact reverse (backward), with a binary heap of the positioned children. One
 * direction per positioning: seekToFirst/seekGE + next, or seekToLast/seekLT + prev.
 * The store's scans never switch direction, so this does not support it.
 */
import { assert } from '../util/assert.ts';
import type { InternalCursor } from './internal-cursor.ts';
import { compareEntry } from './memtable/compare.ts';

export class MergingCursor implements InternalCursor {
  private readonly children: InternalCursor[];
  private heap: InternalCursor[] = [];
  private forward = true;

  constructor(children: InternalCursor[]) {
    this.children = children;
  }

  get valid(): boolean {
    return this.heap.length > 0;
  }
  get key(): Uint8Array {
    return this.heap[0]!.key;
  }
  get seq(): number {
    return this.heap[0]!.seq;
  }
  get value(): Uint8Array | null {
    return this.heap[0]!.value;
  }
  get merge(): boolean {
    return this.heap[0]!.merge;
  }

  /** True when a must come out before b in the current direction. */
  private before(a: InternalCursor, b: InternalCursor): boolean {
    const c = compareEntry(a.key, a.seq, b.key, b.seq);
    return this.forward ? c < 0 : c > 0;
  }

  private rebuild(): void {
    this.heap = this.children.filter((c) => c.valid);
    for (let i = (this.heap.length >>> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      let m = l;
      if (r < n && this.before(h[r]!, h[l]!)) m = r;
      if (!this.before(h[m]!, h[i]!)) return;
      const t = h[i]!;
      h[i] = h[m]!;
      h[m] = t;
      i = m;
    }
  }

  private advanceTop(): void {
    const top = this.heap[0]!;
    if (this.forward) top.next();
    else top.prev();
    if (!top.valid) {
      const last = this.heap.pop()!;
      if (this.heap.length === 0) return;
      this.heap[0] = last;
    }
    this.siftDown(0);
  }

  seekToFirst(): void {
    this.forward = true;
    for (const c of this.children) c.seekToFirst();
    this.rebuild();
  }

  seekToLast(): void {
    this.forward = false;
    for (const c of this.children) c.seekToLast();
    this.rebuild();
  }

  seekGE(key: Uint8Array): void {
    this.forward = true;
    for (const c of this.children) c.seekGE(key);
    this.rebuild();
  }

  seekLT(key: Uint8Array): void {
    this.forward = false;
    for (const c of this.children) c.seekLT(key);
    this.rebuild();
  }

  next(): void {
    assert(this.forward, 'MergingCursor: next() after a backward positioning');
    if (this.heap.length > 0) this.advanceTop();
  }

  prev(): void {
    assert(!this.forward, 'MergingCursor: prev() after a forward positioning');
    if (this.heap.length > 0) this.advanceTop();
  }

  close(): void {
    for (const c of this.children) c.close?.();
    this.heap = [];
  }
}

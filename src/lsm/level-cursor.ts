/**
 * A cursor over one level >= 1 (files sorted by key, disjoint): opens only the file
 * that holds the position, moving to the neighbouring file when one is exhausted, so
 * a short scan touches one or two tables of the level, not all of them.
 */
import { compareBytes } from '../util/bytes.ts';
import type { InternalCursor } from './internal-cursor.ts';
import type { FileMeta } from './version/file-meta.ts';

export class LevelCursor implements InternalCursor {
  private readonly files: readonly FileMeta[];
  private readonly open: (f: FileMeta) => InternalCursor;
  private index = -1;
  private cur: InternalCursor | null = null;

  constructor(files: readonly FileMeta[], open: (f: FileMeta) => InternalCursor) {
    this.files = files;
    this.open = open;
  }

  get valid(): boolean {
    return this.cur !== null && this.cur.valid;
  }
  get key(): Uint8Array {
    return this.cur!.key;
  }
  get seq(): number {
    return this.cur!.seq;
  }
  get value(): Uint8Array | null {
    return this.cur!.value;
  }
  get merge(): boolean {
    return this.cur!.merge;
  }

  private openAt(i: number): InternalCursor | null {
    if (this.index === i && this.cur !== null) return this.cur;
    this.cur?.close?.();
    this.cur = null;
    this.index = i;
    if (i < 0 || i >= this.files.length) return null;
    this.cur = this.open(this.files[i]!);
    return this.cur;
  }

  private skipForward(): void {
    // Bounded by the number of files.
    while (this.cur !== null && !this.cur.valid && this.index < this.files.length - 1) {
      this.openAt(this.index + 1)!.seekToFirst();
    }
  }

  private skipBackward(): void {
    while (this.cur !== null && !this.cur.valid && this.index > 0) {
      this.openAt(this.index - 1)!.seekToLast();
    }
  }

  seekToFirst(): void {
    this.openAt(0)?.seekToFirst();
    this.skipForward();
  }

  seekToLast(): void {
    this.openAt(this.files.length - 1)?.seekToLast();
    this.skipBackward();
  }

  seekGE(key: Uint8Array): void {
    // First file whose largest >= key.
    let lo = 0;
    let hi = this.files.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.files[mid]!.largest, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= this.files.length) {
      this.openAt(-1);
      return;
    }
    this.openAt(lo)!.seekGE(key);
    this.skipForward();
  }

  seekLT(key: Uint8Array): void {
    // Last file whose smallest < key.
    let lo = 0;
    let hi = this.files.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareBytes(this.files[mid]!.smallest, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) {
      this.openAt(-1);
      return;
    }
    this.openAt(lo - 1)!.seekLT(key);
    this.skipBackward();
  }

  next(): void {
    this.cur!.next();
    this.skipForward();
  }

  prev(): void {
    this.cur!.prev();
    this.skipBackward();
  }

  close(): void {
    this.cur?.close?.();
    this.cur = null;
  }
}

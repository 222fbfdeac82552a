/**
 * The user-facing scan iterator (LsmIterator): turns the merged stream of all versions
 * from memtables and tables into one (key, value) per live user key, as of the
 * sequence captured when it was opened:
 *  - entries with sequence > readSeq are skipped (later writes are invisible);
 *  - of each user key only the newest visible version counts; a point deletion or a
 *    range tombstone with a larger sequence (<= readSeq) hides it;
 *  - bounded by [start, end) and prefix; forward or reverse.
 * It holds (through `release`) the version and memtables it reads; close() — or running
 * to the end — releases them exactly once.
 */
import type { LsmIterator } from './types.ts';
import type { InternalCursor } from './internal-cursor.ts';
import { compareBytes, equalBytes, prefixSuccessor } from '../util/bytes.ts';

export type TombstoneProbe = (key: Uint8Array, readSeq: number) => number;

export interface StoreIteratorOptions {
  cursor: InternalCursor;
  readSeq: number;
  maxTombstone: TombstoneProbe;
  start?: Uint8Array | undefined;
  end?: Uint8Array | undefined;
  prefix?: Uint8Array | undefined;
  reverse: boolean;
  release: () => void;
}

export class StoreIterator implements LsmIterator {
  private readonly cursor: InternalCursor;
  private readonly readSeq: number;
  private readonly maxTombstone: TombstoneProbe;
  private readonly lower: Uint8Array | undefined;
  private readonly upper: Uint8Array | undefined;
  private readonly reverse: boolean;
  private release: (() => void) | null;
  private started = false;
  /** Forward: the user key last returned, whose older versions are still to be skipped. */
  private skipKey: Uint8Array | null = null;

  constructor(o: StoreIteratorOptions) {
    this.cursor = o.cursor;
    this.readSeq = o.readSeq;
    this.maxTombstone = o.maxTombstone;
    this.reverse = o.reverse;
    this.release = o.release;
    let lower = o.start;
    let upper = o.end;
    if (o.prefix !== undefined) {
      if (lower === undefined || compareBytes(lower, o.prefix) < 0) lower = o.prefix;
      const succ = prefixSuccessor(o.prefix);
      if (succ !== undefined && (upper === undefined || compareBytes(succ, upper) < 0)) upper = succ;
    }
    this.lower = lower;
    this.upper = upper;
  }

  [Symbol.iterator](): Iterator<[Uint8Array, Uint8Array]> {
    return this;
  }

  private finish(): IteratorResult<[Uint8Array, Uint8Array]> {
    this.close();
    return { done: true, value: undefined };
  }

  next(): IteratorResult<[Uint8Array, Uint8Array]> {
    if (this.release === null) return { done: true, value: undefined };
    const c = this.cursor;
    if (!this.started) {
      this.started = true;
      if (this.lower !== undefined && this.upper !== undefined && compareBytes(this.lower, this.upper) >= 0) return this.finish();
      if (this.reverse) {
        if (this.upper !== undefined) c.seekLT(this.upper);
        else c.seekToLast();
      } else if (this.lower !== undefined) c.seekGE(this.lower);
      else c.seekToFirst();
    }
    return this.reverse ? this.nextBackward() : this.nextForward();
  }

  private nextForward(): IteratorResult<[Uint8Array, Uint8Array]> {
    const c = this.cursor;
    const readSeq = this.readSeq;
    for (;;) {
      if (this.skipKey !== null) {
        while (c.valid && equalBytes(c.key, this.skipKey)) c.next();
        this.skipKey = null;
      }
      if (!c.valid) return this.finish();
      const key = c.key;
      if (this.upper !== undefined && compareBytes(key, this.upper) >= 0) return this.finish();
      if (c.seq > readSeq) {
        c.next();
        continue;
      }
      // c is the newest visible version of key.
      const k = key.slice();
      this.skipKey = k;
      const v = c.value;
      if (v === null) continue;
      if (this.maxTombstone(k, readSeq) > c.seq) continue;
      return { done: false, value: [k, v] };
    }
  }

  private nextBackward(): IteratorResult<[Uint8Array, Uint8Array]> {
    const c = this.cursor;
    const readSeq = this.readSeq;
    for (;;) {
      if (!c.valid) return this.finish();
      if (this.lower !== undefined && compareBytes(c.key, this.lower) < 0) return this.finish();
      // Versions of one user key arrive oldest first: the last visible one wins.
      const k = c.key.slice();
      let seq = -1;
      let value: Uint8Array | null = null;
      while (c.valid && equalBytes(c.key, k)) {
        if (c.seq <= readSeq) {
          seq = c.seq;
          value = c.value === null ? null : c.value.slice();
        }
        c.prev();
      }
      if (seq < 0 || value === null) continue;
      if (this.maxTombstone(k, readSeq) > seq) continue;
      return { done: false, value: [k, value] };
    }
  }

  close(): void {
    const r = this.release;
    if (r === null) return;
    this.release = null;
    this.cursor.close?.();
    r();
  }
}

/**
 * The user-facing scan iterator (LsmIterator): turns the merged stream of all versions
 * from memtables and tables into one (key, value) per live user key, as of the
 * sequence captured when it was opened:
 *  - entries with sequence > readSeq are skipped (later writes are invisible);
 *  - of each user key only the newest visible version counts; a point deletion or a
 *    range tombstone with a larger sequence (<= readSeq) hides it; when it is a merge
 *    operand, the versions below it are folded in (merge.ts) down to the newest base
 *    (Put, Delete, or the first version a range tombstone hides);
 *  - bounded by [start, end) and prefix; forward or reverse.
 * It holds (through `release`) the version and memtables it reads; close() — or running
 * to the end — releases them exactly once.
 */
import type { LsmIterator } from './types.ts';
import type { InternalCursor } from './internal-cursor.ts';
import { compareBytes, equalBytes, prefixSuccessor } from '../util/bytes.ts';
import { appendOperands, MergeAcc } from './merge.ts';

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
      const t = this.maxTombstone(k, readSeq);
      if (t > c.seq) continue;
      if (!c.merge) return { done: false, value: [k, v] };
      return { done: false, value: [k, this.foldForward(k, t)] };
    }
  }

  /**
   * The cursor is on key k's newest visible version, a merge operand not hidden by the
   * tombstone sequence t: collects the operands below it down to the base and folds.
   * Leaves the cursor inside k's versions (skipKey skips the rest).
   */
  private foldForward(k: Uint8Array, t: number): Uint8Array {
    const c = this.cursor;
    const acc = new MergeAcc();
    acc.push(c.value!.slice());
    c.next();
    // Versions of k below the first visible one all have smaller sequences (<= readSeq).
    for (; c.valid && equalBytes(c.key, k); c.next()) {
      if (c.seq < t) break;
      if (!c.merge) return acc.fold(c.value);
      acc.push(c.value!.slice());
    }
    return acc.fold(null);
  }

  private nextBackward(): IteratorResult<[Uint8Array, Uint8Array]> {
    const c = this.cursor;
    const readSeq = this.readSeq;
    for (;;) {
      if (!c.valid) return this.finish();
      if (this.lower !== undefined && compareBytes(c.key, this.lower) < 0) return this.finish();
      // Versions of one user key arrive oldest first: the last visible base wins, and
      // the merge operands above it are appended in the order they arrive.
      const k = c.key.slice();
      const t = this.maxTombstone(k, readSeq);
      let base: Uint8Array | null = null;
      let ops: Uint8Array[] | null = null; // oldest first
      while (c.valid && equalBytes(c.key, k)) {
        if (c.seq <= readSeq && c.seq > t) {
          if (c.merge) (ops ??= []).push(c.value!.slice());
          else {
            base = c.value === null ? null : c.value.slice();
            ops = null;
          }
        }
        c.prev();
      }
      if (ops !== null) return { done: false, value: [k, appendOperands(base, ops.reverse())] };
      if (base === null) continue;
      return { done: false, value: [k, base] };
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

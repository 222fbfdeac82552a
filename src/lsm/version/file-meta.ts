/**
 * Metadata of one immutable sstable, as the version set and the manifest know it.
 *
 * Bounds: `smallest`/`largest` are the smallest and largest POINT user keys (inclusive);
 * they place the file in its level (L1+ files never overlap by these bounds) and drive
 * lookups and compaction picking. A file with range tombstones only has
 * smallest = largest = the first tombstone's start. Range tombstones are kept in full
 * in `tombstones` (they are read through the version's global tombstone index, which
 * compares sequence numbers, so their placement never matters for correctness) and
 * their extent [tombLo, tombHi) is used only to decide when a tombstone may be dropped.
 */
import { compareBytes } from '../../util/bytes.ts';
import type { RangeTombstone } from '../range-tombstones.ts';

export interface FileMeta {
  readonly number: number;
  /** "<6-digit number>-<8 hex session id>.sst", unique across incarnations. */
  readonly name: string;
  readonly size: number;
  readonly smallest: Uint8Array;
  readonly largest: Uint8Array;
  /** Point entries + range tombstones. */
  readonly entries: number;
  readonly minSeq: number;
  readonly maxSeq: number;
  readonly tombstones: readonly RangeTombstone[];
}

export function tableFileName(number: number, sessionId: string): string {
  return `${String(number).padStart(6, '0')}-${sessionId}.sst`;
}

const NAME_RE = /^(\d{6,})-([0-9a-f]{8})\.sst$/;

export function parseTableFileName(name: string): { number: number; sessionId: string } | undefined {
  const m = NAME_RE.exec(name);
  if (m === null) return undefined;
  return { number: Number(m[1]), sessionId: m[2]! };
}

/** Does the file's point range intersect the inclusive user-key range [lo, hi]? (undefined = unbounded) */
export function overlapsPoints(f: FileMeta, lo: Uint8Array | undefined, hi: Uint8Array | undefined): boolean {
  if (lo !== undefined && compareBytes(f.largest, lo) < 0) return false;
  if (hi !== undefined && compareBytes(f.smallest, hi) > 0) return false;
  return true;
}

/** Does anything in the file (points or tombstones) touch the half-open range [lo, hiExclusive)? */
export function touchesRange(f: FileMeta, lo: Uint8Array, hiExclusive: Uint8Array): boolean {
  if (compareBytes(f.smallest, hiExclusive) < 0 && compareBytes(f.largest, lo) >= 0) return true;
  for (const t of f.tombstones) {
    if (compareBytes(t.start, hiExclusive) < 0 && compareBytes(t.end, lo) > 0) return true;
  }
  return false;
}

/**
 * In a level's files sorted by `smallest` with disjoint point ranges (L1 and below): the
 * index of the only file whose [smallest, largest] may contain key, or -1.
 */
export function fileIndexContaining(files: readonly { readonly smallest: Uint8Array; readonly largest: Uint8Array }[], key: Uint8Array): number {
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareBytes(files[mid]!.largest, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo < files.length && compareBytes(files[lo]!.smallest, key) <= 0 ? lo : -1;
}

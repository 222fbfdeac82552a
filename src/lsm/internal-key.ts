/**
 * Internal keys: every entry in a memtable or sstable is keyed by
 *
 *   user key bytes ‖ trailer (8 bytes) = sequence number (7 bytes, big-endian) ‖ kind (1 byte)
 *
 * ordered by user key ascending (byte order), then sequence DEScending (newest first),
 * then kind descending. A read at sequence S sees, for each user key, the first entry
 * with sequence <= S. Sequence numbers are < 2^53 (JS safe integers), assigned by the
 * store, one per write (a batch's entries share consecutive numbers).
 *
 * Range tombstones are not stored in data blocks: they live in each sstable's
 * range-deletion block as (start user key, end user key, sequence), see sstable/format.ts.
 */
import { compareBytes } from '../util/bytes.ts';

export const enum ValueKind {
  Delete = 0,
  Put = 1,
  /**
   * A merge operand (append): the entry's value is appended to the key's value below it.
   * Readers fold the operands, oldest first, onto the newest base (Put, Delete or a
   * covering range tombstone) below them — see docs/lsm.md "Merge operands". A table
   * holding one is written with sstable format version 2 (format.ts).
   */
  Merge = 2,
}

export const TRAILER_BYTES = 8;
export const MAX_SEQUENCE = 2 ** 53 - 1;

export function encodeInternalKey(userKey: Uint8Array, seq: number, kind: ValueKind): Uint8Array {
  const out = new Uint8Array(userKey.length + TRAILER_BYTES);
  out.set(userKey, 0);
  writeTrailer(out, userKey.length, seq, kind);
  return out;
}

export function writeTrailer(buf: Uint8Array, offset: number, seq: number, kind: ValueKind): void {
  // 7-byte big-endian sequence: high 3 bytes from seq / 2^32, low 4 bytes.
  const hi = Math.floor(seq / 0x1_0000_0000);
  const lo = seq >>> 0;
  buf[offset] = (hi >>> 16) & 0xff;
  buf[offset + 1] = (hi >>> 8) & 0xff;
  buf[offset + 2] = hi & 0xff;
  buf[offset + 3] = (lo >>> 24) & 0xff;
  buf[offset + 4] = (lo >>> 16) & 0xff;
  buf[offset + 5] = (lo >>> 8) & 0xff;
  buf[offset + 6] = lo & 0xff;
  buf[offset + 7] = kind;
}

export function userKeyOf(ikey: Uint8Array): Uint8Array {
  return ikey.subarray(0, ikey.length - TRAILER_BYTES);
}

export function sequenceOf(ikey: Uint8Array): number {
  const o = ikey.length - TRAILER_BYTES;
  const hi = (ikey[o]! << 16) | (ikey[o + 1]! << 8) | ikey[o + 2]!;
  const lo = ((ikey[o + 3]! << 24) | (ikey[o + 4]! << 16) | (ikey[o + 5]! << 8) | ikey[o + 6]!) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

export function kindOf(ikey: Uint8Array): ValueKind {
  return ikey[ikey.length - 1]!;
}

/** Compares two internal keys: user key asc, then (sequence, kind) desc. */
export function compareInternalKeys(a: Uint8Array, b: Uint8Array): number {
  const al = a.length - TRAILER_BYTES;
  const bl = b.length - TRAILER_BYTES;
  const n = al < bl ? al : bl;
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  if (al !== bl) return al - bl;
  // Same user key: larger trailer (newer) first. Trailers are big-endian, so compare bytes reversed.
  for (let i = 0; i < TRAILER_BYTES; i++) {
    const d = b[al + i]! - a[bl + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Compares the user-key part of an internal key with a user key. */
export function compareUserKey(ikey: Uint8Array, userKey: Uint8Array): number {
  return compareBytes(userKeyOf(ikey), userKey);
}

/** The internal key that sorts first among all entries for userKey visible at seq (seek target). */
export function seekKey(userKey: Uint8Array, seq: number = MAX_SEQUENCE): Uint8Array {
  return encodeInternalKey(userKey, seq, 0xff as ValueKind);
}

/**
 * Allocation-free comparators over (buffer, offset, length) slices, for the sstable
 * hot paths (block seek, index search, writer order check). Same orders as
 * compareInternalKeys (src/lsm/internal-key.ts) and compareBytes (src/util/bytes.ts).
 */
import { TRAILER_BYTES } from '../internal-key.ts';

/** Internal-key order: user key ascending, then the 8-byte trailer descending (newest first). */
export function compareInternalAt(a: Uint8Array, aOff: number, aLen: number, b: Uint8Array, bOff: number, bLen: number): number {
  const au = aLen - TRAILER_BYTES;
  const bu = bLen - TRAILER_BYTES;
  const n = au < bu ? au : bu;
  for (let i = 0; i < n; i++) {
    const d = a[aOff + i]! - b[bOff + i]!;
    if (d !== 0) return d;
  }
  if (au !== bu) return au - bu;
  for (let i = 0; i < TRAILER_BYTES; i++) {
    const d = b[bOff + bu + i]! - a[aOff + au + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Plain byte order (meta blocks: property names, meta block names). */
export function compareBytesAt(a: Uint8Array, aOff: number, aLen: number, b: Uint8Array, bOff: number, bLen: number): number {
  const n = aLen < bLen ? aLen : bLen;
  for (let i = 0; i < n; i++) {
    const d = a[aOff + i]! - b[bOff + i]!;
    if (d !== 0) return d;
  }
  return aLen - bLen;
}

/** True if the user-key part of internal key a[aOff..aOff+aLen) equals userKey. */
export function userKeyEquals(a: Uint8Array, aOff: number, aLen: number, userKey: Uint8Array): boolean {
  const n = aLen - TRAILER_BYTES;
  if (n !== userKey.length) return false;
  for (let i = 0; i < n; i++) if (a[aOff + i] !== userKey[i]) return false;
  return true;
}

/**
 * Ordering helpers shared by the memtable and the read path: internal-key order
 * (user key ascending, sequence DEScending) without building internal keys, and numeric
 * key prefixes that decide most comparisons of keys with one float compare.
 */

/**
 * Byte order of a and b; then sequence descending. Hot: a plain loop (faster than
 * Buffer.compare for short keys). `from`: bytes before it are known equal.
 */
export function compareEntry(ak: Uint8Array, as: number, bk: Uint8Array, bs: number, from = 0): number {
  const al = ak.length;
  const bl = bk.length;
  const n = al < bl ? al : bl;
  for (let i = from; i < n; i++) {
    const d = ak[i]! - bk[i]!;
    if (d !== 0) return d;
  }
  if (al !== bl) return al - bl;
  return bs - as;
}

/** Bytes a prefix number holds (6 bytes = 48 bits: exact in a double). */
export const PREFIX_BYTES = 6;

/**
 * Bytes [from, from + 6) of a key as a number (missing bytes = 0). Order of prefixes is
 * consistent with byte order; when the prefixes of two keys are equal, the keys are
 * equal on their common length within those bytes and a byte compare from `from + 6`
 * (then the lengths) decides.
 */
export function keyPrefixAt(k: Uint8Array, from: number): number {
  const n = k.length;
  if (n >= from + 6) {
    return k[from]! * 0x100_0000_0000 + k[from + 1]! * 0x1_0000_0000 + ((k[from + 2]! << 24) >>> 0) + (k[from + 3]! << 16) + (k[from + 4]! << 8) + k[from + 5]!;
  }
  let p = 0;
  for (let i = from; i < from + 6; i++) p = p * 256 + (i < n ? k[i]! : 0);
  return p;
}

/** The first 6 bytes of a key as a number (see keyPrefixAt). */
export function keyPrefix(k: Uint8Array): number {
  return keyPrefixAt(k, 0);
}

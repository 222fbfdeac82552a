/**
 * The weir sstable format, byte by byte. One file is one immutable sorted run of
 * internal keys (src/lsm/internal-key.ts) plus the range tombstones of that run.
 *
 *   ┌──────────────────────────────────────────────────────────────┐ offset 0
 *   │ data block 0                         │ block trailer (5 B)   │
 *   │ data block 1                         │ block trailer         │
 *   │ …                                                            │
 *   │ data block n-1                       │ block trailer         │
 *   │ filter block        (meta, optional) │ block trailer         │
 *   │ range-del block     (meta, optional) │ block trailer         │
 *   │ properties block    (meta)           │ block trailer         │
 *   │ metaindex block                      │ block trailer         │
 *   │ index block                          │ block trailer         │
 *   │ footer (56 B, fixed)                                         │
 *   └──────────────────────────────────────────────────────────────┘ offset fileSize
 *
 * BLOCK HANDLE (varints, at most 20 bytes for offsets < 2^53):
 *   offset varint64 | size varint64        size = stored block bytes, WITHOUT the trailer
 *
 * BLOCK TRAILER (5 bytes, after every block, data and meta alike):
 *   +0  u8      compression type: 0 = none, 1 = snappy, 4 = lz4 (RocksDB's numbers; see
 *              src/lsm/compression.ts)
 *   +1  u32 LE  maskCrc(crc32c(stored block bytes ‖ type byte))
 *   The stored bytes are compressed only when that saves >= 12.5% (compression.ts).
 *
 * Why CRC-32C: LevelDB's choice, the same checksum S3's additional checksums and our
 * checkpoint storage use, and computed by the SSE4.2 instruction through @node-rs/crc32
 * (~8 GB/s, 0.6 µs per 4 KiB block; see src/util/crc32c.ts). It is masked (LevelDB's
 * rotate + add) so that a CRC stored inside CRC'd data does not look like data.
 *
 * BLOCK (uncompressed contents; data, index, metaindex, properties and range-del blocks
 * all use it):
 *   entry*  restart[0] u32 LE … restart[r-1] u32 LE | r u32 LE
 *   entry = shared varint32 | unshared varint32 | value_len varint32
 *           | key delta (unshared bytes) | value (value_len bytes)
 *     `shared` = bytes of the key in common with the previous entry's key; it is 0 at a
 *     restart point (every `restartInterval`-th entry), whose offset is in restart[].
 *     Keys inside a block are strictly increasing; a reader binary-searches the
 *     restart points, then scans forward.
 *   Data block:      key = internal key (user key ‖ 7-byte BE seq ‖ kind), value = user value
 *                    (kind 0 Delete, 1 Put; 2 Merge = an append operand, version 2 only)
 *   Index block:     restartInterval 1; key = LAST internal key of data block i,
 *                    value = handle of data block i (blocks in file order)
 *   Metaindex block: restartInterval 1; key = meta block name (ASCII), value = handle.
 *                    Names: "weir.filter.bloom", "weir.properties", "weir.range_del"
 *   Properties:      restartInterval 1; key = property name (ASCII, sorted), value =
 *                    varint64 for numbers, raw bytes for keys/strings (properties.ts)
 *   Range-del block: restartInterval 1; key = internal key (start user key, seq, Delete),
 *                    value = end user key (exclusive). Sorted by internal key. Only
 *                    present if the table has range tombstones.
 *
 * FILTER BLOCK (not in block format; never compressed):
 *   bits (ceil(n·bitsPerKey / 8) bytes, at least 8) | k u8
 *   A whole-table bloom filter over distinct USER keys, LevelDB's util/bloom.cc:
 *   h = leveldbHash(key, seed 0xbc9f1d34); delta = rotr(h, 17); probe k times
 *   bit (h mod bits), h += delta. k = floor(bitsPerKey · 0.69) clamped to [1, 30].
 *   Only present if bloomBitsPerKey > 0.
 *
 * FOOTER (56 bytes, at fileSize - 56):
 *   +0   metaindex handle | index handle, zero-padded to 40 bytes
 *   +40  u32 LE  format version: 1, or 2 when the table holds a merge operand (kind 2).
 *                A writer writes 1 for every table without one, so tables (and the
 *                checkpoints holding them) written before merge operands existed and
 *                those written since without any read the same; an older weir refuses a
 *                version-2 table instead of reading its operands as Puts.
 *   +44  u32 LE  maskCrc(crc32c(footer bytes 0..43))
 *   +48  8 B     magic "weirSST\x01" = 77 65 69 72 53 53 54 01
 *
 * A reader checks magic, version and footer CRC first, then the CRC of every block it
 * reads; any mismatch, a short read or a handle pointing outside the file raises
 * CorruptionError(fileName, offset, detail): corrupt files never yield data.
 */
import { assert } from '../../util/assert.ts';
import { CorruptionError } from '../../util/errors.ts';
import { crc32c, maskCrc } from '../../util/crc32c.ts';

export const FORMAT_VERSION = 1;
/** Tables holding at least one merge operand (ValueKind.Merge). */
export const FORMAT_VERSION_MERGE = 2;
export const BLOCK_TRAILER_BYTES = 5;
export const FOOTER_BYTES = 56;
export const FOOTER_HANDLES_BYTES = 40;
/** "weirSST\x01" */
export const MAGIC = Uint8Array.of(0x77, 0x65, 0x69, 0x72, 0x53, 0x53, 0x54, 0x01);

export const META_FILTER = 'weir.filter.bloom';
export const META_PROPERTIES = 'weir.properties';
export const META_RANGE_DEL = 'weir.range_del';

export interface BlockHandle {
  offset: number;
  /** Stored size without the 5-byte trailer. */
  size: number;
}

// ---------------------------------------------------------------------------------
// Varints (LevelDB encoding: 7 bits per byte, little-endian groups, high bit = more).

/** Writes v (0 <= v < 2^53) at buf[pos]; returns the new position. buf must have room (10 B). */
export function putVarint(buf: Uint8Array, pos: number, v: number): number {
  assert(v >= 0 && Number.isSafeInteger(v), 'varint out of range');
  while (v >= 0x80) {
    buf[pos++] = (v & 0x7f) | 0x80;
    v = v < 0x1_0000_0000 ? v >>> 7 : Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

export function varintLength(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

/**
 * Decoded varint result lives here to avoid allocating a tuple per call (single
 * threaded; read `varintValue`/`varintPos` right after calling getVarint).
 */
export let varintValue = 0;
export let varintPos = 0;

/** Decodes a varint64 at buf[pos] (not past `limit`); returns false on truncation/overflow. */
export function getVarint(buf: Uint8Array, pos: number, limit: number): boolean {
  let result = 0;
  let mul = 1;
  for (let i = 0; i < 8; i++) {
    if (pos >= limit) return false;
    const b = buf[pos++]!;
    result += (b & 0x7f) * mul;
    if (b < 0x80) {
      varintValue = result;
      varintPos = pos;
      return true;
    }
    mul *= 128;
  }
  return false; // > 2^56: not a value we ever write
}

export function encodeBlockHandle(buf: Uint8Array, pos: number, h: BlockHandle): number {
  return putVarint(buf, putVarint(buf, pos, h.offset), h.size);
}

export function blockHandleBytes(h: BlockHandle): Uint8Array {
  const buf = new Uint8Array(20);
  return buf.slice(0, encodeBlockHandle(buf, 0, h));
}

/** Decodes a block handle at buf[pos..limit); undefined if malformed. */
export function decodeBlockHandle(buf: Uint8Array, pos: number, limit: number): { handle: BlockHandle; pos: number } | undefined {
  if (!getVarint(buf, pos, limit)) return undefined;
  const offset = varintValue;
  if (!getVarint(buf, varintPos, limit)) return undefined;
  return { handle: { offset, size: varintValue }, pos: varintPos };
}

// ---------------------------------------------------------------------------------
// Block trailer.

export function blockChecksum(stored: Uint8Array, type: number): number {
  const typeByte = TYPE_BYTE;
  typeByte[0] = type;
  return maskCrc(crc32c(typeByte, crc32c(stored)));
}
const TYPE_BYTE = new Uint8Array(1);

export function writeBlockTrailer(buf: Uint8Array, pos: number, stored: Uint8Array, type: number): void {
  buf[pos] = type;
  writeU32(buf, pos + 1, blockChecksum(stored, type));
}

// ---------------------------------------------------------------------------------
// Footer.

export interface Footer {
  metaindex: BlockHandle;
  index: BlockHandle;
  version: number;
}

export function encodeFooter(f: Footer): Uint8Array {
  const buf = new Uint8Array(FOOTER_BYTES);
  const end = encodeBlockHandle(buf, encodeBlockHandle(buf, 0, f.metaindex), f.index);
  assert(end <= FOOTER_HANDLES_BYTES, 'footer handles too large');
  writeU32(buf, 40, f.version);
  writeU32(buf, 44, maskCrc(crc32c(buf.subarray(0, 44))));
  buf.set(MAGIC, 48);
  return buf;
}

/** Parses and validates the footer found at fileOffset of fileName. */
export function decodeFooter(buf: Uint8Array, fileName: string, fileOffset: number): Footer {
  if (buf.length !== FOOTER_BYTES) throw new CorruptionError(fileName, fileOffset, `footer is ${buf.length} bytes, expected ${FOOTER_BYTES}`);
  for (let i = 0; i < 8; i++) {
    if (buf[48 + i] !== MAGIC[i]) throw new CorruptionError(fileName, fileOffset + 48, 'bad magic: not a weir sstable (or truncated)');
  }
  const stored = readU32(buf, 44);
  const actual = maskCrc(crc32c(buf.subarray(0, 44)));
  if (stored !== actual) throw new CorruptionError(fileName, fileOffset, `footer checksum mismatch (stored ${stored.toString(16)}, computed ${actual.toString(16)})`);
  const version = readU32(buf, 40);
  if (version !== FORMAT_VERSION && version !== FORMAT_VERSION_MERGE) throw new CorruptionError(fileName, fileOffset + 40, `unsupported format version ${version}`);
  const m = decodeBlockHandle(buf, 0, FOOTER_HANDLES_BYTES);
  const i = m && decodeBlockHandle(buf, m.pos, FOOTER_HANDLES_BYTES);
  if (!m || !i) throw new CorruptionError(fileName, fileOffset, 'malformed block handle in footer');
  return { metaindex: m.handle, index: i.handle, version };
}

// ---------------------------------------------------------------------------------
// Little-endian u32 helpers (manual shifts beat DataView for single reads, measured
// 14 ns vs 19 ns in research/lsm-notes.md).

export function writeU32(buf: Uint8Array, pos: number, v: number): void {
  buf[pos] = v & 0xff;
  buf[pos + 1] = (v >>> 8) & 0xff;
  buf[pos + 2] = (v >>> 16) & 0xff;
  buf[pos + 3] = (v >>> 24) & 0xff;
}

export function readU32(buf: Uint8Array, pos: number): number {
  return (buf[pos]! | (buf[pos + 1]! << 8) | (buf[pos + 2]! << 16) | (buf[pos + 3]! << 24)) >>> 0;
}

/**
 * Per-block compression codecs of the sstable format (sstable/format.ts): the block
 * trailer's type byte says which codec produced the stored bytes. All calls are
 * synchronous (reads in weir are synchronous; writers run on a worker thread).
 *
 *   none   = 0
 *   snappy = 1   npm `snappy` (napi-rs over the Rust snap crate): compressSync / uncompressSync
 *   lz4    = 4   npm `lz4-napi` (lz4_flex): compressSync / uncompressSync; the stored
 *                bytes start with the uncompressed size as u32 LE (lz4_flex "prepend size")
 *
 * A block is stored compressed only if that saves at least 12.5% (LevelDB's rule):
 * otherwise the reader would pay decompression for little space.
 *
 * Default codec chosen by measurement: see DEFAULT_COMPRESSION below for the numbers.
 */
import { createRequire } from 'node:module';
import { assert } from '../util/assert.ts';

export type CompressionName = 'none' | 'snappy' | 'lz4';

export const COMPRESSION_NONE = 0;
export const COMPRESSION_SNAPPY = 1;
export const COMPRESSION_LZ4 = 4;

/*
 * Measured with `node --import tsx bench/lsm/compression.ts` (2000 data blocks of ~4 KiB,
 * 16-byte user keys, ~90-byte msgpack values; best of 7 passes; 2 vCPU shared, Node 20):
 *
 *   codec   stored/raw   compress            decompress
 *   none    1.000        —                   —
 *   snappy  0.460        780 MB/s, 5.3 µs    1.25 GB/s, 3.3 µs per block
 *   lz4     0.453        740 MB/s, 5.6 µs    2.0–2.1 GB/s, 2.0 µs per block
 *
 * Same ratio and compression cost; lz4 decompresses ~1.6× faster, and decompression
 * is on the read path (every block-cache miss) while compression runs on the flush /
 * compaction worker. Halving the bytes also halves what incremental checkpoints upload.
 * bench/lsm/sstable.ts agrees on the read path: 1M-entry table, 8 MiB block cache (93%
 * misses, file in the OS page cache), point gets per CPU-second: none 111k, lz4 81k,
 * snappy 37k. lz4 costs ~3 µs per block miss and halves the file (116 → 56 MB).
 * So the default is lz4.
 */
export const DEFAULT_COMPRESSION: CompressionName = 'lz4';

interface SnappyModule {
  compressSync(input: Uint8Array): Buffer;
  uncompressSync(input: Uint8Array, options?: { asBuffer?: boolean }): Buffer | string;
}
interface Lz4Module {
  compressSync(input: Buffer): Buffer;
  uncompressSync(input: Uint8Array): Buffer;
}

// Loaded lazily: a store with compression 'none' never loads the native addons.
const require = createRequire(import.meta.url);
let snappyModule: SnappyModule | undefined;
let lz4Module: Lz4Module | undefined;
function snappy(): SnappyModule {
  return (snappyModule ??= require('snappy') as SnappyModule);
}
function lz4(): Lz4Module {
  return (lz4Module ??= require('lz4-napi') as Lz4Module);
}

export function compressionType(name: CompressionName): number {
  switch (name) {
    case 'none':
      return COMPRESSION_NONE;
    case 'snappy':
      return COMPRESSION_SNAPPY;
    case 'lz4':
      return COMPRESSION_LZ4;
  }
}

export function compressionName(type: number): CompressionName | undefined {
  return type === COMPRESSION_NONE ? 'none' : type === COMPRESSION_SNAPPY ? 'snappy' : type === COMPRESSION_LZ4 ? 'lz4' : undefined;
}

function asBuffer(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** Compresses with `type`; returns undefined when the result is not at least 12.5% smaller. */
export function compressBlock(type: number, raw: Uint8Array): Uint8Array | undefined {
  let out: Uint8Array;
  if (type === COMPRESSION_NONE) return undefined;
  else if (type === COMPRESSION_SNAPPY) out = snappy().compressSync(asBuffer(raw));
  else if (type === COMPRESSION_LZ4) out = lz4().compressSync(asBuffer(raw));
  else throw new RangeError(`unknown compression type ${type}`);
  return out.length <= raw.length - (raw.length >>> 3) ? out : undefined;
}

/** Decompresses stored bytes of codec `type`; throws (plain Error) on malformed input. */
export function decompressBlock(type: number, stored: Uint8Array): Uint8Array {
  if (type === COMPRESSION_SNAPPY) {
    const out = snappy().uncompressSync(asBuffer(stored), { asBuffer: true });
    assert(typeof out !== 'string', 'snappy returned a string');
    return out;
  }
  if (type === COMPRESSION_LZ4) return lz4().uncompressSync(asBuffer(stored));
  throw new RangeError(`unknown compression type ${type}`);
}

/**
 * Measures the sstable block codecs (src/lsm/compression.ts) on realistic data blocks:
 * internal keys of 2-byte key group + state id + 8-byte id (16-byte user keys), values
 * of ~100 bytes of msgpack (partly repetitive records), 4 KiB blocks, restart interval 16.
 *
 *   node --import tsx bench/lsm/compression.ts [--json] [--blocks N]
 *
 * Prints ratio (stored/raw), compress and decompress throughput (MB/s of raw bytes),
 * and the per-block cost, side by side for none / snappy / lz4.
 */
import { pack } from 'msgpackr';
import { BlockBuilder } from '../../src/lsm/sstable/block-builder.ts';
import { compressBlock, decompressBlock, compressionType, type CompressionName } from '../../src/lsm/compression.ts';
import { encodeInternalKey, ValueKind } from '../../src/lsm/internal-key.ts';

const args = process.argv.slice(2);
const json = args.includes('--json');
const blocksArg = args.indexOf('--blocks');
const nBlocks = blocksArg >= 0 ? Number(args[blocksArg + 1]) : 2000;

// Deterministic PRNG (mulberry32) so every run measures the same bytes.
let seed = 42;
function rand(): number {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const cities = ['Berlin', 'Lisbon', 'Osaka', 'Lagos', 'Lima', 'Austin', 'Perth', 'Oslo'];
function makeValue(id: number): Uint8Array {
  // ~100 bytes of msgpack: field names repeat in every value, some fields are random.
  const v = pack({
    id,
    name: `user-${id}`,
    city: cities[Math.floor(rand() * cities.length)],
    count: Math.floor(rand() * 10000),
    sum: Math.round(rand() * 1e6) / 100,
    last: 1_700_000_000_000 + Math.floor(rand() * 1e9),
    tags: ['a', 'b'],
    ok: rand() < 0.5,
  });
  return v;
}

function makeBlocks(): Uint8Array[] {
  const blocks: Uint8Array[] = [];
  const b = new BlockBuilder(16);
  const user = new Uint8Array(16);
  let id = 0;
  let seq = 1;
  for (let kg = 0; blocks.length < nBlocks; kg++) {
    user[0] = (kg >>> 8) & 0xff;
    user[1] = kg & 0xff;
    user[2] = 1; // state id
    for (let j = 0; j < 40 && blocks.length < nBlocks; j++) {
      id += 1 + Math.floor(rand() * 50);
      new DataView(user.buffer).setBigUint64(3, BigInt(id));
      b.add(encodeInternalKey(user, seq++, ValueKind.Put), makeValue(id));
      if (b.estimatedSize >= 4096) {
        blocks.push(b.finish().slice());
        b.reset();
      }
    }
  }
  return blocks;
}

interface Row {
  codec: CompressionName;
  ratio: number;
  compressMBps: number;
  decompressMBps: number;
  compressUsPerBlock: number;
  decompressUsPerBlock: number;
  storedCompressed: number;
}

/** Best of `rounds` timed passes (the machine is shared: the minimum is the least disturbed). */
function bestMs(rounds: number, fn: () => void): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

function measure(blocks: Uint8Array[], codec: CompressionName): Row {
  const type = compressionType(codec);
  const raw = blocks.reduce((s, b) => s + b.length, 0);
  const outs = blocks.map((b) => compressBlock(type, b));
  const stored = outs.reduce((s, c, i) => s + (c ? c.length : blocks[i]!.length), 0);
  const compressedCount = outs.filter((c) => c !== undefined).length;
  let check = 0;
  const compressMs = bestMs(7, () => {
    for (const b of blocks) compressBlock(type, b);
  });
  const decompressMs = bestMs(7, () => {
    check = 0;
    for (let i = 0; i < outs.length; i++) {
      const c = outs[i];
      check += c ? decompressBlock(type, c).length : blocks[i]!.length;
    }
  });
  if (check !== raw) throw new Error('decompressed size mismatch');
  return {
    codec,
    ratio: stored / raw,
    compressMBps: raw / 1e6 / (compressMs / 1000),
    decompressMBps: raw / 1e6 / (decompressMs / 1000),
    compressUsPerBlock: (compressMs * 1000) / blocks.length,
    decompressUsPerBlock: (decompressMs * 1000) / blocks.length,
    storedCompressed: compressedCount / blocks.length,
  };
}

const blocks = makeBlocks();
const valueBytes = makeValue(123456).length;
const rows = (['none', 'snappy', 'lz4'] as const).map((c) => measure(blocks, c));
if (json) {
  console.log(JSON.stringify({ blocks: blocks.length, blockBytes: 4096, valueBytes, rows }, null, 2));
} else {
  console.log(`${blocks.length} blocks of ~4 KiB (16-byte keys, ${valueBytes}-byte msgpack values)`);
  console.log('codec    ratio  compress MB/s  decompress MB/s  µs/block c  µs/block d  blocks compressed');
  for (const r of rows) {
    const mbps = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '—');
    console.log(
      `${r.codec.padEnd(7)}  ${r.ratio.toFixed(3)}  ${mbps(r.compressMBps).padStart(13)}  ${mbps(r.decompressMBps).padStart(15)}  ${r.compressUsPerBlock.toFixed(2).padStart(10)}  ${r.decompressUsPerBlock.toFixed(2).padStart(10)}  ${(r.storedCompressed * 100).toFixed(0)}%`,
    );
  }
}

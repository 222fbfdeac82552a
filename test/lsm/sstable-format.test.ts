// The on-disk format is a contract with every table already written: a golden file
// pins it byte for byte, and a corruption test proves that damage anywhere is caught.
// Regenerate the golden file (only when the format version changes!) with
//   WEIR_UPDATE_GOLDEN=1 node --import tsx --test test/lsm/sstable-format.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableWriter, TableReader, BlockCache } from '../../src/lsm/sstable/index.ts';
import { encodeInternalKey, ValueKind } from '../../src/lsm/internal-key.ts';
import { CorruptionError } from '../../src/util/errors.ts';
import { toHex } from '../../src/util/bytes.ts';

const GOLDEN = new URL('./testdata/sstable-v1-golden.sst', import.meta.url);
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A small fixed table: 2 data blocks, a point delete, two versions of a key, a range tombstone. */
function buildGolden(): Uint8Array {
  const w = new TableWriter({ blockSize: 64, restartInterval: 2, bloomBitsPerKey: 10, compression: 'none', creationTime: 1_700_000_000_000, creator: 'golden' });
  const rows: [string, number, ValueKind, string][] = [
    ['apple', 7, ValueKind.Put, 'red'],
    ['apple', 3, ValueKind.Put, 'green'],
    ['apricot', 5, ValueKind.Delete, ''],
    ['banana', 2, ValueKind.Put, 'yellow'],
    ['cherry', 9, ValueKind.Put, 'dark red'],
    ['date', 1, ValueKind.Put, 'brown'],
  ];
  for (const [k, seq, kind, v] of rows) w.add(encodeInternalKey(enc.encode(k), seq, kind), enc.encode(v));
  w.addRangeTombstone(enc.encode('b'), enc.encode('c'), 4);
  return w.finish().bytes.slice();
}

/** xxd-style hexdump: "offset: 16 bytes hex". */
function hexdump(bytes: Uint8Array, base: number): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 16) {
    const row = toHex(bytes.subarray(i, i + 16)).replace(/(..)/g, '$1 ').trim();
    lines.push(`${(base + i).toString(16).padStart(8, '0')}: ${row}`);
  }
  return lines.join('\n');
}

test('golden: the format of a fixed table is stable byte for byte', () => {
  const bytes = buildGolden();
  if (process.env.WEIR_UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, bytes);
  const golden = new Uint8Array(readFileSync(GOLDEN));
  assert.equal(toHex(bytes), toHex(golden), 'sstable bytes differ from test/lsm/testdata/sstable-v1-golden.sst: the on-disk format changed');

  // The footer, readable (format.ts "FOOTER"):
  //   93 05 51      metaindex handle: offset varint 0x293 = 659, size 0x51 = 81 (+5 trailer)
  //   e9 05 30      index handle:     offset varint 0x2e9 = 745, size 0x30 = 48
  //   00 …          zero padding to 40 bytes
  //   01 00 00 00   format version 1 (u32 LE)
  //   3c c9 eb d4   masked CRC-32C of the 44 bytes before it (u32 LE)
  //   77 … 01       magic "weirSST\x01"
  const footerOffset = golden.length - 56;
  assert.equal(footerOffset, 798);
  assert.equal(
    hexdump(golden.subarray(footerOffset), footerOffset),
    [
      '0000031e: 93 05 51 e9 05 30 00 00 00 00 00 00 00 00 00 00',
      '0000032e: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00',
      '0000033e: 00 00 00 00 00 00 00 00 01 00 00 00 3c c9 eb d4',
      '0000034e: 77 65 69 72 53 53 54 01',
    ].join('\n'),
  );

  const r = TableReader.fromBytes(golden, 'golden.sst', new BlockCache(1 << 16));
  assert.deepEqual(
    r.layout().map((x) => `${x.kind}@${x.offset}+${x.size}`),
    ['data@0+87', 'data@87+58', 'filter@145+14', 'range-del@159+26', 'properties@185+474', 'metaindex@659+86', 'index@745+53', 'footer@798+56'],
  );
  // And it reads back as the rows that were written.
  assert.equal(dec.decode(r.get(enc.encode('apple'), 100)!.value), 'red');
  assert.equal(dec.decode(r.get(enc.encode('apple'), 6)!.value), 'green');
  assert.equal(r.get(enc.encode('apricot'), 100)!.kind, ValueKind.Delete);
  assert.equal(r.get(enc.encode('apple'), 2), undefined);
  assert.deepEqual(r.rangeTombstones().map((t) => [dec.decode(t.start), dec.decode(t.end), t.seq]), [['b', 'c', 4]]);
  assert.equal(r.properties.creator, 'golden');
  assert.equal(r.properties.creationTime, 1_700_000_000_000);
  assert.equal(dec.decode(r.properties.smallestKey), 'apple');
  assert.equal(dec.decode(r.properties.largestKey), 'date');
});

/** Opens the table from a file and reads everything in it (every data block). */
function openAndReadAll(path: string, fileSize: number | undefined): void {
  const r = TableReader.open(path, 'victim.sst', fileSize, new BlockCache(1 << 20));
  try {
    const it = r.iterator();
    for (it.seekToFirst(); it.valid; it.next()) {
      // touch every entry
    }
  } finally {
    r.close();
  }
}

function expectCorruption(fn: () => void, offset: number | undefined, what: string): CorruptionError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof CorruptionError, `${what}: expected CorruptionError, got ${String(caught)}`);
  assert.equal(caught.file, 'victim.sst', what);
  if (offset !== undefined) assert.equal(caught.offset, offset, `${what}: ${caught.message}`);
  assert.match(caught.message, /victim\.sst/);
  return caught;
}

test('corruption: a flipped byte in every block type, and truncation, raise CorruptionError naming the file and offset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-sst-corrupt-'));
  try {
    // A table with every block type, compressed data blocks included.
    const w = new TableWriter({ blockSize: 256, compression: 'snappy' });
    for (let i = 0; i < 200; i++) w.add(encodeInternalKey(enc.encode(`key-${String(i).padStart(4, '0')}`), i + 1, ValueKind.Put), enc.encode(`v${i}`.repeat(8)));
    w.addRangeTombstone(enc.encode('key-0010'), enc.encode('key-0020'), 500);
    const good = w.finish().bytes.slice();
    const path = join(dir, 'victim.sst');
    writeFileSync(path, good);
    openAndReadAll(path, good.length); // sanity: the intact table reads

    const layout = TableReader.fromBytes(good, 'victim.sst', new BlockCache(0)).layout();
    const kinds = new Set(layout.map((r) => r.kind));
    for (const k of ['data', 'filter', 'range-del', 'properties', 'metaindex', 'index', 'footer'] as const) assert.ok(kinds.has(k), `table has a ${k} block`);

    // verifyChecksums() finds a damaged data block without a scan through the cache.
    const firstData = layout.find((x) => x.kind === 'data')!;
    const damaged = good.slice();
    damaged[firstData.offset + 3]! ^= 0x01;
    const v = TableReader.fromBytes(damaged, 'victim.sst', new BlockCache(1 << 20));
    expectCorruption(() => v.verifyChecksums(), firstData.offset, 'verifyChecksums');
    TableReader.fromBytes(good, 'victim.sst', new BlockCache(0)).verifyChecksums();

    let cases = 0;
    for (const region of layout) {
      // Flip a byte at the start, in the middle, and in the trailer (type/CRC) or magic.
      for (const at of [0, region.size >> 1, region.size - 1]) {
        const bad = good.slice();
        bad[region.offset + at]! ^= 0x40;
        writeFileSync(path, bad);
        const err = expectCorruption(() => openAndReadAll(path, bad.length), undefined, `${region.kind} @+${at}`);
        if (region.kind === 'footer') {
          assert.ok(err.offset! >= region.offset && err.offset! < region.offset + region.size, `footer error offset ${err.offset}`);
        } else {
          assert.equal(err.offset, region.offset, `${region.kind} @+${at}: ${err.message}`);
        }
        cases++;
      }
    }
    assert.ok(cases >= 3 * 9);

    // Truncation: the manifest's size says more than the file has (short read), or the
    // size is taken from the truncated file (the footer is gone: bad magic or too short).
    for (const cut of [1, 5, 56, 57, good.length >> 1, good.length - 1]) {
      writeFileSync(path, good.subarray(0, good.length - cut));
      expectCorruption(() => openAndReadAll(path, good.length), good.length - 56, `truncated by ${cut}, recorded size`);
      expectCorruption(() => openAndReadAll(path, undefined), undefined, `truncated by ${cut}, actual size`);
    }
    writeFileSync(path, new Uint8Array(0));
    expectCorruption(() => openAndReadAll(path, undefined), 0, 'empty file');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

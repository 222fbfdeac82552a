/**
 * Flushes and compactions stream their tables to the file (TableWriter.toFile) instead
 * of building them in memory: the file is byte for byte what the in-memory writer
 * builds, it is written in chunks while entries are added (not at the end), and a
 * failure removes the temp file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TableWriter, TableReader, BlockCache } from '../../src/lsm/sstable/index.ts';
import { encodeInternalKey, ValueKind } from '../../src/lsm/internal-key.ts';
import { ErrorFs, LoggingFs, onNth, realFs } from '../../src/lsm/vfs/index.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const N = 20_000; // ~2.4 MB of entries: several 256 KiB chunks
const opts = { blockSize: 4096, compression: 'none' as const, creationTime: 1, creator: 't' };
const key = (i: number): Uint8Array => encodeInternalKey(enc(`key${String(i).padStart(8, '0')}`), i + 1, ValueKind.Put);
const value = (i: number): Uint8Array => enc(`value-${i}-${'x'.repeat(100)}`);

function tmp(): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'weir-sst-stream-'));
}

test('a streamed table is byte for byte the in-memory one, written in chunks as entries arrive', () => {
  const dir = tmp();
  try {
    const mem = new TableWriter(opts);
    for (let i = 0; i < N; i++) mem.add(key(i), value(i));
    const expected = mem.finish();

    const path = join(dir, '000001.sst');
    const fs = new LoggingFs(realFs, dir);
    const w = TableWriter.toFile(path, fs, opts);
    let writesBeforeFinish = 0;
    for (let i = 0; i < N; i++) {
      w.add(key(i), value(i));
      if (i === N - 1) writesBeforeFinish = fs.ops.filter((o) => o.kind === 'write').length;
    }
    const r = w.finishToFile();
    assert.ok(writesBeforeFinish >= 5, `streamed while adding (${writesBeforeFinish} writes before finish)`);
    assert.equal(r.size, expected.bytes.length);
    assert.equal(r.bytes.length, 0, 'a streaming writer keeps no copy of the file');
    assert.deepEqual(new Uint8Array(readFileSync(path)), expected.bytes);
    assert.deepEqual(readdirSync(dir), ['000001.sst']);
    const reader = TableReader.open(path, '000001.sst', r.size, new BlockCache(1 << 20));
    assert.equal(reader.properties.pointEntries, N);
    reader.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed write while streaming removes the temp file', () => {
  const dir = tmp();
  try {
    const fs = new ErrorFs(realFs, onNth(3, (op) => op.kind === 'write'));
    const w = TableWriter.toFile(join(dir, '000002.sst'), fs, opts);
    assert.throws(() => {
      try {
        for (let i = 0; i < N; i++) w.add(key(i), value(i));
        w.finishToFile();
      } catch (err) {
        w.abort();
        throw err;
      }
    }, /injected EIO: write/);
    assert.deepEqual(readdirSync(dir), [], 'no temp file left');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

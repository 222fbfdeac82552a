/**
 * How a compaction folds merge operands (run-compaction.ts), on hand-made input tables:
 * onto a Put or Delete in its inputs, onto nothing when no deeper file may hold the key,
 * and into ONE Merge operand otherwise — including when an input range tombstone covers
 * the key but no input version lies under it (a deeper file may hold a version newer than
 * that tombstone: tombstones travel with any output file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCompaction } from '../../src/lsm/compaction/run-compaction.ts';
import type { CompactionJob, OtherFile } from '../../src/lsm/compaction/job-types.ts';
import { TableWriter } from '../../src/lsm/sstable/table-writer.ts';
import { TableReader } from '../../src/lsm/sstable/table-reader.ts';
import { BlockCache } from '../../src/lsm/cache/block-cache.ts';
import { encodeInternalKey, ValueKind } from '../../src/lsm/internal-key.ts';
import { realFs } from '../../src/lsm/vfs/real-fs.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Entry { key: string; seq: number; kind: ValueKind; value?: string }
interface Input { level: number; entries: Entry[]; tombstones?: { start: string; end: string; seq: number }[] }

function writeTable(path: string, input: Input): void {
  const w = TableWriter.toFile(path, realFs, { compression: 'none' });
  const sorted = [...input.entries].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : b.seq - a.seq));
  for (const e of sorted) w.add(encodeInternalKey(enc(e.key), e.seq, e.kind), enc(e.value ?? ''));
  for (const t of input.tombstones ?? []) w.addRangeTombstone(enc(t.start), enc(t.end), t.seq);
  w.finishToFile();
}

/** Compacts the inputs into outputLevel 1 with `others` outside; returns the output's entry for key. */
function compactAndGet(inputs: Input[], others: OtherFile[], key: string): { kind: ValueKind; seq: number; value: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'weir-compaction-merge-'));
  try {
    const job: CompactionJob = {
      kind: 'compact',
      inputs: inputs.map((inp, i) => {
        const path = join(dir, `in-${i}.sst`);
        writeTable(path, inp);
        return { path, name: `in-${i}.sst`, level: inp.level };
      }),
      outputLevel: 1,
      outputs: [0, 1].map((i) => ({ number: 100 + i, name: `out-${i}.sst`, path: join(dir, `out-${i}.sst`) })),
      targetFileBytes: 1 << 20,
      table: { blockSize: 4096, restartInterval: 16, bloomBitsPerKey: 10, compression: 'none', creationTime: 0 },
      placeholderKey: enc(key),
      others,
    };
    const result = runCompaction(job, realFs);
    for (const out of result.outputs) {
      const r = TableReader.openSource(realFs.openRead(join(dir, out.name)), out.name, undefined, new BlockCache(1 << 20));
      try {
        const g = r.get(enc(key), Number.MAX_SAFE_INTEGER);
        if (g !== undefined) return { kind: g.kind, seq: g.seq, value: dec(g.value) };
      } finally {
        r.close();
      }
    }
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const deeper: OtherFile = { level: 2, smallest: enc('k0'), largest: enc('k9'), tombstones: [] };
const ops: Entry[] = [
  { key: 'k5', seq: 20, kind: ValueKind.Merge, value: 'c' },
];
const l1ops: Entry[] = [{ key: 'k5', seq: 12, kind: ValueKind.Merge, value: 'b' }];

test('compaction folds operands onto a Put in its inputs', () => {
  const got = compactAndGet([{ level: 0, entries: ops }, { level: 1, entries: [...l1ops, { key: 'k5', seq: 3, kind: ValueKind.Put, value: 'a' }] }], [deeper], 'k5');
  assert.deepEqual(got, { kind: ValueKind.Put, seq: 20, value: 'abc' });
});

test('compaction folds operands onto a Delete in its inputs into a Put of the operands', () => {
  const got = compactAndGet([{ level: 0, entries: ops }, { level: 1, entries: [...l1ops, { key: 'k5', seq: 3, kind: ValueKind.Delete }] }], [deeper], 'k5');
  assert.deepEqual(got, { kind: ValueKind.Put, seq: 20, value: 'bc' });
});

test('compaction folds operands onto an input version hidden by an input tombstone into a Put', () => {
  const got = compactAndGet(
    [{ level: 0, entries: ops, tombstones: [{ start: 'k0', end: 'k9', seq: 8 }] }, { level: 1, entries: [...l1ops, { key: 'k5', seq: 3, kind: ValueKind.Put, value: 'a' }] }],
    [deeper], 'k5',
  );
  assert.deepEqual(got, { kind: ValueKind.Put, seq: 20, value: 'bc' });
});

test('with no base in the inputs and nothing deeper, compaction folds onto nothing (a Put)', () => {
  const got = compactAndGet([{ level: 0, entries: ops }, { level: 1, entries: l1ops }], [], 'k5');
  assert.deepEqual(got, { kind: ValueKind.Put, seq: 20, value: 'bc' });
});

test('with no base in the inputs and a deeper file that may hold the key, compaction writes ONE Merge operand', () => {
  const got = compactAndGet([{ level: 0, entries: ops }, { level: 1, entries: l1ops }], [deeper], 'k5');
  assert.deepEqual(got, { kind: ValueKind.Merge, seq: 20, value: 'bc' });
});

test('a covering input tombstone with no input version under it is not a base when a deeper file may hold the key', () => {
  // The deeper file may hold k5 written after the tombstone (seq 8): the tombstone's file stayed in L1
  // while k5's newer version moved to L2 from another file. A Put here would hide that version.
  const got = compactAndGet([{ level: 0, entries: ops }, { level: 1, entries: l1ops, tombstones: [{ start: 'k0', end: 'k9', seq: 8 }] }], [{ ...deeper, tombstones: [{ start: enc('k0'), end: enc('k9') }] }], 'k5');
  assert.deepEqual(got, { kind: ValueKind.Merge, seq: 20, value: 'bc' });
});

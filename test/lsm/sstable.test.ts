import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { TableWriter, TableReader, BlockCache, type CompressionName } from '../../src/lsm/sstable/index.ts';
import { compareInternalKeys, encodeInternalKey, kindOf, sequenceOf, userKeyOf, ValueKind, seekKey } from '../../src/lsm/internal-key.ts';
import { compareBytes, toHex } from '../../src/util/bytes.ts';
import { AssertionError } from '../../src/util/assert.ts';

interface Entry {
  key: Uint8Array; // internal key
  value: Uint8Array;
}

// Small alphabet: many shared prefixes and versions. Sometimes long keys (past the
// readers' initial 64-byte key buffers) that share a long prefix.
const LONG_PREFIX = new Uint8Array(70).fill(3);
const userKeyArb = fc.oneof(
  { arbitrary: fc.uint8Array({ minLength: 0, maxLength: 6, max: 7 }), weight: 5 },
  { arbitrary: fc.uint8Array({ minLength: 0, maxLength: 80, max: 7 }).map((k) => Uint8Array.from([...LONG_PREFIX.subarray(0, 70 - Math.min(70, k.length)), ...k])), weight: 1 },
);
const entryArb = fc.record({
  user: userKeyArb,
  seq: fc.integer({ min: 0, max: 2 ** 40 }),
  kind: fc.constantFrom(ValueKind.Put, ValueKind.Put, ValueKind.Delete),
  value: fc.uint8Array({ maxLength: 40 }),
});
const tombstoneArb = fc.record({ a: userKeyArb, b: userKeyArb, seq: fc.integer({ min: 0, max: 2 ** 40 }) });
const optionsArb = fc.record({
  blockSize: fc.oneof(fc.integer({ min: 1, max: 600 }), fc.constant(4096)),
  restartInterval: fc.integer({ min: 1, max: 20 }),
  bloomBitsPerKey: fc.constantFrom(0, 1, 10),
  compression: fc.constantFrom<CompressionName>('none', 'snappy', 'lz4'),
});

function buildModel(raw: { user: Uint8Array; seq: number; kind: ValueKind; value: Uint8Array }[]): Entry[] {
  const entries = raw.map((r) => ({ key: encodeInternalKey(r.user, r.seq, r.kind), value: r.value }));
  entries.sort((x, y) => compareInternalKeys(x.key, y.key));
  // Strictly increasing: drop entries with an identical internal key.
  return entries.filter((e, i) => i === 0 || compareInternalKeys(entries[i - 1]!.key, e.key) !== 0);
}

/** Model get: newest entry of userKey with sequence <= seq. */
function modelGet(model: Entry[], user: Uint8Array, seq: number): Entry | undefined {
  return model.find((e) => compareBytes(userKeyOf(e.key), user) === 0 && sequenceOf(e.key) <= seq);
}

function lowerBound(model: Entry[], target: Uint8Array): number {
  let i = 0;
  while (i < model.length && compareInternalKeys(model[i]!.key, target) < 0) i++;
  return i;
}

test('round trip: get / seek / next / prev agree with a sorted-array model (random tables, block sizes, restart intervals, codecs)', () => {
  fc.assert(
    fc.property(
      // Mostly small tables (many block boundaries per entry); sometimes a few hundred
      // entries, so blocks hold several restart runs.
      fc.oneof({ arbitrary: fc.array(entryArb, { maxLength: 120 }), weight: 4 }, { arbitrary: fc.array(entryArb, { minLength: 200, maxLength: 600 }), weight: 1 }),
      fc.array(tombstoneArb, { maxLength: 4 }),
      optionsArb,
      fc.array(fc.record({ user: userKeyArb, seq: fc.integer({ min: 0, max: 2 ** 40 }) }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.constantFrom('next', 'prev'), { maxLength: 30 }),
      (raw, rawTombstones, options, probes, walk) => {
        const model = buildModel(raw);
        const writer = new TableWriter({ ...options, creationTime: 1, creator: 'test' });
        for (const e of model) writer.add(e.key, e.value);
        const tombstones = rawTombstones
          .filter((t) => compareBytes(t.a, t.b) !== 0)
          .map((t) => (compareBytes(t.a, t.b) < 0 ? { start: t.a, end: t.b, seq: t.seq } : { start: t.b, end: t.a, seq: t.seq }));
        for (const t of tombstones) writer.addRangeTombstone(t.start, t.end, t.seq);
        const result = writer.finish();

        const cache = new BlockCache(options.blockSize * 3); // small: exercises eviction too
        const reader = TableReader.fromBytes(result.bytes, 't.sst', cache);

        // Metadata.
        assert.equal(reader.properties.pointEntries, model.length);
        assert.equal(reader.properties.deletions, model.filter((e) => kindOf(e.key) === ValueKind.Delete).length);
        const users = [...model.map((e) => userKeyOf(e.key)), ...tombstones.flatMap((t) => [t.start, t.end])].sort(compareBytes);
        assert.deepEqual(result.smallest, users[0] ?? new Uint8Array(0));
        assert.deepEqual(result.largest, users[users.length - 1] ?? new Uint8Array(0));
        const seqs = [...model.map((e) => sequenceOf(e.key)), ...tombstones.map((t) => t.seq)];
        assert.equal(result.minSeq, seqs.length ? Math.min(...seqs) : 0);
        assert.equal(result.maxSeq, seqs.length ? Math.max(...seqs) : 0);
        const expectTs = [...new Map(tombstones.map((t) => [`${toHex(t.start)}/${toHex(t.end)}/${t.seq}`, t])).values()]
          .sort((x, y) => compareBytes(x.start, y.start) || y.seq - x.seq || compareBytes(x.end, y.end));
        assert.deepEqual(reader.rangeTombstones().map((t) => ({ ...t })), expectTs);
        assert.equal(result.entries, model.length + expectTs.length);

        // Point gets (present keys at their own and later sequences, and random probes).
        const gets = [...probes, ...model.slice(0, 10).map((e) => ({ user: userKeyOf(e.key), seq: sequenceOf(e.key) }))];
        for (const p of gets) {
          const want = modelGet(model, p.user, p.seq);
          const got = reader.get(p.user, p.seq);
          if (!want) assert.equal(got, undefined);
          else {
            assert.ok(got, 'expected an entry');
            assert.equal(got.kind, kindOf(want.key));
            assert.equal(got.seq, sequenceOf(want.key));
            assert.deepEqual(got.value, want.value);
            assert.ok(reader.mayContain(p.user), 'bloom filter false negative');
          }
        }

        // Full scans, both directions.
        const it = reader.iterator();
        const fwd: Entry[] = [];
        for (it.seekToFirst(); it.valid; it.next()) fwd.push({ key: it.key.slice(), value: it.value.slice() });
        assert.deepEqual(fwd, model);
        const bwd: Entry[] = [];
        for (it.seekToLast(); it.valid; it.prev()) bwd.push({ key: it.key.slice(), value: it.value.slice() });
        assert.deepEqual(bwd, [...model].reverse());

        // Seeks followed by a random walk of next/prev.
        const check = (pos: number): void => {
          if (pos < 0 || pos >= model.length) {
            assert.equal(it.valid, false);
            return;
          }
          assert.equal(it.valid, true);
          assert.deepEqual(it.key, model[pos]!.key);
          assert.deepEqual(it.userKey, userKeyOf(model[pos]!.key));
          assert.equal(it.seq, sequenceOf(model[pos]!.key));
          assert.equal(it.kind, kindOf(model[pos]!.key));
          assert.deepEqual(it.value, model[pos]!.value);
        };
        for (const p of probes) {
          const target = seekKey(p.user, p.seq);
          let pos = lowerBound(model, target);
          it.seek(target);
          check(pos);
          for (const step of walk) {
            if (!it.valid) break;
            if (step === 'next') {
              it.next();
              pos++;
            } else {
              it.prev();
              pos--;
            }
            check(pos);
          }
        }
        reader.close();
      },
    ),
    { numRuns: 400 },
  );
});

test('the writer rejects keys out of order or repeated (a broken merge must not produce a table)', () => {
  const w = new TableWriter({ compression: 'none' });
  const k = (u: string, seq: number): Uint8Array => encodeInternalKey(new TextEncoder().encode(u), seq, ValueKind.Put);
  w.add(k('b', 5), new Uint8Array(1));
  assert.throws(() => w.add(k('b', 5), new Uint8Array(1)), AssertionError);
  assert.throws(() => w.add(k('b', 6), new Uint8Array(1)), AssertionError); // newer after older
  assert.throws(() => w.add(k('a', 1), new Uint8Array(1)), AssertionError);
  w.add(k('b', 4), new Uint8Array(1));
  w.add(k('ba', 9), new Uint8Array(1));
  assert.throws(() => w.addRangeTombstone(new Uint8Array([2]), new Uint8Array([1]), 1), AssertionError);
  assert.equal(w.finish().entries, 3);
});

test('finishToFile writes the table durably and the reader opens it by path and by fd, reading through the cache', () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-sst-'));
  try {
    const w = new TableWriter({ blockSize: 512, compression: 'lz4' });
    const enc = new TextEncoder();
    const N = 3000;
    for (let i = 0; i < N; i++) {
      w.add(encodeInternalKey(enc.encode(`user-${String(i).padStart(6, '0')}`), i + 1, ValueKind.Put), enc.encode(`value ${i} `.repeat(5)));
    }
    const path = join(dir, '000001.sst');
    const res = w.finishToFile(path);
    assert.equal(statSync(path).size, res.bytes.length);
    assert.deepEqual(new Uint8Array(readFileSync(path)), res.bytes);
    const cache = new BlockCache(1 << 20);
    const r = TableReader.open(path, '000001.sst', res.bytes.length, cache);
    for (let i = 0; i < N; i += 97) {
      const got = r.get(enc.encode(`user-${String(i).padStart(6, '0')}`), 1e9);
      assert.equal(new TextDecoder().decode(got?.value), `value ${i} `.repeat(5));
      assert.equal(r.get(enc.encode(`user-${String(i).padStart(6, '0')}`), i), undefined); // written at seq i+1
    }
    const misses = cache.stats.misses;
    r.get(enc.encode('user-000000'), 1e9);
    assert.equal(cache.stats.misses, misses, 'second read of a block is a cache hit');
    assert.ok(r.properties.dataBlocks > 10);
    r.close();
    assert.throws(() => r.get(enc.encode('user-000001'), 1e9), AssertionError);

    // By fd: the caller keeps owning the fd (close() leaves it open).
    const fd = openSync(path, 'r');
    try {
      const byFd = TableReader.open(fd, '000001.sst', undefined, cache);
      assert.equal(byFd.fileSize, res.bytes.length);
      assert.equal(new TextDecoder().decode(byFd.get(enc.encode('user-000042'), 1e9)?.value), 'value 42 '.repeat(5));
      byFd.close();
      assert.equal(fstatSync(fd).size, res.bytes.length, 'fd still open after the reader closed');
    } finally {
      closeSync(fd);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an empty table (no entries, no tombstones) opens and is empty', () => {
  const res = new TableWriter().finish();
  const r = TableReader.fromBytes(res.bytes, 'empty.sst', new BlockCache(0));
  const it = r.iterator();
  it.seekToFirst();
  assert.equal(it.valid, false);
  it.seekToLast();
  assert.equal(it.valid, false);
  it.seek(seekKey(new Uint8Array([1])));
  assert.equal(it.valid, false);
  assert.equal(r.get(new Uint8Array([1]), 10), undefined);
  assert.equal(res.entries, 0);
  assert.equal(r.properties.dataBlocks, 0);
});

test('the writer copies what it needs: callers may reuse their key and value buffers after add()', () => {
  const w = new TableWriter({ blockSize: 64, restartInterval: 3, compression: 'none' });
  const key = new Uint8Array(8 + 8);
  const value = new Uint8Array(20);
  const N = 200;
  for (let i = 0; i < N; i++) {
    key.fill(0);
    new DataView(key.buffer).setUint32(4, i);
    key.set(encodeInternalKey(new Uint8Array(0), i + 1, ValueKind.Put), 8);
    value.fill(i & 0xff);
    w.add(key, value);
  }
  key.fill(0xee);
  value.fill(0xee);
  const r = TableReader.fromBytes(w.finish().bytes, 'reuse.sst', new BlockCache(1 << 20));
  const it = r.iterator();
  let i = 0;
  for (it.seekToFirst(); it.valid; it.next(), i++) {
    assert.equal(new DataView(it.key.buffer, it.key.byteOffset).getUint32(4), i);
    assert.deepEqual(it.value, new Uint8Array(20).fill(i & 0xff));
  }
  assert.equal(i, N);
});

test('values are zero-copy views that stay valid after their block is evicted; keys are valid until the iterator moves', () => {
  const enc = new TextEncoder();
  const w = new TableWriter({ blockSize: 100, compression: 'lz4' });
  for (let i = 0; i < 500; i++) w.add(encodeInternalKey(enc.encode(`k${String(i).padStart(4, '0')}`), 1, ValueKind.Put), enc.encode(`value-${i}`.repeat(3)));
  const cache = new BlockCache(300); // about two blocks
  const r = TableReader.fromBytes(w.finish().bytes, 'views.sst', cache);
  const first = r.get(enc.encode('k0000'), 1)!.value;
  const kept: Uint8Array[] = [];
  const it = r.iterator();
  for (it.seekToFirst(); it.valid; it.next()) kept.push(it.value);
  assert.ok(cache.stats.evictions > 10);
  assert.equal(new TextDecoder().decode(first), 'value-0'.repeat(3));
  kept.forEach((v, i) => assert.equal(new TextDecoder().decode(v), `value-${i}`.repeat(3)));
  // A key view changes when the iterator moves (documented); a copy does not.
  it.seekToFirst();
  const view = it.key;
  const copy = view.slice();
  it.next();
  assert.notDeepEqual(view, copy);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Memtable, DELETE_VLEN, FLUSH_ENTRY_HEADER, FLUSH_MERGE_FLAG, type PointHit } from '../../src/lsm/memtable/memtable.ts';
import { ValueKind } from '../../src/lsm/internal-key.ts';
import { FragmentedTombstones, TombstoneList, type RangeTombstone } from '../../src/lsm/range-tombstones.ts';
import { compareBytes, toHex } from '../../src/util/bytes.ts';

const keyArb = fc.uint8Array({ minLength: 0, maxLength: 4, min: 0, max: 6 });

interface Entry { key: Uint8Array; seq: number; value: Uint8Array | null }

function sortEntries(es: Entry[]): Entry[] {
  return es.slice().sort((a, b) => compareBytes(a.key, b.key) || b.seq - a.seq);
}

test('memtable: ordered iteration both ways, point reads at any sequence, tree invariants', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(keyArb, fc.option(fc.uint8Array({ maxLength: 8 }), { nil: null })), { maxLength: 400 }), (writes) => {
      const m = new Memtable(1);
      const entries: Entry[] = [];
      writes.forEach(([k, v], i) => {
        m.add(k, i + 1, v);
        entries.push({ key: k, seq: i + 1, value: v });
      });
      m.checkInvariants();
      const sorted = sortEntries(entries);
      const c = m.cursor();
      const fwd: string[] = [];
      for (c.seekToFirst(); c.valid; c.next()) fwd.push(`${toHex(c.key)}@${c.seq}`);
      assert.deepEqual(fwd, sorted.map((e) => `${toHex(e.key)}@${e.seq}`));
      const back: string[] = [];
      for (c.seekToLast(); c.valid; c.prev()) back.push(`${toHex(c.key)}@${c.seq}`);
      assert.deepEqual(back, fwd.slice().reverse());
      // Point reads at every sequence: the newest entry with seq <= S.
      const hit: PointHit = { seq: 0, value: null, merge: false, entry: -1 };
      for (let s = 0; s <= writes.length; s += Math.max(1, Math.floor(writes.length / 7))) {
        for (const [k] of writes.slice(0, 20)) {
          const want = sorted.find((e) => compareBytes(e.key, k) === 0 && e.seq <= s);
          const got = m.get(k, s, hit);
          assert.equal(got, want !== undefined);
          if (want) {
            assert.equal(hit.seq, want.seq);
            assert.equal(hit.value === null ? null : toHex(hit.value), want.value === null ? null : toHex(want.value));
          }
        }
      }
      // seekGE / seekLT land on user-key boundaries.
      for (const [k] of writes.slice(0, 10)) {
        c.seekGE(k);
        const ge = sorted.find((e) => compareBytes(e.key, k) >= 0);
        assert.equal(c.valid ? `${toHex(c.key)}@${c.seq}` : null, ge ? `${toHex(ge.key)}@${ge.seq}` : null);
        c.seekLT(k);
        const lt = sorted.filter((e) => compareBytes(e.key, k) < 0).pop();
        assert.equal(c.valid ? `${toHex(c.key)}@${c.seq}` : null, lt ? `${toHex(lt.key)}@${lt.seq}` : null);
      }
    }),
    { numRuns: 300 },
  );
});

test('memtable cursor stays consistent while the memtable is written under it', () => {
  fc.assert(
    fc.property(fc.array(keyArb, { minLength: 1, maxLength: 300 }), fc.array(keyArb, { maxLength: 300 }), fc.boolean(), (first, later, reverse) => {
      const m = new Memtable(1);
      let seq = 0;
      for (const k of first) m.add(k, ++seq, Uint8Array.of(1));
      const readSeq = seq;
      const expected = sortEntries(first.map((k, i) => ({ key: k, seq: i + 1, value: null })))
        .map((e) => `${toHex(e.key)}@${e.seq}`);
      if (reverse) expected.reverse();
      const c = m.cursor();
      if (reverse) c.seekToLast();
      else c.seekToFirst();
      const seen: string[] = [];
      let li = 0;
      // Bounded: every step moves the cursor; at most first.length + later.length steps.
      while (c.valid) {
        if (c.seq <= readSeq) seen.push(`${toHex(c.key)}@${c.seq}`);
        if (li < later.length) m.add(later[li++]!, ++seq, Uint8Array.of(2));
        if (reverse) c.prev();
        else c.next();
      }
      assert.deepEqual(seen, expected);
      m.checkInvariants();
    }),
    { numRuns: 300 },
  );
});

test('flush encoding keeps only the newest version per key and drops what its own range tombstones hide', () => {
  const m = new Memtable(1);
  const k = (s: string): Uint8Array => new TextEncoder().encode(s);
  m.add(k('a'), 1, k('old'));
  m.add(k('a'), 2, k('new'));
  m.add(k('b'), 3, null);
  m.add(k('c'), 4, k('hidden'));
  m.addRangeTombstone(k('c'), k('d'), 5);
  m.add(k('e'), 6, k('e'));
  m.seal();
  assert.throws(() => m.add(k('x'), 7, k('x')), /sealed/);
  const p = m.encodeForFlush();
  const dv = new DataView(p.buffer);
  const bytes = new Uint8Array(p.buffer);
  const got: string[] = [];
  let off = 0;
  for (let i = 0; i < p.count; i++) {
    const kl = dv.getUint32(off, true);
    const vl = dv.getUint32(off + 4, true);
    const seq = dv.getUint32(off + 12, true);
    off += FLUSH_ENTRY_HEADER;
    const key = new TextDecoder().decode(bytes.subarray(off, off + kl));
    off += kl;
    const val = vl === DELETE_VLEN ? '<del>' : new TextDecoder().decode(bytes.subarray(off, off + vl));
    if (vl !== DELETE_VLEN) off += vl;
    got.push(`${key}@${seq}=${val}`);
  }
  assert.equal(off, p.buffer.byteLength);
  assert.deepEqual(got, ['a@2=new', 'b@3=<del>', 'e@6=e']);
  assert.equal(p.tombstones.length, 1);
  assert.equal(p.minSeq, 1);
  assert.equal(p.maxSeq, 6);
});

test('range tombstone index answers the largest covering sequence <= readSeq, like a linear scan', () => {
  const tombArb = fc.record({ start: keyArb, end: keyArb, seq: fc.integer({ min: 1, max: 50 }) });
  fc.assert(
    fc.property(fc.array(tombArb, { maxLength: 40, size: 'max' }), fc.array(fc.tuple(keyArb, fc.integer({ min: 0, max: 55 })), { maxLength: 30, size: 'max' }), (ts, probes) => {
      const idx = new FragmentedTombstones(ts);
      const list = new TombstoneList();
      for (const t of ts) list.add(t);
      const naive = (k: Uint8Array, rs: number): number => {
        let best = 0;
        for (const t of ts as RangeTombstone[]) if (t.seq <= rs && compareBytes(t.start, k) <= 0 && compareBytes(k, t.end) < 0 && t.seq > best) best = t.seq;
        return best;
      };
      for (const [k, rs] of probes) {
        assert.equal(idx.maxCovering(k, rs), naive(k, rs));
        assert.equal(list.maxCovering(k, rs), naive(k, rs));
      }
    }),
    { numRuns: 500 },
  );
});

test('memtable tombstone list (indexed runs + tail): probes between adds and after freeze agree with a linear scan', () => {
  const tombArb = fc.record({ start: keyArb, end: keyArb, seq: fc.integer({ min: 1, max: 400 }) });
  // Sequences increasing (as the store assigns them) or arbitrary (the index must not rely on order).
  fc.assert(
    fc.property(
      fc.array(tombArb, { maxLength: 300, size: 'max' }), fc.boolean(), fc.array(fc.tuple(keyArb, fc.integer({ min: 0, max: 410 })), { minLength: 1, maxLength: 8 }),
      (raw, increasing, probes) => {
        const ts = increasing ? raw.map((t, i) => ({ ...t, seq: i + 1 })) : raw;
        const list = new TombstoneList();
        const naive = (n: number, k: Uint8Array, rs: number): number => {
          let best = 0;
          for (let i = 0; i < n; i++) {
            const t = ts[i]!;
            if (t.seq <= rs && compareBytes(t.start, k) <= 0 && compareBytes(k, t.end) < 0 && t.seq > best) best = t.seq;
          }
          return best;
        };
        for (let i = 0; i < ts.length; i++) {
          list.add(ts[i]!);
          if (i % 7 === 0) for (const [k, rs] of probes) assert.equal(list.maxCovering(k, rs), naive(i + 1, k, rs), `after ${i + 1} adds`);
        }
        const frozen = list.freeze();
        assert.equal(frozen.count, ts.length);
        for (const [k, rs] of probes) {
          assert.equal(frozen.maxCovering(k, rs), naive(ts.length, k, rs), 'frozen');
          assert.equal(frozen.maxCovering(k, Number.MAX_SAFE_INTEGER), naive(ts.length, k, Number.MAX_SAFE_INTEGER), 'frozen, every sequence');
        }
        assert.throws(() => list.add({ start: Uint8Array.of(0), end: Uint8Array.of(1), seq: 1 }));
      },
    ),
    { numRuns: 300 },
  );
});

test('key prefixes order like the bytes they come from (ties fall back to a byte compare)', async () => {
  const { keyPrefix } = await import('../../src/lsm/memtable/compare.ts');
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 9 }), fc.uint8Array({ maxLength: 9 }), (a, b) => {
      const pa = keyPrefix(a);
      const pb = keyPrefix(b);
      if (pa < pb) assert.ok(compareBytes(a, b) < 0);
      if (pa > pb) assert.ok(compareBytes(a, b) > 0);
      assert.ok(Number.isSafeInteger(pa) && pa >= 0);
    }),
    { numRuns: 3000 },
  );
});

/** Keys that share long prefixes (beyond both 6-byte numeric prefixes) and some that differ early. */
const longKeyArb = fc.tuple(fc.integer({ min: 0, max: 3 }), fc.uint8Array({ minLength: 0, maxLength: 6, min: 0, max: 3 })).map(([p, tail]) => {
  const k = new Uint8Array(12 + p + tail.length);
  k.fill(7, 0, 12 + p);
  k.set(tail, 12 + p);
  return k;
});
const anyKeyArb = fc.oneof(keyArb, longKeyArb);

function decodeFlush(p: { buffer: ArrayBuffer; count: number }): string[] {
  const dv = new DataView(p.buffer);
  const bytes = new Uint8Array(p.buffer);
  const out: string[] = [];
  let off = 0;
  for (let i = 0; i < p.count; i++) {
    const kl = dv.getUint32(off, true);
    const vl = dv.getUint32(off + 4, true);
    const seq = dv.getUint32(off + 12, true);
    off += FLUSH_ENTRY_HEADER;
    const key = toHex(bytes.subarray(off, off + kl));
    off += kl;
    const val = vl === DELETE_VLEN ? 'del' : toHex(bytes.subarray(off, off + vl));
    if (vl !== DELETE_VLEN) off += vl;
    out.push(`${key}@${seq}=${val}`);
  }
  assert.equal(off, p.buffer.byteLength);
  return out;
}

test('hash-indexed memtable: cursors opened mid-way (index built in parts), flush in slices, long shared prefixes', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.tuple(anyKeyArb, fc.option(fc.uint8Array({ maxLength: 6 }), { nil: null }), fc.nat(99)), { maxLength: 300 }),
      fc.integer({ min: 1, max: 50 }),
      // Percent of writes followed by a new cursor: rare cursors leave many keys pending (a rebuild), frequent ones insert.
      fc.constantFrom(1, 3, 30),
      async (writes, work, cursorPercent) => {
        const m = new Memtable(1);
        const entries: Entry[] = [];
        const cursors: { c: ReturnType<Memtable['cursor']>; readSeq: number; expected: string[]; seen: string[] }[] = [];
        let seq = 0;
        for (const [k, v, roll] of writes) {
          const openCursor = roll < cursorPercent;
          m.add(k, ++seq, v);
          entries.push({ key: k, seq, value: v });
          if (openCursor) {
            // A new cursor brings the index up to date (one insert each or a rebuild), which
            // changes the index under the cursors opened earlier.
            const c = m.cursor();
            c.seekToFirst();
            cursors.push({ c, readSeq: seq, expected: sortEntries(entries).map((e) => `${toHex(e.key)}@${e.seq}`), seen: [] });
          }
          for (const h of cursors) {
            if (h.c.valid) {
              if (h.c.seq <= h.readSeq) h.seen.push(`${toHex(h.c.key)}@${h.c.seq}`);
              h.c.next();
            }
          }
        }
        for (const h of cursors) {
          for (; h.c.valid; h.c.next()) if (h.c.seq <= h.readSeq) h.seen.push(`${toHex(h.c.key)}@${h.c.seq}`);
          assert.deepEqual(h.seen, h.expected);
        }
        m.checkInvariants();
        // Flush: the newest version per key in key order, whether or not a cursor indexed the keys.
        m.seal();
        let pauses = 0;
        const p = await m.encodeForFlushInSlices(async () => void pauses++, work);
        const newest = new Map<string, Entry>();
        for (const e of entries) newest.set(toHex(e.key), e);
        const want = sortEntries([...newest.values()]).map((e) => `${toHex(e.key)}@${e.seq}=${e.value === null ? 'del' : toHex(e.value)}`);
        assert.deepEqual(decodeFlush(p), want);
        if (newest.size > 2 * work + 32) assert.ok(pauses > 0, 'a large flush with a small slice must yield');
      },
    ),
    { numRuns: 200 },
  );
});

test('hash-indexed memtable at scale: hash growth, large values outside slabs, unindexed flush sorted like a model', () => {
  const m = new Memtable(1);
  const model = new Map<string, { key: Uint8Array; seq: number; value: Uint8Array | null }>();
  let seq = 0;
  let x = 12345;
  const rnd = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let i = 0; i < 20000; i++) {
    const n = rnd() % 3000;
    const key = new Uint8Array(4 + (n % 13));
    new DataView(key.buffer).setUint32(0, n * 2654435761 >>> 0);
    key.fill(n & 0xff, 4);
    const big = i % 997 === 0;
    const value = i % 11 === 0 ? null : new Uint8Array(big ? 70_000 : 1 + (i % 40)).fill(i & 0xff);
    m.add(key, ++seq, value);
    model.set(toHex(key), { key, seq, value });
  }
  const hit: PointHit = { seq: 0, value: null, merge: false, entry: -1 };
  for (const e of model.values()) {
    assert.ok(m.get(e.key, seq, hit));
    assert.equal(hit.seq, e.seq);
    assert.equal(hit.value === null ? null : toHex(hit.value), e.value === null ? null : toHex(e.value));
  }
  assert.equal(m.keyCount, model.size);
  m.seal();
  const got = decodeFlush(m.encodeForFlush());
  const want = [...model.values()].sort((a, b) => compareBytes(a.key, b.key)).map((e) => `${toHex(e.key)}@${e.seq}=${e.value === null ? 'del' : toHex(e.value)}`);
  assert.deepEqual(got, want);
  m.checkInvariants();
});

test('a cursor opened on a sealed memtable while its flush is being sorted does not change what the flush encodes', async () => {
  // Found by the store model: the flush read the ordered index after a cursor had
  // indexed the pending keys, and encoded those keys twice.
  const m = new Memtable(1);
  const k = (s: string): Uint8Array => new TextEncoder().encode(s);
  let seq = 0;
  for (const s of ['m', 'c', 'x']) m.add(k(s), ++seq, k(s));
  m.cursor(); // indexes m, c, x
  for (let i = 0; i < 100; i++) m.add(k(`k${i}`), ++seq, k(`${i}`));
  m.seal();
  let opened = false;
  const p = await m.encodeForFlushInSlices(async () => {
    if (!opened) {
      opened = true;
      const c = m.cursor(); // indexes the 100 pending keys between two slices of the flush
      c.seekToFirst();
      assert.ok(c.valid);
    }
  }, 8);
  assert.ok(opened, 'the flush must have yielded at least once');
  const got = decodeFlush(p).map((s) => s.split('@')[0]!);
  const want = ['m', 'c', 'x', ...Array.from({ length: 100 }, (_, i) => `k${i}`)].map((s) => toHex(k(s))).sort();
  assert.deepEqual(got, want);
});

/** visitForFlush's entries in encodeForFlush's format, to compare the two byte for byte. */
function encodeVisited(m: Memtable): { bytes: Uint8Array; count: number } {
  const parts: number[] = [];
  const count = m.visitForFlush((key, value, seq, kind) => {
    const h = new DataView(new ArrayBuffer(FLUSH_ENTRY_HEADER));
    h.setUint32(0, key.length, true);
    h.setUint32(4, value === undefined ? DELETE_VLEN : value.length, true);
    h.setUint32(8, Math.floor(seq / 0x1_0000_0000) + (kind === ValueKind.Merge ? FLUSH_MERGE_FLAG : 0), true);
    h.setUint32(12, seq >>> 0, true);
    if ((value === undefined) !== (kind === ValueKind.Delete)) throw new Error(`kind ${kind} with value ${String(value)}`);
    parts.push(...new Uint8Array(h.buffer), ...key, ...(value ?? []));
  });
  return { bytes: Uint8Array.from(parts), count };
}

test('a flush image (the flush thread sorts it and streams its entries) encodes byte for byte like the memtable itself', () => {
  // Long shared prefixes (ties after both numeric prefixes), values beyond a slab's quarter
  // (their own slab), versions, deletions, range tombstones, a cursor's partial index.
  const longKey = fc.tuple(fc.constantFrom(0, 1), fc.uint8Array({ minLength: 0, maxLength: 3, min: 0, max: 4 }))
    .map(([p, tail]) => new Uint8Array([...new Uint8Array(12).fill(p), ...tail]));
  const key = fc.oneof(keyArb, longKey);
  const value = fc.oneof(
    { weight: 8, arbitrary: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: null }) },
    { weight: 1, arbitrary: fc.integer({ min: 70_000, max: 90_000 }).map((n) => new Uint8Array(n).fill(n & 0xff)) },
  );
  const op = fc.oneof(
    { weight: 9, arbitrary: fc.tuple(key, value).map(([k, v]) => ({ k, v })) },
    { weight: 2, arbitrary: fc.tuple(key, fc.uint8Array({ minLength: 1, maxLength: 6 })).map(([k, v]) => ({ k, v, merge: true as const })) },
    { weight: 1, arbitrary: fc.tuple(keyArb, keyArb).map(([a, b]) => ({ range: [a, b] as const })) },
    { weight: 1, arbitrary: fc.constant({ cursor: true as const }) },
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const m = new Memtable(7);
      let seq = 0;
      for (const o of ops) {
        if ('cursor' in o) m.cursor();
        else if ('range' in o) {
          if (compareBytes(o.range[0], o.range[1]) < 0) m.addRangeTombstone(o.range[0], o.range[1], ++seq);
        } else m.add(o.k, ++seq, o.v, 'merge' in o);
      }
      m.seal();
      const image = m.flushImage();
      const moved = structuredClone(image, { transfer: [] }); // what postMessage delivers
      const want = m.encodeForFlush();
      const got = Memtable.fromFlushImage(moved).encodeForFlush();
      assert.deepEqual(new Uint8Array(got.buffer), new Uint8Array(want.buffer));
      assert.equal(got.count, want.count);
      assert.deepEqual(got.tombstones, want.tombstones);
      assert.equal(got.minSeq, want.minSeq);
      assert.equal(got.maxSeq, want.maxSeq);
      // What the flush thread streams into the table: the same entries, in the same order.
      const visited = encodeVisited(Memtable.fromFlushImage(structuredClone(image, { transfer: [] })));
      assert.deepEqual(visited.bytes, new Uint8Array(want.buffer));
      assert.equal(visited.count, want.count);
      // And on the memtable itself (merge chains folded by visitForFlush, not by the image).
      const direct = encodeVisited(m);
      assert.deepEqual(direct.bytes, new Uint8Array(want.buffer));
    }),
    { numRuns: 150 },
  );
});

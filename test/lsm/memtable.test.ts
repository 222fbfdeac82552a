import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Memtable, DELETE_VLEN, FLUSH_ENTRY_HEADER, type PointHit } from '../../src/lsm/memtable/memtable.ts';
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
      const hit: PointHit = { seq: 0, value: null };
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
    fc.property(fc.array(tombArb, { maxLength: 40 }), fc.array(fc.tuple(keyArb, fc.integer({ min: 0, max: 55 })), { maxLength: 30 }), (ts, probes) => {
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

test('key prefixes order like the bytes they come from (ties fall back to a byte compare)', async () => {
  const { keyPrefix } = await import('../../src/lsm/memtable/entry-tree.ts');
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

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  keyGroupOf, keyGroupRangeForSubtask, murmur3, subtaskForKeyGroup, defaultMaxParallelism,
} from '../../src/state/key-groups.ts';
import { ConfigError } from '../../src/util/errors.ts';
import {
  float64KeySerializer, int32KeySerializer, msgpackSerializer, stringKeySerializer,
} from '../../src/state/serializers.ts';
import { compareBytes } from '../../src/util/bytes.ts';
import { keyGroupForKey } from '../../src/state/key-group-for-key.ts';
import { lengthPrefixed, parseCell, cellPrefix, readVarint, writeVarint, varintLength, bytesToBinaryString, binaryStringToBytes } from '../../src/state/key-layout.ts';

const enc = new TextEncoder();

test('murmur3 x86_32 matches the reference vectors (seed 0 and 1)', () => {
  const vectors: [string, number][] = [
    ['', 0x00000000],
    ['a', 0x3c2569b2],
    ['ab', 0x9bbfd75f],
    ['abc', 0xb3dd93fa],
    ['abcd', 0x43ed676a],
    ['hello', 0x248bfa47],
    ['test', 0xba6bd213],
    ['Hello, world!', 0xc0363e43],
    ['The quick brown fox jumps over the lazy dog', 0x2e4ff723],
  ];
  for (const [s, h] of vectors) assert.equal(murmur3(enc.encode(s)), h, JSON.stringify(s));
  assert.equal(murmur3(enc.encode('hello'), 1), 0xbb4abcad);
  // Bytes >= 0x80 in the tail and the body (sign handling).
  assert.equal(murmur3(Uint8Array.of(0xff, 0xff, 0xff, 0xff)), murmur3(Uint8Array.of(0xff, 0xff, 0xff, 0xff)));
  assert.ok(murmur3(Uint8Array.of(0xff, 0xfe, 0xfd)) >= 0);
});

test('key-group ranges partition [0, maxP) and agree with subtaskForKeyGroup', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 4096 }), fc.integer({ min: 1, max: 4096 }), (maxP, pRaw) => {
      const p = ((pRaw - 1) % maxP) + 1;
      let expectStart = 0;
      for (let i = 0; i < p; i++) {
        const r = keyGroupRangeForSubtask(maxP, p, i);
        assert.equal(r.start, expectStart, `subtask ${i} starts where ${i - 1} ended`);
        assert.ok(r.end >= r.start, 'non-empty when p <= maxP');
        assert.equal(subtaskForKeyGroup(r.start, maxP, p), i);
        assert.equal(subtaskForKeyGroup(r.end, maxP, p), i);
        expectStart = r.end + 1;
      }
      assert.equal(expectStart, maxP);
    }),
    { numRuns: 200 },
  );
});

test('every key group maps to the subtask whose range holds it (exhaustive, small maxP)', () => {
  for (const maxP of [1, 7, 128, 130]) {
    for (let p = 1; p <= Math.min(maxP, 13); p++) {
      for (let kg = 0; kg < maxP; kg++) {
        const s = subtaskForKeyGroup(kg, maxP, p);
        const r = keyGroupRangeForSubtask(maxP, p, s);
        assert.ok(kg >= r.start && kg <= r.end, `kg ${kg} maxP ${maxP} p ${p}`);
      }
    }
  }
});

test('keyGroupOf is in range and stable for the same serialized key', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.integer({ min: 1, max: 32768 }), (v, maxP) => {
      const b = msgpackSerializer.serialize(v);
      const kg = keyGroupOf(b, maxP);
      assert.ok(kg >= 0 && kg < maxP);
      assert.equal(keyGroupOf(msgpackSerializer.serialize(v), maxP), kg);
    }),
    { numRuns: 200 },
  );
});

test('bad parallelism settings are ConfigErrors', () => {
  assert.throws(() => keyGroupRangeForSubtask(0, 1, 0), ConfigError);
  assert.throws(() => keyGroupRangeForSubtask(128, 129, 0), ConfigError);
  assert.throws(() => keyGroupRangeForSubtask(128, 4, 4), ConfigError);
  assert.throws(() => keyGroupRangeForSubtask(40000, 4, 0), ConfigError);
  assert.equal(defaultMaxParallelism(1), 128);
  assert.equal(defaultMaxParallelism(100), 256);
});

test('order-preserving serializers: byte order = value order, and they round-trip', () => {
  fc.assert(
    fc.property(fc.double(), fc.double(), (a, b) => {
      const ba = float64KeySerializer.serialize(a);
      const bb = float64KeySerializer.serialize(b);
      if (!Number.isNaN(a) && !Number.isNaN(b) && !Object.is(a, b) && a !== b) {
        assert.equal(Math.sign(compareBytes(ba, bb)), a < b ? -1 : 1, `${a} vs ${b}`);
      }
      assert.ok(Object.is(float64KeySerializer.deserialize(ba), a) || (Number.isNaN(a) && Number.isNaN(float64KeySerializer.deserialize(ba))));
    }),
    { numRuns: 500 },
  );
  assert.ok(compareBytes(float64KeySerializer.serialize(-0), float64KeySerializer.serialize(0)) < 0);
  fc.assert(
    fc.property(fc.integer({ min: -0x80000000, max: 0x7fffffff }), fc.integer({ min: -0x80000000, max: 0x7fffffff }), (a, b) => {
      const ba = int32KeySerializer.serialize(a);
      const bb = int32KeySerializer.serialize(b);
      assert.equal(Math.sign(compareBytes(ba, bb)), Math.sign(a - b));
      assert.equal(int32KeySerializer.deserialize(ba), a);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
      const ba = stringKeySerializer.serialize(a);
      const bb = stringKeySerializer.serialize(b);
      const cpA = [...a].map((c) => c.codePointAt(0)!);
      const cpB = [...b].map((c) => c.codePointAt(0)!);
      let expected = 0;
      for (let i = 0; i < Math.min(cpA.length, cpB.length) && expected === 0; i++) expected = Math.sign(cpA[i]! - cpB[i]!);
      if (expected === 0) expected = Math.sign(cpA.length - cpB.length);
      assert.equal(Math.sign(compareBytes(ba, bb)), expected);
      assert.equal(stringKeySerializer.deserialize(ba), a);
    }),
    { numRuns: 300 },
  );
});

test('msgpack serializer: a "__proto__" key round-trips as an own property, never the prototype (msgpackr renamed it "__proto_"; found by the property test below)', () => {
  for (const text of ['{"__proto__":""}', '{"a":[{"__proto__":{"x":1}}],"b":2}', '{"__proto__":[1,{"__proto__":null}]}', '{"words":{"__proto__":3,"the":7}}']) {
    const v = JSON.parse(text);
    const back = msgpackSerializer.deserialize(msgpackSerializer.serialize(v)) as Record<string, unknown>;
    assert.deepEqual(back, JSON.parse(text), text);
    assert.equal(JSON.stringify(back), text);
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
  }
});

test('msgpack serializer round-trips plain objects and gives the same bytes for equal values', () => {
  fc.assert(
    fc.property(fc.jsonValue(), (v) => {
      const b1 = msgpackSerializer.serialize(v);
      const copy = new Uint8Array(b1);
      const b2 = msgpackSerializer.serialize(JSON.parse(JSON.stringify(v)));
      assert.deepEqual(msgpackSerializer.deserialize(b1), JSON.parse(JSON.stringify(v)));
      assert.deepEqual(new Uint8Array(b2), copy);
      // An earlier result stays valid after later serializations (shared output buffer).
      msgpackSerializer.serialize({ filler: 'x'.repeat(100) });
      assert.deepEqual(new Uint8Array(b1), copy);
    }),
    { numRuns: 200 },
  );
});

test('key layout: length-prefixed keys are self-delimiting (no key prefix captures another key)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 20 }), (a, b, ns) => {
      const pa = cellPrefix(3, lengthPrefixed(a), lengthPrefixed(ns));
      const pb = cellPrefix(3, lengthPrefixed(b), lengthPrefixed(ns));
      const isPrefix = pa.length <= pb.length && compareBytes(pb.subarray(0, pa.length), pa) === 0;
      assert.equal(isPrefix, compareBytes(a, b) === 0);
      const parsed = parseCell(pa);
      assert.equal(parsed.stateId, 3);
      assert.deepEqual(new Uint8Array(parsed.key), a);
      assert.deepEqual(new Uint8Array(parsed.namespace), ns);
      assert.equal(parsed.userKeyOffset, pa.length);
    }),
    { numRuns: 300 },
  );
  for (const n of [0, 1, 127, 128, 16383, 16384, 2 ** 31, 2 ** 40]) {
    const buf = new Uint8Array(10);
    const end = writeVarint(buf, 0, n);
    assert.equal(end, varintLength(n));
    assert.deepEqual(readVarint(buf, 0), [n, end]);
  }
});

test('binary strings: one char per byte, round-trip, string order = byte order (short and long)', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1200 }), fc.uint8Array({ maxLength: 1200 }), (a, b) => {
      const sa = bytesToBinaryString(a);
      const sb = bytesToBinaryString(b);
      assert.equal(sa.length, a.length);
      assert.deepEqual(binaryStringToBytes(sa), a);
      const strOrder = sa < sb ? -1 : sa > sb ? 1 : 0;
      assert.equal(strOrder, Math.sign(compareBytes(a, b)));
    }),
    { numRuns: 300 },
  );
});

test('keyGroupForKey (the routing of every keyBy edge) equals keyGroupOf(serialize(key)) for every key and serializer', () => {
  const key = fc.oneof(
    fc.integer(), fc.integer({ min: -(2 ** 31), max: 2 ** 32 }), fc.double(), fc.string(), fc.string({ maxLength: 40, unit: 'grapheme-ascii' }),
    fc.string({ unit: 'grapheme' }), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }), fc.record({ a: fc.integer(), b: fc.string() }),
  );
  for (const maxP of [1, 128, 32768]) {
    fc.assert(fc.property(key, (k) => keyGroupForKey(k, maxP) === keyGroupOf(msgpackSerializer.serialize(k), maxP)), { numRuns: 2000 });
  }
  fc.assert(fc.property(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), (k) =>
    keyGroupForKey(k, 128, int32KeySerializer as never) === keyGroupOf(int32KeySerializer.serialize(k), 128)));
  fc.assert(fc.property(fc.string(), (k) => keyGroupForKey(k, 128, stringKeySerializer as never) === keyGroupOf(stringKeySerializer.serialize(k), 128)));
});

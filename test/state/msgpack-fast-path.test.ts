/**
 * The msgpack serializer's fast path (integers, short ASCII strings) must write exactly
 * the bytes msgpackr writes — key bytes are persisted and hashed for routing — and read
 * back what msgpackr reads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { msgpackSerializer } from '../../src/state/serializers.ts';

const reference = new Packr({ useRecords: false, moreTypes: false });

const edgeNumbers = [
  0, -0, 1, 0x1f, 0x20, 0x3f, 0x40, 0x7f, 0x80, 0xff, 0x100, 0xffff, 0x10000, 0xffff_ffff, 0x1_0000_0000,
  -1, -0x20, -0x21, -0x80, -0x81, -0x8000, -0x8001, -0x8000_0000, -0x8000_0001, 0.5, -1.5, NaN, Infinity, -Infinity,
  Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER,
];

function check(value: unknown): void {
  const fast = msgpackSerializer.serialize(value);
  const ref = reference.pack(value);
  assert.deepEqual([...fast], [...ref], `bytes of ${JSON.stringify(value)}`);
  assert.deepEqual(msgpackSerializer.deserialize(fast), reference.unpack(ref));
}

test('integer edge cases are byte-identical to msgpackr', () => {
  for (const n of edgeNumbers) check(n);
});

test('any number, string or small value is byte-identical to msgpackr and reads back the same', () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.integer({ min: -0x8000_0000, max: 0xffff_ffff }),
        fc.integer(),
        fc.double(),
        fc.string({ maxLength: 300 }),
        fc.string({ unit: 'grapheme', maxLength: 40 }),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.constantFrom('', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(255), 'x'.repeat(256), 'é', '\u007f'),
        fc.boolean(),
        fc.constant(null),
        fc.array(fc.integer(), { maxLength: 4 }),
      ),
      (v) => check(v),
    ),
    { numRuns: 3000 },
  );
});

test('serialized bytes are not overwritten by later calls', () => {
  const a = msgpackSerializer.serialize(1234);
  const b = msgpackSerializer.serialize('hello');
  msgpackSerializer.serialize(99999);
  assert.deepEqual([...a], [0xcd, 0x04, 0xd2]);
  assert.equal(msgpackSerializer.deserialize(b), 'hello');
});

test('bytes with trailing garbage or of other types still go through msgpackr', () => {
  assert.equal(msgpackSerializer.deserialize(Uint8Array.of(0xc0)), null);
  assert.equal(msgpackSerializer.deserialize(Uint8Array.of(0xc3)), true);
  assert.deepEqual(msgpackSerializer.deserialize(reference.pack({ a: 1 })), { a: 1 });
  assert.equal(msgpackSerializer.deserialize(reference.pack(1.5)), 1.5);
});

test('setCurrentKey puts a key in the key group msgpackr bytes + murmur3 give, with the same key bytes', async () => {
  const { createHeapBackend } = await import('../../src/state/heap-backend.ts');
  const { murmur3 } = await import('../../src/state/key-groups.ts');
  const { MemoryStorage } = await import('../../src/storage/memory-storage.ts');
  const maxP = 128;
  const backend = await createHeapBackend({
    operatorId: 'op', subtaskIndex: 0, maxParallelism: maxP, keyGroupRange: { start: 0, end: maxP - 1 },
    storage: new MemoryStorage(), localDir: '/nonexistent',
  });
  try {
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: -0x8000_0000, max: 0xffff_ffff }), fc.string({ maxLength: 200 }), fc.double()), (key) => {
        backend.setCurrentKey(key);
        assert.equal(backend.currentKeyGroup(), murmur3(reference.pack(key)) % maxP);
        assert.equal(backend.getCurrentKey(), key);
      }),
      { numRuns: 2000 },
    );
  } finally {
    await backend.dispose();
  }
});

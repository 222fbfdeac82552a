import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { compareInternalKeys, encodeInternalKey, kindOf, sequenceOf, userKeyOf, ValueKind, MAX_SEQUENCE, seekKey } from '../../src/lsm/internal-key.ts';
import { compareBytes } from '../../src/util/bytes.ts';

test('internal keys round-trip sequence and kind, and order user key asc then sequence desc', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 12 }), fc.integer({ min: 0, max: MAX_SEQUENCE }),
      fc.uint8Array({ maxLength: 12 }), fc.integer({ min: 0, max: MAX_SEQUENCE }),
      (ka, sa, kb, sb) => {
        const a = encodeInternalKey(ka, sa, ValueKind.Put);
        const b = encodeInternalKey(kb, sb, ValueKind.Delete);
        assert.equal(sequenceOf(a), sa);
        assert.equal(kindOf(b), ValueKind.Delete);
        assert.deepEqual(userKeyOf(a), ka);
        const c = compareInternalKeys(a, b);
        const uk = compareBytes(ka, kb);
        if (uk !== 0) assert.equal(Math.sign(c), Math.sign(uk));
        else if (sa !== sb) assert.equal(Math.sign(c), sa > sb ? -1 : 1);
        else assert.ok(c < 0); // same seq: Put (1) sorts before Delete (0)
        // A seek key at sequence S sorts before every entry of the key with seq <= S.
        assert.ok(compareInternalKeys(seekKey(ka, sa), a) <= 0);
      },
    ),
    { numRuns: 2000 },
  );
});

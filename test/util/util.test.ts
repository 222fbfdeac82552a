import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ManualClock } from '../../src/util/clock.ts';
import { compareBytes, prefixSuccessor } from '../../src/util/bytes.ts';

test('ManualClock fires timers in due order, including timers set by timers', () => {
  const clock = new ManualClock(100);
  const fired: string[] = [];
  clock.setTimeout(() => fired.push('b@30'), 30);
  clock.setTimeout(() => {
    fired.push('a@10');
    clock.setTimeout(() => fired.push('c@15'), 5);
  }, 10);
  const cancelled = clock.setTimeout(() => fired.push('never'), 20);
  cancelled.cancel();
  clock.advance(25);
  assert.deepEqual(fired, ['a@10', 'c@15']);
  assert.equal(clock.now(), 125);
  clock.advance(5);
  assert.deepEqual(fired, ['a@10', 'c@15', 'b@30']);
});

test('compareBytes orders by bytes then length; prefixSuccessor bounds a prefix', () => {
  assert.ok(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3)) < 0);
  assert.ok(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0)) < 0);
  assert.equal(compareBytes(Uint8Array.of(9), Uint8Array.of(9)), 0);
  assert.deepEqual(prefixSuccessor(Uint8Array.of(1, 0xff)), Uint8Array.of(2));
  assert.equal(prefixSuccessor(Uint8Array.of(0xff, 0xff)), undefined);
});

import { crc32c, maskCrc, unmaskCrc } from '../../src/util/crc32c.ts';
test('crc32c matches the standard check value and continues across chunks', () => {
  const data = new TextEncoder().encode('123456789');
  assert.equal(crc32c(data), 0xe3069283);
  assert.equal(crc32c(data.subarray(4), crc32c(data.subarray(0, 4))), 0xe3069283);
  assert.equal(unmaskCrc(maskCrc(0xdeadbeef)), 0xdeadbeef);
});

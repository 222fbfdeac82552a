import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bloomHash, leveldbHash, BloomFilter, BloomFilterBuilder } from '../../src/lsm/sstable/bloom.ts';

const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

test('bloom hash is LevelDB Hash (seed 0xbc9f1d34): the vectors of leveldb util/hash_test.cc SignedUnsignedIssue', () => {
  // The filter's bits depend on this hash, so it is part of the file format. LevelDB
  // reads bytes unsigned (RocksDB kept the old signed-char variant, which differs for
  // trailing bytes >= 0x80).
  const data5 = Uint8Array.of(
    0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
    0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  );
  assert.equal(bloomHash(new Uint8Array(0)), 0xbc9f1d34);
  assert.equal(bloomHash(Uint8Array.of(0x62)), 0xef1345c4);
  assert.equal(bloomHash(Uint8Array.of(0xc3, 0x97)), 0x5b663814);
  assert.equal(bloomHash(Uint8Array.of(0xe2, 0x99, 0xa5)), 0x323c078f);
  assert.equal(bloomHash(Uint8Array.of(0xe1, 0x80, 0xb9, 0x32)), 0xed21633a);
  assert.equal(leveldbHash(data5, 0, data5.length, 0x12345678), 0xf333dabb);
  // A sub-range hashes like a copy of that range.
  const buf = bytes('xx\xe1\x80\xb9\x32yy');
  assert.equal(bloomHash(buf, 2, 6), 0xed21633a);
});

function key(i: number): Uint8Array {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, i, true);
  return k;
}

test('bloom filter: no false negatives, false-positive rate <= 2% at 10 bits/key (LevelDB bloom_test VaryingLengths)', () => {
  let mediocre = 0;
  let good = 0;
  for (let length = 1; length <= 10000; length = length < 10 ? length + 1 : length < 100 ? length + 10 : length < 1000 ? length + 100 : length + 1000) {
    const b = new BloomFilterBuilder(10);
    for (let i = 0; i < length; i++) {
      const k = key(i);
      b.addKey(k, 0, k.length);
    }
    const block = b.build();
    assert.ok(block.length <= Math.ceil((length * 10) / 8) + 40, `filter size for ${length}`);
    const f = new BloomFilter(block);
    for (let i = 0; i < length; i++) assert.ok(f.mayContain(key(i)), `false negative: length ${length}, key ${i}`);
    let fp = 0;
    for (let i = 0; i < 10000; i++) if (f.mayContain(key(i + 1_000_000_000))) fp++;
    const rate = fp / 10000;
    assert.ok(rate <= 0.02, `false-positive rate ${rate} at length ${length}`);
    if (rate > 0.0125) mediocre++;
    else good++;
  }
  assert.ok(mediocre * 5 <= good, `${mediocre} mediocre filters vs ${good} good`);
});

test('bloom filter: an empty filter matches nothing; a filter with k > 30 (reserved) matches everything', () => {
  const empty = new BloomFilter(new BloomFilterBuilder(10).build());
  assert.equal(empty.mayContain(bytes('hello')), false);
  const reserved = new Uint8Array(9);
  reserved[8] = 31;
  assert.equal(new BloomFilter(reserved).mayContain(bytes('hello')), true);
});

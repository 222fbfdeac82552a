/**
 * A decoded block (format in sstable/format.ts, "BLOCK") and its iterator.
 *
 * A Block wraps the uncompressed contents of one block. The contents are immutable
 * after construction (never written again, whether the block came from the cache or a
 * fresh read), so views into them stay valid for as long as anyone references them:
 * that is what makes BlockIterator.value zero-copy. Keys, however, are prefix
 * compressed and are rebuilt into the iterator's own reusable buffer: `key` is only
 * valid until the iterator moves.
 *
 * Malformed contents (bad varints, an entry running into the restart array, a shared
 * prefix longer than the previous key) raise CorruptionError naming the file and the
 * block's offset; they can only come from a bug, since the block's CRC was checked.
 */
import { CorruptionError } from '../../util/errors.ts';
import { compareBytesAt, compareInternalAt } from './key-compare.ts';
import { readU32 } from './format.ts';

export class Block {
  readonly data: Uint8Array;
  /** Offset of the restart array inside data. */
  readonly restartsOffset: number;
  readonly numRestarts: number;
  /** For error messages: which file and which block. */
  readonly fileName: string;
  readonly fileOffset: number;

  constructor(data: Uint8Array, fileName: string, fileOffset: number) {
    this.data = data;
    this.fileName = fileName;
    this.fileOffset = fileOffset;
    if (data.length < 4) throw new CorruptionError(fileName, fileOffset, `block of ${data.length} bytes has no restart count`);
    const n = readU32(data, data.length - 4);
    const maxRestarts = (data.length - 4) / 4;
    if (n === 0 || n > maxRestarts) throw new CorruptionError(fileName, fileOffset, `bad restart count ${n} in block of ${data.length} bytes`);
    this.numRestarts = n;
    this.restartsOffset = data.length - 4 - n * 4;
  }

  /** Offset of restart point i (validated lazily by the iterator). */
  restart(i: number): number {
    return readU32(this.data, this.restartsOffset + i * 4);
  }
}

/**
 * Iterates one block. `internalKeys` selects the comparator: internal-key order for
 * data and index blocks, byte order for meta blocks. Reusable: reset(block) points it
 * at another block without allocating.
 */
export class BlockIterator {
  private block!: Block;
  private data!: Uint8Array;
  private restartsOffset = 0;
  private numRestarts = 0;
  private readonly internalKeys: boolean;
  /** Offset of the current entry; === restartsOffset when not valid. */
  private current = 0;
  /** Offset just past the current entry (where the next entry starts). */
  private nextOffset = 0;
  /** Index of the last restart point at or before `current`. */
  private restartIndex = 0;
  private keyBuf = new Uint8Array(64);
  private keyLen = 0;
  private valueOffset = 0;
  private valueLen = 0;

  /*
   * Reverse-iteration cache. Entries are prefix-compressed forward only, so stepping
   * back means re-decoding from the previous restart point. prev() decodes the whole
   * run from that restart point to the current entry once, remembers every entry here,
   * and the following prev() calls within the run just pop (O(1) instead of O(interval)).
   * prevPos = index of the current entry in the cache, -1 when the cache is not in use;
   * every other move (next, seek*, reset) drops it.
   */
  private prevPos = -1;
  private prevRestart = 0;
  private prevOffsets: Int32Array = new Int32Array(32);
  private prevValueOffsets: Int32Array = new Int32Array(32);
  private prevValueLens: Int32Array = new Int32Array(32);
  /** Key j is prevKeys[prevKeyEnds[j-1] (or 0) .. prevKeyEnds[j]). */
  private prevKeyEnds: Int32Array = new Int32Array(32);
  private prevKeys = new Uint8Array(512);

  constructor(block: Block | undefined, internalKeys: boolean) {
    this.internalKeys = internalKeys;
    if (block) this.reset(block);
  }

  reset(block: Block): void {
    this.block = block;
    this.data = block.data;
    this.restartsOffset = block.restartsOffset;
    this.numRestarts = block.numRestarts;
    this.current = this.restartsOffset;
    this.nextOffset = this.restartsOffset;
    this.restartIndex = this.numRestarts;
    this.keyLen = 0;
    this.prevPos = -1;
  }

  get valid(): boolean {
    return this.current < this.restartsOffset;
  }

  /** The current key: a view into a reused buffer, valid until the iterator moves. */
  get key(): Uint8Array {
    return this.keyBuf.subarray(0, this.keyLen);
  }

  /** The key buffer and length, for allocation-free comparisons by the table reader. */
  get keyBuffer(): Uint8Array {
    return this.keyBuf;
  }

  get keyLength(): number {
    return this.keyLen;
  }

  /** The current value: a view into the block's immutable contents (valid while referenced). */
  get value(): Uint8Array {
    return this.data.subarray(this.valueOffset, this.valueOffset + this.valueLen);
  }

  get valueStart(): number {
    return this.valueOffset;
  }

  get valueLength(): number {
    return this.valueLen;
  }

  get blockData(): Uint8Array {
    return this.data;
  }

  seekToFirst(): void {
    this.prevPos = -1;
    this.seekToRestart(0);
    this.parseNext();
  }

  seekToLast(): void {
    this.prevPos = -1;
    this.seekToRestart(this.numRestarts - 1);
    while (this.parseNext() && this.nextOffset < this.restartsOffset) {
      // keep going to the last entry
    }
  }

  next(): void {
    if (!this.valid) throw new RangeError('next() on an invalid block iterator');
    this.prevPos = -1;
    this.parseNext();
  }

  prev(): void {
    if (!this.valid) throw new RangeError('prev() on an invalid block iterator');
    if (this.prevPos > 0) {
      this.loadCached(--this.prevPos);
      return;
    }
    const original = this.current;
    while (this.block.restart(this.restartIndex) >= original) {
      if (this.restartIndex === 0) {
        this.invalidate();
        this.prevPos = -1;
        return;
      }
      this.restartIndex--;
    }
    // Decode the run [restart point, original) once, caching every entry.
    const ri = this.restartIndex;
    this.seekToRestart(ri);
    let n = 0;
    let keyEnd = 0;
    // Bounded: each round decodes one entry and stops at `original`.
    while (this.parseNext()) {
      if (n === this.prevOffsets.length) this.growPrevCache();
      const klen = this.keyLen;
      if (keyEnd + klen > this.prevKeys.length) {
        const next = new Uint8Array(Math.max(keyEnd + klen, this.prevKeys.length * 2));
        next.set(this.prevKeys.subarray(0, keyEnd));
        this.prevKeys = next;
      }
      const pk = this.prevKeys;
      const kb = this.keyBuf;
      for (let i = 0; i < klen; i++) pk[keyEnd + i] = kb[i]!;
      keyEnd += klen;
      this.prevKeyEnds[n] = keyEnd;
      this.prevOffsets[n] = this.current;
      this.prevValueOffsets[n] = this.valueOffset;
      this.prevValueLens[n] = this.valueLen;
      n++;
      if (this.nextOffset >= original) break;
    }
    // The iterator now stands on the last cached entry, the one just before `original`.
    this.prevRestart = ri;
    this.prevPos = n - 1;
  }

  private loadCached(j: number): void {
    const start = j === 0 ? 0 : this.prevKeyEnds[j - 1]!;
    const klen = this.prevKeyEnds[j]! - start;
    if (klen > this.keyBuf.length) this.keyBuf = new Uint8Array(Math.max(klen, this.keyBuf.length * 2));
    const kb = this.keyBuf;
    const pk = this.prevKeys;
    for (let i = 0; i < klen; i++) kb[i] = pk[start + i]!;
    this.keyLen = klen;
    this.current = this.prevOffsets[j]!;
    this.valueOffset = this.prevValueOffsets[j]!;
    this.valueLen = this.prevValueLens[j]!;
    this.nextOffset = this.valueOffset + this.valueLen;
    this.restartIndex = this.prevRestart;
  }

  private growPrevCache(): void {
    const grow = (a: Int32Array): Int32Array => {
      const b = new Int32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.prevOffsets = grow(this.prevOffsets);
    this.prevValueOffsets = grow(this.prevValueOffsets);
    this.prevValueLens = grow(this.prevValueLens);
    this.prevKeyEnds = grow(this.prevKeyEnds);
  }

  /** Positions at the first entry with key >= target[0..targetLen) (invalid if none). */
  seek(target: Uint8Array, targetLen: number = target.length): void {
    this.prevPos = -1;
    const data = this.data;
    const cmp = this.internalKeys ? compareInternalAt : compareBytesAt;
    let left = 0;
    let right = this.numRestarts - 1;
    // Binary search for the last restart point whose key is < target.
    while (left < right) {
      const mid = (left + right + 1) >>> 1;
      const off = this.block.restart(mid);
      if (off >= this.restartsOffset) this.corrupt(`restart point ${mid} at ${off} is past the entries`);
      // At a restart point shared == 0: decode the three varints and compare in place.
      let p = off;
      let shared = 0;
      let unshared = 0;
      let b = data[p++]!;
      if (b < 0x80) shared = b;
      else { p = this.slowVarint(off); shared = this.tmp; }
      b = data[p++]!;
      if (b < 0x80) unshared = b;
      else { p = this.slowVarint(p - 1); unshared = this.tmp; }
      b = data[p++]!;
      if (b >= 0x80) p = this.slowVarint(p - 1);
      if (shared !== 0 || p + unshared > this.restartsOffset) this.corrupt(`bad restart entry at ${off}`);
      if (cmp(data, p, unshared, target, 0, targetLen) < 0) left = mid;
      else right = mid - 1;
    }
    this.seekToRestart(left);
    while (this.parseNext()) {
      if (cmp(this.keyBuf, 0, this.keyLen, target, 0, targetLen) >= 0) return;
    }
  }

  private seekToRestart(i: number): void {
    this.keyLen = 0;
    this.restartIndex = i;
    const off = this.block.restart(i);
    if (off > this.restartsOffset) this.corrupt(`restart point ${i} at ${off} is past the entries`);
    this.nextOffset = off;
  }

  private invalidate(): void {
    this.current = this.restartsOffset;
    this.restartIndex = this.numRestarts;
  }

  private tmp = 0;
  /** Decodes a varint32 at p (multi-byte case); stores it in tmp, returns the next position. */
  private slowVarint(p: number): number {
    const data = this.data;
    const limit = this.restartsOffset;
    let result = 0;
    for (let shift = 0; shift <= 28; shift += 7) {
      if (p >= limit) this.corrupt(`truncated varint at ${p}`);
      const b = data[p++]!;
      result |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.tmp = result >>> 0;
        return p;
      }
    }
    this.corrupt(`varint too long at ${p}`);
  }

  /** Decodes the entry at nextOffset; false (and invalid) at the end of the block. */
  private parseNext(): boolean {
    const p0 = this.nextOffset;
    const limit = this.restartsOffset;
    this.current = p0;
    if (p0 >= limit) {
      this.invalidate();
      return false;
    }
    const data = this.data;
    let p = p0;
    let shared: number;
    let unshared: number;
    let vlen: number;
    // Inline varint32 decode: one byte in the common case.
    let b = data[p++]!;
    if (b < 0x80) shared = b;
    else { p = this.slowVarint(p - 1); shared = this.tmp; }
    b = data[p++]!;
    if (b < 0x80) unshared = b;
    else { p = this.slowVarint(p - 1); unshared = this.tmp; }
    b = data[p++]!;
    if (b < 0x80) vlen = b;
    else { p = this.slowVarint(p - 1); vlen = this.tmp; }
    if (p > limit || shared > this.keyLen || p + unshared + vlen > limit) {
      this.corrupt(`bad entry at ${p0} (shared ${shared}, unshared ${unshared}, value ${vlen})`);
    }
    const klen = shared + unshared;
    if (klen > this.keyBuf.length) {
      const next = new Uint8Array(Math.max(klen, this.keyBuf.length * 2));
      next.set(this.keyBuf.subarray(0, shared));
      this.keyBuf = next;
    }
    const kb = this.keyBuf;
    for (let i = 0; i < unshared; i++) kb[shared + i] = data[p + i]!;
    this.keyLen = klen;
    this.valueOffset = p + unshared;
    this.valueLen = vlen;
    this.nextOffset = this.valueOffset + vlen;
    const n = this.numRestarts;
    while (this.restartIndex + 1 < n && this.block.restart(this.restartIndex + 1) <= p0) this.restartIndex++;
    return true;
  }

  private corrupt(detail: string): never {
    throw new CorruptionError(this.block.fileName, this.block.fileOffset, `block: ${detail}`);
  }
}

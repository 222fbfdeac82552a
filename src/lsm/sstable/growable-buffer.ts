/**
 * An append-only byte buffer that doubles its capacity. The sstable writer reuses one
 * per block (reset() keeps the memory) and one for the whole file, so adding an entry
 * allocates nothing once the buffers have grown to their working size.
 *
 * Owned by exactly one writer; `bytes` is a view valid until the next append/reset.
 *
 * Measured against a list of chunks concatenated at finish (1M entries, 116 MB file):
 * same CPU time, and doubling peaks lower (max RSS 223 MB vs 322 MB), because the
 * finished file is a view of the last buffer instead of one more full-size copy.
 */
import { assert } from '../../util/assert.ts';
import { putVarint } from './format.ts';

export class GrowableBuffer {
  buf: Uint8Array;
  length = 0;

  constructor(initialCapacity = 4096) {
    assert(initialCapacity > 0, 'capacity must be positive');
    this.buf = new Uint8Array(initialCapacity);
  }

  /** Makes room for n more bytes. */
  ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < need) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  append(data: Uint8Array): void {
    this.ensure(data.length);
    this.buf.set(data, this.length);
    this.length += data.length;
  }

  appendRange(data: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    this.buf.set(data.subarray(start, end), this.length);
    this.length += n;
  }

  appendByte(b: number): void {
    this.ensure(1);
    this.buf[this.length++] = b;
  }

  appendU32(v: number): void {
    this.ensure(4);
    const b = this.buf;
    const p = this.length;
    b[p] = v & 0xff;
    b[p + 1] = (v >>> 8) & 0xff;
    b[p + 2] = (v >>> 16) & 0xff;
    b[p + 3] = (v >>> 24) & 0xff;
    this.length = p + 4;
  }

  appendVarint(v: number): void {
    this.ensure(10);
    this.length = putVarint(this.buf, this.length, v);
  }

  /** View of the bytes written so far (valid until the next append or reset). */
  get bytes(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }

  reset(): void {
    this.length = 0;
  }
}

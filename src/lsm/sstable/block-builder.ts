/**
 * Builds one block in the format of sstable/format.ts ("BLOCK"): prefix-compressed
 * entries, a restart point every `restartInterval` entries, then the restart offsets
 * and their count. Keys must be added in strictly increasing order of the block's
 * comparator; the caller (TableWriter) checks the order, this class only encodes.
 *
 * Reused across blocks: reset() keeps the buffers, so steady-state adds do not allocate.
 */
import { assert } from '../../util/assert.ts';
import { GrowableBuffer } from './growable-buffer.ts';

export class BlockBuilder {
  readonly restartInterval: number;
  private readonly out = new GrowableBuffer(8192);
  private restarts = new Uint32Array(64);
  private numRestarts = 0;
  private counter = 0;
  private entries = 0;
  /** The last key added (lastKey[0..lastKeyLen)). */
  private lastKey = new Uint8Array(64);
  private lastKeyLen = 0;
  private finished = false;

  constructor(restartInterval: number) {
    assert(Number.isInteger(restartInterval) && restartInterval >= 1, 'restartInterval must be an integer >= 1');
    this.restartInterval = restartInterval;
    this.reset();
  }

  reset(): void {
    this.out.reset();
    this.numRestarts = 1;
    this.restarts[0] = 0;
    this.counter = 0;
    this.entries = 0;
    this.lastKeyLen = 0;
    this.finished = false;
  }

  get empty(): boolean {
    return this.entries === 0;
  }

  get count(): number {
    return this.entries;
  }

  /** Size of the block if finished now (entries + restart array + count). */
  get estimatedSize(): number {
    return this.out.length + this.numRestarts * 4 + 4;
  }

  /** The last key added: a view valid until the next add/reset. */
  get lastKeyView(): Uint8Array {
    return this.lastKey.subarray(0, this.lastKeyLen);
  }

  add(key: Uint8Array, value: Uint8Array): void {
    assert(!this.finished, 'add after finish');
    let shared = 0;
    if (this.counter < this.restartInterval) {
      const last = this.lastKey;
      const n = this.lastKeyLen < key.length ? this.lastKeyLen : key.length;
      while (shared < n && last[shared] === key[shared]) shared++;
    } else {
      if (this.numRestarts === this.restarts.length) {
        const next = new Uint32Array(this.restarts.length * 2);
        next.set(this.restarts);
        this.restarts = next;
      }
      this.restarts[this.numRestarts++] = this.out.length;
      this.counter = 0;
    }
    const unshared = key.length - shared;
    const out = this.out;
    out.ensure(15 + unshared + value.length);
    const b = out.buf;
    let p = out.length;
    // Three varint32s, inlined (the writer's hot path).
    let v = shared;
    while (v >= 0x80) { b[p++] = (v & 0x7f) | 0x80; v >>>= 7; }
    b[p++] = v;
    v = unshared;
    while (v >= 0x80) { b[p++] = (v & 0x7f) | 0x80; v >>>= 7; }
    b[p++] = v;
    v = value.length;
    while (v >= 0x80) { b[p++] = (v & 0x7f) | 0x80; v >>>= 7; }
    b[p++] = v;
    // Byte loops instead of set(subarray): no view allocation per entry.
    for (let i = shared; i < key.length; i++) b[p++] = key[i]!;
    if (value.length > 32) b.set(value, p);
    else for (let i = 0; i < value.length; i++) b[p + i] = value[i]!;
    out.length = p + value.length;

    if (key.length > this.lastKey.length) {
      const next = new Uint8Array(Math.max(key.length, this.lastKey.length * 2));
      next.set(this.lastKey.subarray(0, shared));
      this.lastKey = next;
    }
    const lk = this.lastKey;
    for (let i = shared; i < key.length; i++) lk[i] = key[i]!;
    this.lastKeyLen = key.length;
    this.counter++;
    this.entries++;
  }

  /** Appends the restart array; returns a view of the finished block (valid until reset). */
  finish(): Uint8Array {
    assert(!this.finished, 'finish twice');
    const out = this.out;
    out.ensure(this.numRestarts * 4 + 4);
    for (let i = 0; i < this.numRestarts; i++) out.appendU32(this.restarts[i]!);
    out.appendU32(this.numRestarts);
    this.finished = true;
    return out.bytes;
  }
}

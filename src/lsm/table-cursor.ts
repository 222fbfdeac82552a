/**
 * Adapts the sstable layer's TableIterator (internal keys, forward/backward) to the
 * read path's InternalCursor (user key + sequence + value-or-deletion). The user-key
 * view and sequence are decoded once per position (a merging heap reads them many
 * times per step).
 */
import type { TableIterator } from './sstable/table-reader.ts';
import type { InternalCursor } from './internal-cursor.ts';
import { MAX_SEQUENCE, seekKey, sequenceOf, TRAILER_BYTES, ValueKind } from './internal-key.ts';

export class TableCursor implements InternalCursor {
  private readonly it: TableIterator;
  private readonly onClose: (() => void) | undefined;
  private closed = false;
  private ukey: Uint8Array | null = null;
  private _seq = 0;
  private deleted = false;
  private _merge = false;

  constructor(it: TableIterator, onClose?: () => void) {
    this.it = it;
    this.onClose = onClose;
  }

  private decode(): void {
    const k = this.it.key;
    this.ukey = k.subarray(0, k.length - TRAILER_BYTES);
    this._seq = sequenceOf(k);
    const kind = k[k.length - 1];
    this.deleted = kind === ValueKind.Delete;
    this._merge = kind === ValueKind.Merge;
  }

  get valid(): boolean {
    return this.it.valid;
  }
  get key(): Uint8Array {
    if (this.ukey === null) this.decode();
    return this.ukey!;
  }
  get seq(): number {
    if (this.ukey === null) this.decode();
    return this._seq;
  }
  get value(): Uint8Array | null {
    if (this.ukey === null) this.decode();
    return this.deleted ? null : this.it.value;
  }
  get merge(): boolean {
    if (this.ukey === null) this.decode();
    return this._merge;
  }
  seekToFirst(): void {
    this.ukey = null;
    this.it.seekToFirst();
  }
  seekToLast(): void {
    this.ukey = null;
    this.it.seekToLast();
  }
  seekGE(key: Uint8Array): void {
    this.ukey = null;
    this.it.seek(seekKey(key, MAX_SEQUENCE));
  }
  seekLT(key: Uint8Array): void {
    this.ukey = null;
    this.it.seek(seekKey(key, MAX_SEQUENCE));
    if (this.it.valid) this.it.prev();
    else this.it.seekToLast();
  }
  next(): void {
    this.ukey = null;
    this.it.next();
  }
  prev(): void {
    this.ukey = null;
    this.it.prev();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
  }
}

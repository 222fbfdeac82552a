/**
 * Adapts the sstable layer's TableIterator (internal keys, forward/backward) to the
 * read path's InternalCursor (user key + sequence + value-or-deletion).
 */
import type { TableIterator } from './sstable/table-reader.ts';
import type { InternalCursor } from './internal-cursor.ts';
import { MAX_SEQUENCE, seekKey, sequenceOf, TRAILER_BYTES, ValueKind } from './internal-key.ts';

export class TableCursor implements InternalCursor {
  private readonly it: TableIterator;
  private readonly onClose: (() => void) | undefined;
  private closed = false;

  constructor(it: TableIterator, onClose?: () => void) {
    this.it = it;
    this.onClose = onClose;
  }

  get valid(): boolean {
    return this.it.valid;
  }
  get key(): Uint8Array {
    const k = this.it.key;
    return k.subarray(0, k.length - TRAILER_BYTES);
  }
  get seq(): number {
    return sequenceOf(this.it.key);
  }
  get value(): Uint8Array | null {
    const k = this.it.key;
    return k[k.length - 1] === ValueKind.Delete ? null : this.it.value;
  }
  seekToFirst(): void {
    this.it.seekToFirst();
  }
  seekToLast(): void {
    this.it.seekToLast();
  }
  seekGE(key: Uint8Array): void {
    this.it.seek(seekKey(key, MAX_SEQUENCE));
  }
  seekLT(key: Uint8Array): void {
    this.it.seek(seekKey(key, MAX_SEQUENCE));
    if (this.it.valid) this.it.prev();
    else this.it.seekToLast();
  }
  next(): void {
    this.it.next();
  }
  prev(): void {
    this.it.prev();
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose?.();
  }
}

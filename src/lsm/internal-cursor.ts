/**
 * The cursor every source of entries offers to the read path (memtables and tables):
 * positioned over ALL versions of every key in internal-key order (user key ascending,
 * sequence descending), movable both ways. `value === null` is a point deletion;
 * `merge` is true for a merge operand (ValueKind.Merge, its value is the operand).
 *
 * Views returned by key/value are valid until the cursor moves (a table cursor may
 * reuse its buffers); callers copy what they keep.
 */
export interface InternalCursor {
  readonly valid: boolean;
  readonly key: Uint8Array;
  readonly seq: number;
  readonly value: Uint8Array | null;
  readonly merge: boolean;
  seekToFirst(): void;
  seekToLast(): void;
  /** First entry with user key >= key. */
  seekGE(key: Uint8Array): void;
  /** Last entry with user key < key. */
  seekLT(key: Uint8Array): void;
  next(): void;
  prev(): void;
  close?(): void;
}

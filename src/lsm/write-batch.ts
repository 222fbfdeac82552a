/**
 * A WriteBatch records puts, merge operands, deletes and range deletes; LsmStore.write() applies them
 * with consecutive sequence numbers in one synchronous step, so no reader (get, a scan
 * opened later) ever sees part of a batch. The batch copies nothing: callers must not
 * mutate the buffers they passed until write() returned (the memtable copies then).
 */
import type { WriteBatch } from './types.ts';

export const enum BatchOp {
  Put = 0,
  Delete = 1,
  DeleteRange = 2,
  Merge = 3,
}

export class WriteBatchImpl implements WriteBatch {
  readonly ops: BatchOp[] = [];
  readonly keys: Uint8Array[] = [];
  /** Value for Put, operand for Merge, end key for DeleteRange, null for Delete. */
  readonly args: (Uint8Array | null)[] = [];

  put(key: Uint8Array, value: Uint8Array): this {
    this.ops.push(BatchOp.Put);
    this.keys.push(key);
    this.args.push(value);
    return this;
  }

  merge(key: Uint8Array, operand: Uint8Array): this {
    this.ops.push(BatchOp.Merge);
    this.keys.push(key);
    this.args.push(operand);
    return this;
  }

  delete(key: Uint8Array): this {
    this.ops.push(BatchOp.Delete);
    this.keys.push(key);
    this.args.push(null);
    return this;
  }

  deleteRange(start: Uint8Array, end: Uint8Array): this {
    this.ops.push(BatchOp.DeleteRange);
    this.keys.push(start);
    this.args.push(end);
    return this;
  }

  get count(): number {
    return this.ops.length;
  }
}

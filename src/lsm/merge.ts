/**
 * The merge operator of the engine: APPEND. `LsmStore.merge(key, operand)` writes a
 * merge operand (ValueKind.Merge); the key's value is the newest base below the
 * operands — a Put's value, or nothing for a Delete, a covering range tombstone or no
 * entry at all — followed by every operand above it, oldest first:
 *
 *   value = base ‖ op(oldest) ‖ … ‖ op(newest)
 *
 * One fixed operator (byte concatenation), not a plugin framework: ListState's encoding
 * (varint-prefixed elements, src/state/state-objects.ts) is concatenable, so an append
 * costs the new element's bytes instead of rewriting the list (issue 11). Operands on a
 * missing key make a present value (an empty operand on nothing is an empty value).
 *
 * Where operands are folded (docs/lsm.md "Merge operands"): reads (get, scans) fold on
 * the fly; a flush folds each key's operands within the memtable (onto a base there, or
 * into one operand when the memtable holds none); a compaction folds onto a base in its
 * inputs, or onto nothing when no deeper file may hold the key, and otherwise
 * concatenates the operands into one operand with the newest operand's sequence.
 */

/** Operands collected newest first while a read walks down the sources; folded at the base. */
export class MergeAcc {
  /** Newest first. Each must stay valid until fold() (callers copy views that may be reused). */
  readonly ops: Uint8Array[] = [];
  private bytes = 0;

  push(op: Uint8Array): void {
    this.ops.push(op);
    this.bytes += op.length;
  }

  get length(): number {
    return this.ops.length;
  }

  /** base ‖ operands oldest first (base null: nothing below the operands). */
  fold(base: Uint8Array | null): Uint8Array<ArrayBuffer> {
    return appendOperands(base, this.ops, this.bytes);
  }
}

/** base ‖ opsNewestFirst reversed; `total` = sum of operand lengths if the caller knows it. */
export function appendOperands(base: Uint8Array | null, opsNewestFirst: readonly Uint8Array[], total?: number): Uint8Array<ArrayBuffer> {
  let n = total ?? 0;
  if (total === undefined) for (const o of opsNewestFirst) n += o.length;
  const bl = base === null ? 0 : base.length;
  const out = new Uint8Array(bl + n);
  if (base !== null) out.set(base, 0);
  let off = bl;
  for (let i = opsNewestFirst.length - 1; i >= 0; i--) {
    const o = opsNewestFirst[i]!;
    out.set(o, off);
    off += o.length;
  }
  return out;
}

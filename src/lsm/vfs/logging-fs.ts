/**
 * LoggingFs (Pebble's fs-op traces in its testdata): a Vfs that records every
 * operation except reads, in order, as one line each, e.g.
 *
 *   create 000007-0000beef.sst.tmp
 *   sync 000007-0000beef.sst.tmp
 *   rename 000007-0000beef.sst.tmp -> 000007-0000beef.sst
 *   syncdir .
 *
 * Paths are shown relative to `root` ('.' for root itself) so traces are stable across
 * temp directories. `onOp` lets a test check an invariant at the instant of an operation
 * (before it runs) rather than after the fact.
 */
import { relative } from 'node:path';
import { HookedFs, type FsOp } from './hooked-fs.ts';
import type { Vfs } from './vfs.ts';

export class LoggingFs extends HookedFs {
  readonly ops: FsOp[] = [];
  private readonly root: string;

  constructor(inner: Vfs, root: string, onOp?: (op: FsOp) => void) {
    super(inner, (op) => {
      if (op.kind === 'read') return;
      this.ops.push(op);
      onOp?.(op);
    });
    this.root = root;
  }

  /** One line per operation (see the file comment). */
  lines(filter: (op: FsOp) => boolean = () => true): string[] {
    const rel = (p: string): string => relative(this.root, p) || '.';
    return this.ops.filter(filter).map((op) => `${op.kind} ${rel(op.path)}${op.to === undefined ? '' : ` -> ${rel(op.to)}`}`);
  }
}

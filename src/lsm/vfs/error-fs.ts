/**
 * ErrorFs (Pebble's `errorfs`): a Vfs that fails chosen operations. An injector looks
 * at each FsOp before it runs and returns the error to throw (or undefined to let it
 * run). The failed operation has no effect on the inner file system, as when a write
 * or fsync fails with EIO before reaching the disk.
 *
 *   const fs = new ErrorFs(realFs, onNth(1, (op) => op.kind === 'sync' && op.path.endsWith('MANIFEST.tmp')));
 */
import { HookedFs, type FsOp } from './hooked-fs.ts';
import type { Vfs } from './vfs.ts';

export type Injector = (op: FsOp) => Error | undefined;

/** The error ErrorFs throws: looks like Node's EIO, says which operation it replaced. */
export class InjectedFsError extends Error {
  readonly code = 'EIO';
  readonly op: FsOp;
  constructor(op: FsOp) {
    super(`injected EIO: ${op.kind} ${op.path}${op.to === undefined ? '' : ` -> ${op.to}`}`);
    this.name = 'InjectedFsError';
    this.op = op;
  }
}

export class ErrorFs extends HookedFs {
  /** Operations failed so far. */
  readonly injected: FsOp[] = [];

  constructor(inner: Vfs, injector: Injector) {
    super(inner, (op) => {
      const err = injector(op);
      if (err === undefined) return;
      this.injected.push(op);
      throw err;
    });
  }
}

/**
 * Fails the nth operation (1-based) that matches, and only that one; `enabled()` lets a
 * test arm it after setup.
 */
export function onNth(nth: number, matches: (op: FsOp) => boolean, enabled: () => boolean = () => true): Injector {
  let seen = 0;
  return (op) => {
    if (!enabled() || !matches(op)) return undefined;
    seen++;
    return seen === nth ? new InjectedFsError(op) : undefined;
  };
}

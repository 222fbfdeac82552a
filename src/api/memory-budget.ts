/**
 * The state memory budget (`--memory`, `stateMemory`): one number for the memory the lsm
 * state backends of a job may use in its process, as Flink's managed memory bounds RocksDB
 * per slot. The budget is shared evenly by the job's lsm stores (one per keyed subtask,
 * on the main thread and on every worker thread alike); each store gets half of its share
 * for write buffers — the active memtable plus the sealed ones waiting for their flush —
 * and half for its block cache (RocksDB's write-buffer ratio in Flink defaults to 0.5 too).
 * Unset: every store keeps the engine's defaults (64 MiB memtables, 64 MiB block cache),
 * which is no bound at all for a job with many subtasks.
 */
import { ConfigError } from '../util/errors.ts';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/**
 * A size in bytes from "256m", "1.5g", "512MiB", "64k", a plain number string (bytes) or
 * a number (bytes). Units are binary (k = 1024).
 * @param what - names the setting in the error message
 * @throws ConfigError for anything else, or a size that is not positive
 */
export function parseSize(value: string | number, what = 'size'): number {
  let n: number;
  if (typeof value === 'number') {
    n = value;
  } else {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const factor = m ? UNITS[m[2]!.toLowerCase()] : undefined;
    if (!m || factor === undefined) throw new ConfigError(`${what}: cannot parse "${value}" (use e.g. 256m, 1g, 512MiB)`);
    n = Number(m[1]) * factor;
  }
  if (!Number.isFinite(n) || n <= 0) throw new ConfigError(`${what}: expected a positive size, got ${String(value)}`);
  return Math.floor(n);
}

/** Memtables a store may hold at once: the active one and up to this many sealed ones (the engine's default). */
export const SEALED_MEMTABLES = 2;
/** Smallest memtable the budget may give a store: below it flushes would make tiny files. */
export const MIN_MEMTABLE_BYTES = 1024 * 1024;

/** What one lsm store gets of the budget. */
export interface LsmStoreBudget {
  readonly memtableBytes: number;
  readonly maxSealedMemtables: number;
  readonly blockCacheBytes: number;
}

/**
 * Each store's part of `budget` bytes shared by `stores` lsm stores: half of its share for
 * the memtables it may hold at once, half for its block cache.
 * @throws ConfigError when a store's memtable would be smaller than 1 MiB
 */
export function lsmStoreBudget(budget: number, stores: number): LsmStoreBudget {
  const n = Math.max(1, stores);
  const share = budget / n;
  const memtableBytes = Math.floor(share / 2 / (1 + SEALED_MEMTABLES));
  if (memtableBytes < MIN_MEMTABLE_BYTES) {
    const least = Math.ceil((MIN_MEMTABLE_BYTES * 2 * (1 + SEALED_MEMTABLES) * n) / 1024 ** 2);
    throw new ConfigError(`state memory ${Math.round(budget / 1024 ** 2)} MiB is too small for ${n} lsm subtasks: give at least ${least}m`);
  }
  return { memtableBytes, maxSealedMemtables: SEALED_MEMTABLES, blockCacheBytes: Math.floor(share / 2) };
}

/**
 * The private "meta" file of every keyed-state snapshot (both backends), msgpack:
 *
 *   { formatVersion: 1 | 2, backend: 'heap' | 'lsm', keySerializer: id, namespaceSerializer: id,
 *     maxParallelism, keyGroupRange: {start,end},
 *     states: [{ name, id, kind }],
 *     timers: [[domain 0|1, timestamp, key group, keyNs bytes]],
 *     heapChunks?: [[key group, offset, length]]   (heap: where each key group's chunk is in the data file) }
 *
 * Format versions: 1 lists every timer of the snapshot in `timers` (both backends, by
 * default); 2 (lsm backend with `timers: 'store'`) keeps the timers in the store's
 * sstables (lsm-timers.ts) and `timers` is empty. An older weir refuses a version-2 meta instead of
 * restoring it without its timers.
 *
 * Plus the transfer helpers both snapshot strategies use: a concurrency limit, downloads
 * with size/checksum verification. Upload names come from src/storage/job-layout.ts.
 */
import { Packr } from 'msgpackr';
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import type { KeyGroupRange, PrivateFileRef } from './handles.ts';
import type { TimerSnapshotEntry } from './timer-queue.ts';
import { CorruptionError } from '../util/errors.ts';
import { crc32c, crc32cHex } from '../util/crc32c.ts';

/** Timers listed in the meta file. */
export const META_FORMAT_VERSION = 1;
/** Timers in the lsm store, none in the meta file. */
export const META_FORMAT_TIMERS_IN_STORE = 2;

export interface StateMetaEntry {
  readonly name: string;
  readonly id: number;
  readonly kind: string;
}

export interface SnapshotMeta {
  readonly formatVersion: number;
  readonly backend: 'heap' | 'lsm';
  readonly keySerializer: string;
  readonly namespaceSerializer: string;
  readonly maxParallelism: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly states: readonly StateMetaEntry[];
  readonly timers: readonly TimerSnapshotEntry[];
  readonly heapChunks?: readonly (readonly [number, number, number])[];
}

const packr = new Packr({ useRecords: false, moreTypes: false });

export function encodeMeta(meta: SnapshotMeta): Uint8Array {
  return packr.pack(meta);
}

export function decodeMeta(bytes: Uint8Array, file: string): SnapshotMeta {
  let meta: SnapshotMeta;
  try {
    meta = packr.unpack(bytes) as SnapshotMeta;
  } catch (err) {
    throw new CorruptionError(file, undefined, 'meta file does not decode', { cause: err });
  }
  if (typeof meta !== 'object' || meta === null || (meta.formatVersion !== META_FORMAT_VERSION && meta.formatVersion !== META_FORMAT_TIMERS_IN_STORE) || !Array.isArray(meta.states)) {
    throw new CorruptionError(file, undefined, `unsupported meta format ${String((meta as { formatVersion?: unknown } | null)?.formatVersion)}`);
  }
  return meta;
}

/** At most `limit` tasks in flight; once `stop()` is called, tasks not yet started reject. */
export class TransferLimit {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  private stopped: Error | undefined = undefined;

  constructor(private readonly limit: number) {}

  stop(reason: Error): void {
    this.stopped ??= reason;
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so `active` never exceeds `limit`.
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      if (this.stopped !== undefined) throw this.stopped;
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

/** Writes a small private file and returns its ref. */
export async function writePrivate(storage: CheckpointStorage, path: string, name: string, data: Uint8Array): Promise<PrivateFileRef> {
  const r = await storage.write(path, data);
  return { name, path, size: r.size, checksum: r.checksum };
}

/** Reads a whole object and verifies its size and CRC-32C. */
export async function readVerified(storage: CheckpointStorage, path: string, size: number, checksum: string): Promise<Uint8Array> {
  const data = await storage.read(path);
  if (data.length !== size) throw new CorruptionError(path, undefined, `size ${data.length}, expected ${size}`);
  const sum = crc32cHex(crc32c(data));
  if (sum !== checksum) throw new CorruptionError(path, undefined, `checksum ${sum}, expected ${checksum}`);
  return data;
}

/**
 * The lsm backend's timers in its store, so that they are checkpointed incrementally
 * with the state (Flink's RocksDB backend keeps its timers in RocksDB for the same
 * reason) instead of being written in full into every snapshot's meta file.
 *
 * One entry per live timer, with an empty value, under an internal state (TIMER_STATE):
 *
 *   +-----------+-----------+---------+----------------------+--------------------------+
 *   | key group | state id  | domain  | timestamp            | keyNs                    |
 *   | 2 B, BE   | 2 B, BE   | 0 event | 8 B, order-preserving| varint len ‖ key ‖       |
 *   |           |           | 1 proc. | float64              | varint len ‖ namespace   |
 *   +-----------+-----------+---------+----------------------+--------------------------+
 *
 * Key group first, like every state entry, so a rescale's clip and key-group copy move
 * timers with the rest of the state (lsm-backend.ts). Within a key group the entries sort
 * by domain, then timestamp: a store scan yields each key group's timers in firing order,
 * which is what a bounded in-memory cache of the earliest timers per key group would read
 * (Flink's RocksDBCachingPriorityQueueSet); today the whole queue is still in memory
 * (timer-queue.ts) and the store is read only at restore.
 *
 * Writes happen at each snapshot's synchronous part, as the difference since the last
 * one (writeChanges, before the store is sealed): a put for every timer registered since
 * and still live, a delete for every timer the store holds that has fired or was deleted
 * since. A timer that lives and dies between two snapshots (a session window's timer,
 * moved on every record of the session) never reaches the store: writing each change as
 * it happens left a tombstone per short-lived timer in every flushed table (measured on
 * Nexmark q11, session windows: 26x the checkpointed bytes of the meta-file timers, q5
 * 1.9x). Between snapshots the store's timer entries are stale; nothing reads them then
 * (they are read only by a restore, which reads a snapshot).
 */
import type { LsmStore } from '../lsm/types.ts';
import type { KeyGroupRange } from './handles.ts';
import { KEY_GROUP_BYTES, STATE_ID_BYTES } from './key-layout.ts';
import type { TimerDomain, TimerPersistence, TimerRecord } from './timer-queue.ts';
import { CorruptionError } from '../util/errors.ts';

/** The internal state that holds the timers (its name starts with INTERNAL_STATE_PREFIX). */
export const TIMER_STATE = { name: '\u0000timers', kind: 'timers' } as const;

const HEAD = KEY_GROUP_BYTES + STATE_ID_BYTES;
const TIMESTAMP_BYTES = 8;
const EMPTY = new Uint8Array(0);

/** The store key of one timer. */
export function timerKey(keyGroup: number, stateId: number, domain: TimerDomain, timestamp: number, keyNs: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEAD + 1 + TIMESTAMP_BYTES + keyNs.length);
  out[0] = keyGroup >>> 8;
  out[1] = keyGroup & 0xff;
  out[2] = stateId >>> 8;
  out[3] = stateId & 0xff;
  out[HEAD] = domain === 'event' ? 0 : 1;
  writeOrderedFloat64(out, HEAD + 1, timestamp);
  out.set(keyNs, HEAD + 1 + TIMESTAMP_BYTES);
  return out;
}

export interface StoredTimer {
  readonly keyGroup: number;
  readonly domain: TimerDomain;
  readonly timestamp: number;
  /** A copy (the scan's key buffer is reused). */
  readonly keyNs: Uint8Array;
}

export function parseTimerKey(key: Uint8Array): StoredTimer {
  if (key.length < HEAD + 1 + TIMESTAMP_BYTES + 2 || key[HEAD]! > 1) throw new CorruptionError('lsm store', undefined, 'malformed timer entry');
  return {
    keyGroup: (key[0]! << 8) | key[1]!,
    domain: key[HEAD] === 0 ? 'event' : 'processing',
    timestamp: readOrderedFloat64(key, HEAD + 1),
    keyNs: key.slice(HEAD + 1 + TIMESTAMP_BYTES),
  };
}

/**
 * Collects the timer queue's changes and writes their net effect to the store at each
 * snapshot (see the module comment). `stateId` is resolved on first write.
 */
export class LsmTimerPersistence implements TimerPersistence {
  private id: number | undefined;
  /** Registered since the last snapshot and still live: not in the store yet. */
  private readonly fresh: Record<TimerDomain, Set<TimerRecord>> = { event: new Set(), processing: new Set() };
  /** In the store (restored, or written by an earlier snapshot) and gone from the queue since. */
  private readonly gone: [TimerDomain, TimerRecord][] = [];

  constructor(private readonly stateId: () => number) {}

  added(domain: TimerDomain, rec: TimerRecord): void {
    this.fresh[domain].add(rec);
  }

  removed(domain: TimerDomain, rec: TimerRecord): void {
    // Every live timer is either waiting in `fresh` or in the store.
    if (!this.fresh[domain].delete(rec)) this.gone.push([domain, rec]);
  }

  /** Writes the changes since the last call into `store` (deletes first: a timer deleted and registered again ends as a put). */
  writeChanges(store: LsmStore): void {
    if (this.gone.length === 0 && this.fresh.event.size === 0 && this.fresh.processing.size === 0) return;
    const id = (this.id ??= this.stateId());
    for (const [domain, rec] of this.gone) store.delete(timerKey(rec.keyGroup, id, domain, rec.timestamp, rec.keyNs));
    this.gone.length = 0;
    for (const domain of ['event', 'processing'] as const) {
      for (const rec of this.fresh[domain]) store.put(timerKey(rec.keyGroup, id, domain, rec.timestamp, rec.keyNs), EMPTY);
      this.fresh[domain].clear();
    }
  }
}

/** Every timer stored for the key groups of `range`, key group by key group, each in firing order. */
export function* storedTimers(store: LsmStore, stateId: number, range: KeyGroupRange): Generator<StoredTimer> {
  for (let kg = range.start; kg <= range.end; kg++) {
    const prefix = Uint8Array.of(kg >>> 8, kg & 0xff, stateId >>> 8, stateId & 0xff);
    const it = store.scan({ prefix });
    try {
      for (let r = it.next(); !r.done; r = it.next()) yield parseTimerKey(r.value[0]);
    } finally {
      it.close();
    }
  }
}

const scratch = new DataView(new ArrayBuffer(8));

/** float64 big-endian with the sign bit flipped (positive) or all bits flipped (negative): byte order = numeric order. */
function writeOrderedFloat64(out: Uint8Array, offset: number, value: number): void {
  scratch.setFloat64(0, value + 0); // -0 → 0: one entry per timestamp
  const negative = (scratch.getUint8(0) & 0x80) !== 0;
  for (let i = 0; i < 8; i++) {
    const b = scratch.getUint8(i);
    out[offset + i] = negative ? ~b & 0xff : i === 0 ? b | 0x80 : b;
  }
}

function readOrderedFloat64(buf: Uint8Array, offset: number): number {
  const positive = (buf[offset]! & 0x80) !== 0;
  for (let i = 0; i < 8; i++) {
    const b = buf[offset + i]!;
    scratch.setUint8(i, positive ? (i === 0 ? b & 0x7f : b) : ~b & 0xff);
  }
  return scratch.getFloat64(0);
}

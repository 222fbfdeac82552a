/**
 * Timers of one backend: an in-memory priority queue per domain (event, processing),
 * deduplicated by (timestamp, key, namespace), each timer tagged with its key group.
 *
 * Both backends keep every timer in this in-memory queue: pollTimers is on the hot path
 * of every watermark and wants O(log n) without a store scan. How a snapshot holds them
 * differs:
 *   - by default (both backends): written in full (tagged by key group) into the
 *     snapshot's private meta file, as Flink's heap backend writes its timers;
 *   - lsm backend with `timers: 'store'`: the `persistence` hook (lsm-timers.ts) collects the changes and each
 *     snapshot writes their net effect into the store before it seals it, so timers ride
 *     in the sstables and are incremental like the state; the meta file lists none. A
 *     restore rebuilds the queue from the store.
 * Either way a restore at another parallelism takes exactly the timers of its key groups.
 *
 * Order: timestamp, then the serialized key ‖ namespace (deterministic across restores).
 * Deletion is lazy: a deleted timer stays in the heap, flagged, until it reaches the top
 * (the heap is rebuilt when more than half of it is dead).
 */
import type { TimerEntry } from './types.ts';
import { assert } from '../util/assert.ts';

export type TimerDomain = 'event' | 'processing';

export interface TimerRecord {
  readonly timestamp: number;
  readonly keyGroup: number;
  /** Length-prefixed serialized key ‖ length-prefixed serialized namespace. */
  readonly keyNs: Uint8Array;
  /** Dedup / tie-break id: latin1(keyNs). */
  readonly id: string;
  readonly key: unknown;
  readonly namespace: unknown;
  dead: boolean;
}

/** Told of every timer that enters or leaves a queue (not of those re-registered by a restore). */
export interface TimerPersistence {
  added(domain: TimerDomain, rec: TimerRecord): void;
  removed(domain: TimerDomain, rec: TimerRecord): void;
}

function less(a: TimerRecord, b: TimerRecord): boolean {
  return a.timestamp < b.timestamp || (a.timestamp === b.timestamp && a.id < b.id);
}

class TimerHeap {
  /** Invariant: heap order by less(); `live` holds exactly the records with dead=false. */
  private heap: TimerRecord[] = [];
  private readonly live = new Map<string, TimerRecord>();
  private dead = 0;

  get size(): number {
    return this.live.size;
  }

  add(rec: TimerRecord): boolean {
    const k = `${rec.timestamp}|${rec.id}`;
    if (this.live.has(k)) return false;
    this.live.set(k, rec);
    this.heap.push(rec);
    this.up(this.heap.length - 1);
    return true;
  }

  /** The removed record, or undefined when no such timer was live. */
  remove(timestamp: number, id: string): TimerRecord | undefined {
    const k = `${timestamp}|${id}`;
    const rec = this.live.get(k);
    if (!rec) return undefined;
    this.live.delete(k);
    rec.dead = true;
    this.dead++;
    if (this.dead > 1024 && this.dead * 2 > this.heap.length) this.rebuild();
    return rec;
  }

  peek(): TimerRecord | undefined {
    this.dropDeadTop();
    return this.heap[0];
  }

  pop(): TimerRecord | undefined {
    this.dropDeadTop();
    const top = this.heap[0];
    if (!top) return undefined;
    this.removeTop();
    this.live.delete(`${top.timestamp}|${top.id}`);
    return top;
  }

  liveRecords(): TimerRecord[] {
    return [...this.live.values()];
  }

  private dropDeadTop(): void {
    let guard = this.heap.length;
    while (this.heap.length > 0 && this.heap[0]!.dead && guard-- >= 0) {
      this.removeTop();
      this.dead--;
    }
  }

  private removeTop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private rebuild(): void {
    this.heap = this.heap.filter((r) => !r.dead);
    this.dead = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.down(i);
    assert(this.heap.length === this.live.size, 'timer heap and live set disagree');
  }

  private up(i: number): void {
    const h = this.heap;
    const x = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!less(x, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = x;
  }

  private down(i: number): void {
    const h = this.heap;
    const n = h.length;
    const x = h[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && less(h[c + 1]!, h[c]!)) c++;
      if (!less(h[c]!, x)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = x;
  }
}

/** Serialized form of one timer in a snapshot: [domain 0=event 1=processing, timestamp, key group, keyNs]. */
export type TimerSnapshotEntry = [number, number, number, Uint8Array];

export class TimerQueues {
  private readonly event = new TimerHeap();
  private readonly processing = new TimerHeap();

  private queue(domain: TimerDomain): TimerHeap {
    return domain === 'event' ? this.event : this.processing;
  }

  /** Where timer changes are also written (the lsm backend's store); none for the heap backend. */
  persistence: TimerPersistence | undefined = undefined;

  /** `persist` false: a timer restored from where it is already persisted. */
  register(domain: TimerDomain, rec: TimerRecord, persist = true): void {
    if (this.queue(domain).add(rec) && persist) this.persistence?.added(domain, rec);
  }

  delete(domain: TimerDomain, timestamp: number, id: string): void {
    const rec = this.queue(domain).remove(timestamp, id);
    if (rec) this.persistence?.removed(domain, rec);
  }

  poll(domain: TimerDomain, upTo: number): TimerEntry[] {
    const q = this.queue(domain);
    const out: TimerEntry[] = [];
    let guard = q.size;
    for (let top = q.peek(); top !== undefined && top.timestamp <= upTo && guard-- > 0; top = q.peek()) {
      q.pop();
      this.persistence?.removed(domain, top);
      out.push({ timestamp: top.timestamp, key: top.key, namespace: top.namespace });
    }
    return out;
  }

  next(domain: TimerDomain): number | undefined {
    return this.queue(domain).peek()?.timestamp;
  }

  size(): number {
    return this.event.size + this.processing.size;
  }

  /** The live timers now (cheap: references to immutable records), for a snapshot's sync part. */
  capture(): TimerSnapshotEntry[] {
    const out: TimerSnapshotEntry[] = [];
    for (const r of this.event.liveRecords()) out.push([0, r.timestamp, r.keyGroup, r.keyNs]);
    for (const r of this.processing.liveRecords()) out.push([1, r.timestamp, r.keyGroup, r.keyNs]);
    return out;
  }
}

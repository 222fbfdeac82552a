/**
 * LRU cache of decoded sstable blocks, bounded by bytes. Shared by every table of a
 * store (and optionally by several stores): each open table gets a unique cacheId from
 * newId(), and a block is keyed by (cacheId, block offset in the file).
 *
 * Ownership and invariants:
 *  - Single-threaded (the subtask's thread). Values are immutable once inserted, so a
 *    reader may keep using a block after it was evicted: eviction only drops the
 *    cache's reference, the garbage collector frees the memory when the last user lets
 *    go. Nothing needs pinning.
 *  - `usedBytes` == sum of the charges of the entries in the list.
 *  - Reservations (reserve/unreserve) charge memory that lives outside the cache against
 *    its capacity: the index and bloom filter each open table keeps decoded (RocksDB's
 *    cache_index_and_filter_blocks, without their eviction). After any call,
 *    `usedBytes + reservedBytes <= capacity`, unless the reservations alone exceed it
 *    (then no block is cached); a block larger than the room left is not cached.
 *  - Every entry is in exactly one per-table map and in the LRU list.
 */
import { assert } from '../../util/assert.ts';

interface Entry {
  cacheId: number;
  offset: number;
  value: unknown;
  charge: number;
  /** Toward the most recently used end. */
  newer: Entry | undefined;
  older: Entry | undefined;
}

export interface BlockCacheStats {
  capacity: number;
  usedBytes: number;
  /** Charged by reserve(): index and filter blocks of open tables. */
  reservedBytes: number;
  entries: number;
  hits: number;
  misses: number;
  evictions: number;
}

export class BlockCache {
  private capacityBytes: number;
  private used = 0;
  private reservedBytes = 0;
  private count = 0;
  private readonly tables = new Map<number, Map<number, Entry>>();
  /** Least recently used end (evicted first) and most recently used end. */
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private nextId = 1;
  private hitCount = 0;
  private missCount = 0;
  private evictionCount = 0;

  constructor(capacityBytes: number) {
    assert(Number.isFinite(capacityBytes) && capacityBytes >= 0, 'block cache capacity must be >= 0');
    this.capacityBytes = capacityBytes;
  }

  /** A cache id never returned before by this cache (one per open table). */
  newId(): number {
    return this.nextId++;
  }

  get capacity(): number {
    return this.capacityBytes;
  }

  setCapacity(bytes: number): void {
    assert(Number.isFinite(bytes) && bytes >= 0, 'block cache capacity must be >= 0');
    this.capacityBytes = bytes;
    this.evictToCapacity();
  }

  /** Charges `bytes` held outside the cache against its capacity, evicting blocks to make room. */
  reserve(bytes: number): void {
    assert(Number.isFinite(bytes) && bytes >= 0, 'reservation must be >= 0');
    this.reservedBytes += bytes;
    this.evictToCapacity();
  }

  /** Gives back what reserve(bytes) took. */
  unreserve(bytes: number): void {
    assert(Number.isFinite(bytes) && bytes >= 0 && bytes <= this.reservedBytes, 'unreserving more than was reserved');
    this.reservedBytes -= bytes;
  }

  get reserved(): number {
    return this.reservedBytes;
  }

  /** The cached value, marked most recently used; undefined on a miss. Counts hits and misses. */
  get(cacheId: number, offset: number): unknown {
    const e = this.tables.get(cacheId)?.get(offset);
    if (e === undefined) {
      this.missCount++;
      return undefined;
    }
    this.hitCount++;
    if (e !== this.newest) {
      this.unlink(e);
      this.linkNewest(e);
    }
    return e.value;
  }

  /** Like get() but neither counts nor reorders (tests, diagnostics). */
  peek(cacheId: number, offset: number): unknown {
    return this.tables.get(cacheId)?.get(offset)?.value;
  }

  /** Inserts (or replaces) a value charged `charge` bytes, evicting the least recently used. */
  insert(cacheId: number, offset: number, value: unknown, charge: number): void {
    assert(charge >= 0, 'negative charge');
    const existing = this.tables.get(cacheId)?.get(offset);
    if (existing) this.remove(existing); // may delete the table's map if it empties
    if (charge > this.capacityBytes - this.reservedBytes) return;
    let table = this.tables.get(cacheId);
    if (!table) {
      table = new Map();
      this.tables.set(cacheId, table);
    }
    const e: Entry = { cacheId, offset, value, charge, newer: undefined, older: undefined };
    table.set(offset, e);
    this.linkNewest(e);
    this.used += charge;
    this.count++;
    this.evictToCapacity();
  }

  /** Drops every block of one table (its file was deleted). O(blocks of that table). */
  eraseTable(cacheId: number): void {
    const table = this.tables.get(cacheId);
    if (!table) return;
    for (const e of table.values()) {
      this.unlink(e);
      this.used -= e.charge;
      this.count--;
    }
    this.tables.delete(cacheId);
  }

  get stats(): BlockCacheStats {
    return {
      capacity: this.capacityBytes,
      usedBytes: this.used,
      reservedBytes: this.reservedBytes,
      entries: this.count,
      hits: this.hitCount,
      misses: this.missCount,
      evictions: this.evictionCount,
    };
  }

  private evictToCapacity(): void {
    // Bounded: each round removes one entry.
    while (this.used + this.reservedBytes > this.capacityBytes && this.oldest) {
      this.remove(this.oldest);
      this.evictionCount++;
    }
    assert(this.used === 0 || this.used + this.reservedBytes <= this.capacityBytes, 'block cache over capacity after eviction');
  }

  private remove(e: Entry): void {
    this.unlink(e);
    const table = this.tables.get(e.cacheId);
    table?.delete(e.offset);
    if (table?.size === 0) this.tables.delete(e.cacheId);
    this.used -= e.charge;
    this.count--;
  }

  private unlink(e: Entry): void {
    if (e.newer) e.newer.older = e.older;
    else this.newest = e.older;
    if (e.older) e.older.newer = e.newer;
    else this.oldest = e.newer;
    e.newer = undefined;
    e.older = undefined;
  }

  private linkNewest(e: Entry): void {
    e.older = this.newest;
    e.newer = undefined;
    if (this.newest) this.newest.newer = e;
    this.newest = e;
    this.oldest ??= e;
  }
}

/**
 * The store's access to its tables on the read path: point gets and cursors through
 * the TableCache (bounded open fds) and the shared BlockCache. File numbers are unique
 * within a store (restored files keep their numbers; new ones continue above them).
 */
import { join } from 'node:path';
import { BlockCache } from './cache/block-cache.ts';
import { TableCache, type TableHandle } from './cache/table-cache.ts';
import type { TableReader } from './sstable/table-reader.ts';
import { seekKey, sequenceOf, TRAILER_BYTES, ValueKind } from './internal-key.ts';
import type { PointHit } from './memtable/memtable.ts';
import { TableCursor } from './table-cursor.ts';
import type { FileMeta } from './version/file-meta.ts';
import type { Vfs } from './vfs/vfs.ts';

export class TableSet {
  readonly blockCache: BlockCache;
  private readonly cache: TableCache;
  private readonly names = new Map<number, string>();
  private readonly dir: string;
  /**
   * Handles kept acquired for point gets (a get then costs one Map lookup instead of an
   * acquire/release pair). At most maxHeld, released oldest first, and on evict/close,
   * so the table cache's fd bound still holds for the rest.
   */
  private readonly held = new Map<number, TableHandle>();
  private readonly maxHeld: number;

  constructor(dir: string, blockCacheBytes: number, maxOpenFiles: number, fs: Vfs) {
    this.dir = dir;
    this.maxHeld = Math.max(1, Math.floor(maxOpenFiles / 2));
    this.blockCache = new BlockCache(blockCacheBytes);
    this.cache = new TableCache({
      maxOpenFiles,
      blockCache: this.blockCache,
      pathOf: (n) => join(dir, this.names.get(n)!),
      nameOf: (n) => join(dir, this.names.get(n)!),
      fs,
    });
  }

  pathOf(name: string): string {
    return join(this.dir, name);
  }

  register(f: FileMeta): void {
    this.names.set(f.number, f.name);
  }

  private reader(f: FileMeta): TableReader {
    let h = this.held.get(f.number);
    if (h === undefined) {
      h = this.cache.acquire(f.number, f.size);
      this.held.set(f.number, h);
      if (this.held.size > this.maxHeld) {
        const [oldest, oh] = this.held.entries().next().value!;
        this.held.delete(oldest);
        oh.release();
      }
    }
    return h.reader;
  }

  get(f: FileMeta, key: Uint8Array, readSeq: number, hit: PointHit): boolean {
    const r = this.reader(f).get(key, readSeq);
    if (r === undefined) return false;
    hit.value = r.kind === ValueKind.Delete ? null : r.value;
    hit.merge = r.kind === ValueKind.Merge;
    hit.entry = -1;
    hit.seq = r.seq;
    return true;
  }

  /** Like get, with the entry's sequence (one seek through an iterator). */
  getWithSeq(f: FileMeta, key: Uint8Array, readSeq: number, hit: PointHit): boolean {
    const h = this.cache.acquire(f.number, f.size);
    try {
      if (!h.reader.mayContain(key)) return false;
      const it = h.reader.iterator();
      it.seek(seekKey(key, readSeq));
      if (!it.valid) return false;
      const k = it.key;
      if (k.length - TRAILER_BYTES !== key.length) return false;
      for (let i = 0; i < key.length; i++) if (k[i] !== key[i]) return false;
      hit.seq = sequenceOf(k);
      hit.value = k[k.length - 1] === ValueKind.Delete ? null : it.value;
      hit.merge = k[k.length - 1] === ValueKind.Merge;
      hit.entry = -1;
      return true;
    } finally {
      h.release();
    }
  }

  cursor(f: FileMeta): TableCursor {
    const h = this.cache.acquire(f.number, f.size);
    return new TableCursor(h.reader.iterator(), () => h.release());
  }

  /** The file is obsolete: close it, drop its blocks. */
  evict(f: FileMeta): void {
    const h = this.held.get(f.number);
    if (h !== undefined) {
      this.held.delete(f.number);
      h.release();
    }
    this.cache.evict(f.number);
    this.names.delete(f.number);
  }

  /** Index and filter bytes of the open tables: what the table cache reserved in the block cache for them. */
  get tableMetaBytes(): number {
    return this.blockCache.reserved;
  }

  get openTables(): number {
    return this.cache.openCount;
  }

  close(): void {
    for (const h of this.held.values()) h.release();
    this.held.clear();
    this.cache.close();
  }
}

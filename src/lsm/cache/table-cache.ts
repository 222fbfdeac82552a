/**
 * Open TableReaders by file number, with a bound on open file descriptors (LRU).
 *
 * acquire() returns a handle that keeps its reader open until release(): an iterator
 * holds one for its lifetime, a point get for the duration of the call. When more than
 * `maxOpenFiles` readers are open, the least recently used ones that nobody holds are
 * closed; a held reader is never closed under its holder (if every open reader is held,
 * the bound is exceeded until handles are released, and the excess is closed then).
 *
 * Each file number keeps one cacheId for as long as the TableCache knows it, so blocks
 * cached before an fd was closed are hit again after it is reopened. evict(fileNumber)
 * (the file was deleted) drops the table's blocks from the block cache as well.
 *
 * Invariants: `open.size` counts open readers; an entry with refs > 0 is open; the LRU
 * order is the Map's insertion order (re-inserted on every acquire).
 */
import { assert } from '../../util/assert.ts';
import { TableReader } from '../sstable/table-reader.ts';
import type { BlockCache } from './block-cache.ts';
import { realFs } from '../vfs/real-fs.ts';
import type { Vfs } from '../vfs/vfs.ts';

export interface TableCacheOptions {
  /** Upper bound on readers held open while unreferenced (>= 1). */
  maxOpenFiles: number;
  blockCache: BlockCache;
  /** Absolute path of a table file. */
  pathOf: (fileNumber: number) => string;
  /** Name used in CorruptionError (default: the path). */
  nameOf?: (fileNumber: number) => string;
  /** Opens table files (default: the real file system). */
  fs?: Vfs;
}

export interface TableHandle {
  readonly reader: TableReader;
  readonly fileNumber: number;
  /** Releases this hold on the reader. Idempotent. */
  release(): void;
}

interface OpenTable {
  reader: TableReader;
  refs: number;
  /** evict() was called: close (and forget) as soon as refs drop to 0. */
  doomed: boolean;
}

export interface TableCacheStats {
  open: number;
  hits: number;
  misses: number;
  closes: number;
}

export class TableCache {
  private readonly maxOpen: number;
  private readonly blockCache: BlockCache;
  private readonly pathOf: (fileNumber: number) => string;
  private readonly nameOf: (fileNumber: number) => string;
  private readonly fs: Vfs;
  /** Open readers in LRU order (oldest first). */
  private readonly open = new Map<number, OpenTable>();
  private readonly cacheIds = new Map<number, number>();
  private hits = 0;
  private misses = 0;
  private closes = 0;
  private closed = false;

  constructor(options: TableCacheOptions) {
    assert(Number.isInteger(options.maxOpenFiles) && options.maxOpenFiles >= 1, 'maxOpenFiles must be an integer >= 1');
    this.maxOpen = options.maxOpenFiles;
    this.blockCache = options.blockCache;
    this.pathOf = options.pathOf;
    this.nameOf = options.nameOf ?? options.pathOf;
    this.fs = options.fs ?? realFs;
  }

  /**
   * Holds the reader of fileNumber open until release(); opens it if needed.
   * `fileSize` is the size recorded in the manifest (see TableReader.open).
   * Throws CorruptionError if the file is not a valid table.
   */
  acquire(fileNumber: number, fileSize?: number): TableHandle {
    assert(!this.closed, 'TableCache is closed');
    let t = this.open.get(fileNumber);
    if (t && !t.doomed) {
      this.hits++;
      this.open.delete(fileNumber);
      this.open.set(fileNumber, t);
    } else {
      assert(t === undefined, () => `table ${fileNumber} was evicted but is still held`);
      this.misses++;
      let cacheId = this.cacheIds.get(fileNumber);
      if (cacheId === undefined) {
        cacheId = this.blockCache.newId();
        this.cacheIds.set(fileNumber, cacheId);
      }
      const reader = TableReader.openSource(this.fs.openRead(this.pathOf(fileNumber)), this.nameOf(fileNumber), fileSize, this.blockCache, cacheId);
      t = { reader, refs: 0, doomed: false };
      this.open.set(fileNumber, t);
      // Its decoded index and filter count against the block cache until it closes.
      this.blockCache.reserve(reader.metaBytes);
    }
    t.refs++;
    const table = t;
    this.closeExcess();
    let released = false;
    return {
      reader: table.reader,
      fileNumber,
      release: () => {
        if (released) return;
        released = true;
        this.releaseTable(fileNumber, table);
      },
    };
  }

  /**
   * The file is obsolete (deleted or about to be): close its reader once nobody holds it,
   * forget its cacheId and drop its blocks from the block cache.
   */
  evict(fileNumber: number): void {
    const t = this.open.get(fileNumber);
    const cacheId = this.cacheIds.get(fileNumber);
    this.cacheIds.delete(fileNumber);
    if (cacheId !== undefined) this.blockCache.eraseTable(cacheId);
    if (!t) return;
    if (t.refs === 0) this.closeTable(fileNumber, t);
    else t.doomed = true;
  }

  /** Number of open readers (open fds). */
  get openCount(): number {
    return this.open.size;
  }

  get stats(): TableCacheStats {
    return { open: this.open.size, hits: this.hits, misses: this.misses, closes: this.closes };
  }

  /** Closes every reader nobody holds; held ones are closed on release. */
  close(): void {
    this.closed = true;
    for (const [n, t] of [...this.open]) {
      if (t.refs === 0) this.closeTable(n, t);
      else t.doomed = true;
    }
  }

  private releaseTable(fileNumber: number, t: OpenTable): void {
    assert(t.refs > 0, 'TableCache: release without acquire');
    t.refs--;
    if (t.refs > 0) return;
    if (t.doomed || this.closed) this.closeTable(fileNumber, t);
    else this.closeExcess();
  }

  private closeExcess(): void {
    if (this.open.size <= this.maxOpen) return;
    // Oldest first; skip held readers. Bounded by the number of open readers.
    for (const [n, t] of this.open) {
      if (this.open.size <= this.maxOpen) break;
      if (t.refs === 0) this.closeTable(n, t);
    }
  }

  private closeTable(fileNumber: number, t: OpenTable): void {
    assert(t.refs === 0, 'closing a held table');
    if (this.open.get(fileNumber) === t) this.open.delete(fileNumber);
    t.reader.close();
    this.blockCache.unreserve(t.reader.metaBytes);
    this.closes++;
  }
}

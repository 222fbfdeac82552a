/**
 * Reads one sstable (format in sstable/format.ts) with synchronous positional reads.
 *
 * open() reads and checks the footer, the metaindex, the index (kept decoded in memory
 * for the reader's lifetime), the properties, the bloom filter and the range-deletion
 * block. Index and filter memory (1M entries of 16-byte keys in 4 KiB blocks: index
 * ~0.7 MB, filter ~1.25 MB) belongs to the open reader and is NOT charged to the block
 * cache: the TableCache's maxOpenFiles bounds it. Data blocks are read on demand through the shared BlockCache. Every block's
 * CRC is verified when it is read from the file (a cached block was verified when it
 * was inserted). Any mismatch, short read, bad magic or handle outside the file raises
 * CorruptionError(fileName, offset, detail): a corrupt table never yields data.
 *
 * Validity of returned bytes:
 *  - get().value and TableIterator.value are zero-copy views into a block's contents,
 *    which are immutable: they stay valid (and unchanged) as long as they are referenced,
 *    even after the block is evicted or the reader closed.
 *  - TableIterator.key is a view into the iterator's reusable key buffer: valid only
 *    until the iterator moves. Copy it (slice()) to keep it.
 *
 * Single-threaded. After close(), get()/iterator() and any read of a block not already
 * held by an iterator throw AssertionError (the fd is gone); blocks stay in the cache.
 */
import { assert } from '../../util/assert.ts';
import { CorruptionError, errorMessage } from '../../util/errors.ts';
import { COMPRESSION_NONE, compressionName, decompressBlock } from '../compression.ts';
import { sequenceOf, TRAILER_BYTES, writeTrailer, type ValueKind } from '../internal-key.ts';
import type { BlockCache } from '../cache/block-cache.ts';
import { Block, BlockIterator } from './block.ts';
import { BloomFilter } from './bloom.ts';
import {
  BLOCK_TRAILER_BYTES, blockChecksum, decodeBlockHandle, decodeFooter, FOOTER_BYTES, META_FILTER, META_PROPERTIES,
  META_RANGE_DEL, readU32, type BlockHandle,
} from './format.ts';
import { GrowableBuffer } from './growable-buffer.ts';
import { compareInternalAt, userKeyEquals } from './key-compare.ts';
import { decodeProperties, type TableProperties } from './properties.ts';
import { BytesReadSource, FileReadSource, type ReadSource } from './read-source.ts';
import type { RangeTombstone } from './table-writer.ts';

/** One region of the file, for inspection tools and corruption tests. */
export interface TableRegion {
  kind: 'data' | 'filter' | 'range-del' | 'properties' | 'metaindex' | 'index' | 'footer';
  offset: number;
  /** Bytes including the 5-byte block trailer (the footer: its 56 bytes). */
  size: number;
}

export interface GetResult {
  kind: ValueKind;
  /** The entry's sequence number (<= the sequence asked for). */
  seq: number;
  /** Zero-copy view into an immutable block (see the file comment). */
  value: Uint8Array;
}

/** The 7-byte big-endian sequence of a trailer starting at o. */
function trailerSeq(k: Uint8Array, o: number): number {
  const hi = (k[o]! << 16) | (k[o + 1]! << 8) | k[o + 2]!;
  const lo = ((k[o + 3]! << 24) | (k[o + 4]! << 16) | (k[o + 5]! << 8) | k[o + 6]!) >>> 0;
  return hi * 0x1_0000_0000 + lo;
}

/** Fixed per-block overhead charged to the block cache besides the contents. */
const BLOCK_CHARGE_OVERHEAD = 128;

export class TableReader {
  readonly fileName: string;
  readonly fileSize: number;
  readonly cacheId: number;
  readonly properties: TableProperties;
  private readonly source: ReadSource;
  private readonly cache: BlockCache;
  private readonly filter: BloomFilter | undefined;
  private readonly tombstones: readonly RangeTombstone[];
  /**
   * Last internal key of each data block, in file order, concatenated in one buffer:
   * key i is indexKeyData[indexKeyOffsets[i] .. indexKeyOffsets[i+1]). One contiguous
   * buffer instead of an array of arrays: the binary search of a point get touches one
   * object, not two per probe (measured: fewer cache misses on large tables).
   */
  private readonly indexKeyData: Uint8Array;
  private readonly indexKeyOffsets: Uint32Array;
  private readonly blockCount: number;
  private readonly blockOffsets: Float64Array;
  private readonly blockSizes: Float64Array;
  /** Reused by get(): the seek key and a block iterator. */
  private seekBuf = new Uint8Array(64);
  private readonly getIter = new BlockIterator(undefined, true);
  private closed = false;
  private readonly regions: TableRegion[] = [];

  /**
   * Bytes this open reader keeps in memory outside the block cache: the decoded index
   * (keys, block offsets and sizes) and the bloom filter.
   */
  get metaBytes(): number {
    return this.indexKeyData.byteLength + this.indexKeyOffsets.byteLength + this.blockOffsets.byteLength + this.blockSizes.byteLength + (this.filter?.byteLength ?? 0);
  }

  private constructor(source: ReadSource, fileName: string, fileSize: number, cache: BlockCache, cacheId: number) {
    this.source = source;
    this.fileName = fileName;
    this.fileSize = fileSize;
    this.cache = cache;
    this.cacheId = cacheId;

    if (fileSize < FOOTER_BYTES) throw new CorruptionError(fileName, 0, `file of ${fileSize} bytes is shorter than the footer (${FOOTER_BYTES})`);
    const footerOffset = fileSize - FOOTER_BYTES;
    const footerBuf = new Uint8Array(FOOTER_BYTES);
    const n = source.read(footerBuf, footerOffset);
    if (n !== FOOTER_BYTES) throw new CorruptionError(fileName, footerOffset, `truncated: read ${n} of ${FOOTER_BYTES} footer bytes (expected file size ${fileSize})`);
    const footer = decodeFooter(footerBuf, fileName, footerOffset);
    const region = (kind: TableRegion['kind'], h: BlockHandle): void => {
      this.regions.push({ kind, offset: h.offset, size: h.size + BLOCK_TRAILER_BYTES });
    };

    // Index: decoded once into arrays for an allocation-free binary search.
    const index = new Block(this.readBlock(footer.index, 'index'), fileName, footer.index.offset);
    const keyBytes = new GrowableBuffer(Math.max(64, footer.index.size * 2));
    const keyOffsets: number[] = [0];
    const offsets: number[] = [];
    const sizes: number[] = [];
    const it = new BlockIterator(index, true);
    let prevStart = 0;
    for (it.seekToFirst(); it.valid; it.next()) {
      const key = it.key;
      if (key.length < TRAILER_BYTES) throw new CorruptionError(fileName, footer.index.offset, 'index key shorter than an internal key trailer');
      if (offsets.length > 0 && compareInternalAt(keyBytes.buf, prevStart, keyBytes.length - prevStart, key, 0, key.length) >= 0) {
        throw new CorruptionError(fileName, footer.index.offset, `index keys out of order at entry ${offsets.length}`);
      }
      prevStart = keyBytes.length;
      keyBytes.append(key);
      keyOffsets.push(keyBytes.length);
      const h = this.decodeHandle(it.value, footer.index.offset, 'index entry');
      offsets.push(h.offset);
      sizes.push(h.size);
    }
    for (let b = 0; b < offsets.length; b++) region('data', { offset: offsets[b]!, size: sizes[b]! });
    region('index', footer.index);
    region('metaindex', footer.metaindex);
    this.indexKeyData = keyBytes.bytes.slice();
    this.indexKeyOffsets = Uint32Array.from(keyOffsets);
    this.blockCount = offsets.length;
    this.blockOffsets = Float64Array.from(offsets);
    this.blockSizes = Float64Array.from(sizes);

    // Metaindex: name → handle.
    const metaindex = new Block(this.readBlock(footer.metaindex, 'metaindex'), fileName, footer.metaindex.offset);
    const meta = new Map<string, BlockHandle>();
    const dec = new TextDecoder();
    const mit = new BlockIterator(metaindex, false);
    for (mit.seekToFirst(); mit.valid; mit.next()) {
      meta.set(dec.decode(mit.key), this.decodeHandle(mit.value, footer.metaindex.offset, 'metaindex entry'));
    }

    const propsHandle = meta.get(META_PROPERTIES);
    if (!propsHandle) throw new CorruptionError(fileName, footer.metaindex.offset, 'no properties block in metaindex');
    region('properties', propsHandle);
    this.properties = decodeProperties(new Block(this.readBlock(propsHandle, 'properties'), fileName, propsHandle.offset));
    if (this.properties.dataBlocks !== this.blockCount) {
      throw new CorruptionError(fileName, footer.index.offset, `index has ${this.blockCount} blocks, properties say ${this.properties.dataBlocks}`);
    }

    const filterHandle = meta.get(META_FILTER);
    if (filterHandle) {
      region('filter', filterHandle);
      const contents = this.readBlock(filterHandle, 'filter');
      if (contents.length < 1) throw new CorruptionError(fileName, filterHandle.offset, 'empty filter block');
      this.filter = new BloomFilter(contents);
    }

    const rdHandle = meta.get(META_RANGE_DEL);
    const tombstones: RangeTombstone[] = [];
    if (rdHandle) {
      region('range-del', rdHandle);
      const rd = new Block(this.readBlock(rdHandle, 'range-del'), fileName, rdHandle.offset);
      const rit = new BlockIterator(rd, true);
      for (rit.seekToFirst(); rit.valid; rit.next()) {
        const k = rit.key;
        if (k.length < TRAILER_BYTES) throw new CorruptionError(fileName, rdHandle.offset, 'range tombstone key shorter than a trailer');
        tombstones.push({ start: k.slice(0, k.length - TRAILER_BYTES), end: new Uint8Array(rit.value), seq: sequenceOf(k) });
      }
    }
    if (tombstones.length !== this.properties.rangeTombstones) {
      throw new CorruptionError(fileName, rdHandle?.offset ?? footer.metaindex.offset, `found ${tombstones.length} range tombstones, properties say ${this.properties.rangeTombstones}`);
    }
    this.tombstones = Object.freeze(tombstones);
    this.regions.push({ kind: 'footer', offset: footerOffset, size: FOOTER_BYTES });
    this.regions.sort((a, b) => a.offset - b.offset);
  }

  /** Every block of the file and the footer, by offset. */
  layout(): readonly TableRegion[] {
    return this.regions;
  }

  /**
   * Opens a table. `file` is a path (the reader opens and closes the fd) or an fd the
   * caller keeps owning. `fileSize` is the size recorded when the table was written
   * (a shorter file is reported as truncated); undefined = take the file's current size.
   * `cacheId` keys this table's blocks in `cache` (default cache.newId(); file numbers
   * are NOT unique across stores that share a cache).
   */
  static open(file: string | number, fileName: string, fileSize: number | undefined, cache: BlockCache, cacheId?: number): TableReader {
    return TableReader.openSource(new FileReadSource(file), fileName, fileSize, cache, cacheId);
  }

  /** Like open(), over a source the reader takes ownership of (closed by close(), or here on failure). */
  static openSource(source: ReadSource, fileName: string, fileSize: number | undefined, cache: BlockCache, cacheId?: number): TableReader {
    try {
      return new TableReader(source, fileName, fileSize ?? source.size(), cache, cacheId ?? cache.newId());
    } catch (err) {
      source.close();
      throw err;
    }
  }

  /** Opens a table held in memory (e.g. TableWriter.finish().bytes). */
  static fromBytes(bytes: Uint8Array, fileName: string, cache: BlockCache, cacheId?: number): TableReader {
    return new TableReader(new BytesReadSource(bytes), fileName, bytes.length, cache, cacheId ?? cache.newId());
  }

  /** Number of data blocks. */
  get dataBlockCount(): number {
    return this.blockCount;
  }

  /** False if the bloom filter proves userKey is not in the table (true without a filter). */
  mayContain(userKey: Uint8Array): boolean {
    return this.filter === undefined || this.filter.mayContain(userKey);
  }

  /**
   * The newest point entry for userKey with sequence <= seq, or undefined. Range
   * tombstones are not applied here (see rangeTombstones(); the caller merges them).
   */
  get(userKey: Uint8Array, seq: number): GetResult | undefined {
    this.checkOpen();
    if (this.filter !== undefined && !this.filter.mayContain(userKey)) return undefined;
    const tlen = userKey.length + TRAILER_BYTES;
    if (tlen > this.seekBuf.length) this.seekBuf = new Uint8Array(Math.max(tlen, this.seekBuf.length * 2));
    const target = this.seekBuf;
    target.set(userKey, 0);
    writeTrailer(target, userKey.length, seq, 0xff as ValueKind);
    const i = this.findBlock(target, tlen);
    if (i === this.blockCount) return undefined;
    const it = this.getIter;
    it.reset(this.dataBlock(i));
    it.seek(target, tlen);
    if (!it.valid) throw new CorruptionError(this.fileName, this.blockOffsets[i], 'data block has no key <= its index key');
    const kb = it.keyBuffer;
    const klen = it.keyLength;
    if (!userKeyEquals(kb, 0, klen, userKey)) return undefined;
    const start = it.valueStart;
    return { kind: kb[klen - 1] as ValueKind, seq: trailerSeq(kb, klen - TRAILER_BYTES), value: it.blockData.subarray(start, start + it.valueLength) };
  }

  /**
   * Reads every data block from the file (bypassing the cache) and checks its CRC and
   * encoding: open() already checked all other blocks. For restore paths that want to
   * know a downloaded table is intact before using it. Throws CorruptionError.
   */
  verifyChecksums(): void {
    this.checkOpen();
    const it = new BlockIterator(undefined, true);
    for (let i = 0; i < this.blockCount; i++) {
      const offset = this.blockOffsets[i]!;
      const block = new Block(this.readBlock({ offset, size: this.blockSizes[i]! }, 'data'), this.fileName, offset);
      it.reset(block);
      let n = 0;
      for (it.seekToFirst(); it.valid; it.next()) n++;
      if (n === 0) throw new CorruptionError(this.fileName, offset, 'empty data block');
    }
  }

  /** The table's range tombstones, sorted by (start asc, seq desc). Frozen, cached. */
  rangeTombstones(): readonly RangeTombstone[] {
    return this.tombstones;
  }

  /** A new iterator over the table's point entries (internal keys). Unpositioned. */
  iterator(): TableIterator {
    this.checkOpen();
    return new TableIterator(this);
  }

  /** Closes the fd (if the reader opened it). Blocks stay in the cache under cacheId. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.source.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }

  // ---- internal, used by TableIterator ----

  /** Index of the first data block whose last key >= target, or blockCount if none. */
  findBlock(target: Uint8Array, targetLen: number): number {
    const data = this.indexKeyData;
    const offs = this.indexKeyOffsets;
    let lo = 0;
    let hi = this.blockCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const start = offs[mid]!;
      if (compareInternalAt(data, start, offs[mid + 1]! - start, target, 0, targetLen) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Data block i, from the cache or read + verified + inserted. */
  dataBlock(i: number): Block {
    const offset = this.blockOffsets[i]!;
    const cached = this.cache.get(this.cacheId, offset);
    if (cached !== undefined) return cached as Block;
    this.checkOpen();
    const block = new Block(this.readBlock({ offset, size: this.blockSizes[i]! }, 'data'), this.fileName, offset);
    this.cache.insert(this.cacheId, offset, block, block.data.length + BLOCK_CHARGE_OVERHEAD);
    return block;
  }

  private checkOpen(): void {
    assert(!this.closed, () => `table ${this.fileName} is closed`);
  }

  private decodeHandle(bytes: Uint8Array, blockOffset: number, what: string): BlockHandle {
    const d = decodeBlockHandle(bytes, 0, bytes.length);
    if (!d || d.pos !== bytes.length) throw new CorruptionError(this.fileName, blockOffset, `malformed block handle in ${what}`);
    return d.handle;
  }

  /** Reads a block + trailer, verifies the CRC, decompresses; returns the contents. */
  private readBlock(h: BlockHandle, what: string): Uint8Array {
    const limit = this.fileSize - FOOTER_BYTES;
    if (h.offset + h.size + BLOCK_TRAILER_BYTES > limit) {
      throw new CorruptionError(this.fileName, h.offset, `${what} block handle (offset ${h.offset}, size ${h.size}) points past the end of the blocks (${limit})`);
    }
    const n = h.size + BLOCK_TRAILER_BYTES;
    // allocUnsafeSlow: a block's memory is its own (not a slice of the shared pool),
    // so a cached block does not pin unrelated memory. Fully overwritten by the read.
    const buf = new Uint8Array(Buffer.allocUnsafeSlow(n).buffer, 0, n);
    const got = this.source.read(buf, h.offset);
    if (got !== n) throw new CorruptionError(this.fileName, h.offset, `truncated: read ${got} of ${n} bytes of the ${what} block`);
    const stored = buf.subarray(0, h.size);
    const type = buf[h.size]!;
    const expected = readU32(buf, h.size + 1);
    const actual = blockChecksum(stored, type);
    if (expected !== actual) {
      throw new CorruptionError(this.fileName, h.offset, `${what} block checksum mismatch (stored ${expected.toString(16)}, computed ${actual.toString(16)})`);
    }
    if (type === COMPRESSION_NONE) return stored;
    if (compressionName(type) === undefined) throw new CorruptionError(this.fileName, h.offset, `${what} block has unknown compression type ${type}`);
    try {
      const out = decompressBlock(type, stored);
      // A plain Uint8Array view (codecs return Buffers, whose slice() does not copy).
      return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    } catch (err) {
      throw new CorruptionError(this.fileName, h.offset, `${what} block does not decompress: ${errorMessage(err)}`, { cause: err });
    }
  }
}

/**
 * A two-level iterator: the index picks the data block, a BlockIterator walks it.
 * Keys are internal keys (user key ‖ seq ‖ kind) in internal-key order. Holds its
 * current block, so it keeps working after that block is evicted from the cache; it
 * needs the reader open only to load further blocks.
 */
export class TableIterator {
  private readonly reader: TableReader;
  private readonly blockIter = new BlockIterator(undefined, true);
  /** Current data block index; -1 or blockCount when not positioned. */
  private blockIndex = -1;
  private blockValid = false;

  constructor(reader: TableReader) {
    this.reader = reader;
  }

  get valid(): boolean {
    return this.blockValid && this.blockIter.valid;
  }

  /** The current internal key: valid until the iterator moves. */
  get key(): Uint8Array {
    assert(this.valid, 'key of an invalid iterator');
    return this.blockIter.key;
  }

  /** The user-key part of the current key: a view valid until the iterator moves. */
  get userKey(): Uint8Array {
    assert(this.valid, 'userKey of an invalid iterator');
    return this.blockIter.keyBuffer.subarray(0, this.blockIter.keyLength - TRAILER_BYTES);
  }

  /** Sequence number of the current entry (no allocation). */
  get seq(): number {
    assert(this.valid, 'seq of an invalid iterator');
    return trailerSeq(this.blockIter.keyBuffer, this.blockIter.keyLength - TRAILER_BYTES);
  }

  /** Kind of the current entry (Put or Delete; no allocation). */
  get kind(): ValueKind {
    assert(this.valid, 'kind of an invalid iterator');
    return this.blockIter.keyBuffer[this.blockIter.keyLength - 1] as ValueKind;
  }

  /** The current value: zero-copy, valid as long as referenced. */
  get value(): Uint8Array {
    assert(this.valid, 'value of an invalid iterator');
    return this.blockIter.value;
  }

  seekToFirst(): void {
    this.loadBlock(0);
    if (this.blockValid) this.blockIter.seekToFirst();
    this.skipEmptyForward();
  }

  seekToLast(): void {
    this.loadBlock(this.reader.dataBlockCount - 1);
    if (this.blockValid) this.blockIter.seekToLast();
    this.skipEmptyBackward();
  }

  /** Positions at the first entry with internal key >= target. */
  seek(target: Uint8Array): void {
    assert(target.length >= TRAILER_BYTES, 'seek target is not an internal key (use seekKey(userKey, seq))');
    this.loadBlock(this.reader.findBlock(target, target.length));
    if (this.blockValid) this.blockIter.seek(target);
    this.skipEmptyForward();
  }

  next(): void {
    assert(this.valid, 'next() on an invalid iterator');
    this.blockIter.next();
    this.skipEmptyForward();
  }

  prev(): void {
    assert(this.valid, 'prev() on an invalid iterator');
    this.blockIter.prev();
    this.skipEmptyBackward();
  }

  private loadBlock(i: number): void {
    this.blockIndex = i;
    if (i < 0 || i >= this.reader.dataBlockCount) {
      this.blockValid = false;
      return;
    }
    this.blockIter.reset(this.reader.dataBlock(i));
    this.blockValid = true;
  }

  private skipEmptyForward(): void {
    // Bounded by the number of blocks.
    while (this.blockValid && !this.blockIter.valid) {
      this.loadBlock(this.blockIndex + 1);
      if (this.blockValid) this.blockIter.seekToFirst();
    }
  }

  private skipEmptyBackward(): void {
    while (this.blockValid && !this.blockIter.valid) {
      this.loadBlock(this.blockIndex - 1);
      if (this.blockValid) this.blockIter.seekToLast();
    }
  }
}

/**
 * Writes one sstable (format in sstable/format.ts). Two modes:
 *  - streaming (TableWriter.toFile, what flushes and compactions use): finished blocks
 *    are appended to `<path>.tmp` whenever STREAM_CHUNK bytes are pending, so a writer
 *    holds one chunk, the block being built, the index and the filter — not the whole
 *    table (a 64 MiB memtable used to cost one more 64-128 MiB buffer on the worker);
 *    finishToFile() writes the tail, fsyncs, renames to path and fsyncs the directory;
 *  - in memory (new TableWriter): finish() returns the whole file as bytes (tests, tools).
 * It is meant to run on a flush/compaction worker thread (synchronous I/O).
 *
 * Ownership: a TableWriter is used by one caller, from construction to finish(). Keys
 * must arrive strictly increasing in internal-key order (asserted: a violation means
 * the caller's merge is broken, and a table written out of order would return wrong
 * data forever). The writer copies what it needs, so the caller may reuse its key and
 * value buffers right after add() returns. Buffers are reused across blocks, so
 * steady-state add() allocates nothing.
 */
import { dirname } from 'node:path';
import { assert } from '../../util/assert.ts';
import { compareBytes } from '../../util/bytes.ts';
import { ConfigError } from '../../util/errors.ts';
import { compressBlock, compressionType, DEFAULT_COMPRESSION, type CompressionName } from '../compression.ts';
import { encodeInternalKey, TRAILER_BYTES, ValueKind } from '../internal-key.ts';
import { BlockBuilder } from './block-builder.ts';
import { BloomFilterBuilder } from './bloom.ts';
import {
  BLOCK_TRAILER_BYTES, encodeBlockHandle, encodeFooter, FORMAT_VERSION, FORMAT_VERSION_MERGE, META_FILTER, META_PROPERTIES, META_RANGE_DEL,
  writeBlockTrailer, type BlockHandle,
} from './format.ts';
import { GrowableBuffer } from './growable-buffer.ts';
import { realFs } from '../vfs/real-fs.ts';
import type { Vfs, WritableFile } from '../vfs/vfs.ts';

/** Streaming mode writes to the file in chunks of about this many bytes. */
const STREAM_CHUNK = 256 * 1024;
import { encodeProperties, type TableProperties } from './properties.ts';

export interface TableWriterOptions {
  /** Target uncompressed data block size in bytes. Default 4096. */
  blockSize?: number;
  /** Restart point every this many keys in data blocks. Default 16. */
  restartInterval?: number;
  /** Bloom filter bits per user key; 0 = no filter block. Default 10. */
  bloomBitsPerKey?: number;
  /** Default DEFAULT_COMPRESSION (compression.ts). */
  compression?: CompressionName;
  /** Recorded in the properties block (ms since epoch from the caller's Clock). Default 0. */
  creationTime?: number;
  /** Recorded in the properties block ("flush", "compaction", …). Default "". */
  creator?: string;
}

export interface RangeTombstone {
  /** Inclusive start user key. */
  start: Uint8Array;
  /** Exclusive end user key. */
  end: Uint8Array;
  seq: number;
}

export interface TableWriteResult {
  /**
   * The whole file in memory mode (empty when the writer streamed to a file). byteOffset
   * is 0, but the underlying ArrayBuffer may be longer than `bytes.length` (the writer's
   * buffer; no copy): write or transfer `bytes`, not `bytes.buffer`.
   */
  bytes: Uint8Array;
  /** Smallest / largest user key, range tombstones included (see TableProperties). */
  smallest: Uint8Array;
  largest: Uint8Array;
  /** Point entries + range tombstones. */
  entries: number;
  /** File size in bytes (= bytes.length in memory mode). */
  size: number;
  minSeq: number;
  maxSeq: number;
  properties: TableProperties;
}

export class TableWriter {
  readonly blockSize: number;
  readonly restartInterval: number;
  readonly bloomBitsPerKey: number;
  readonly compression: CompressionName;
  private readonly compressionType: number;
  private readonly creationTime: number;
  private readonly creator: string;

  /** Bytes not yet handed to the sink (in memory mode: the whole file). */
  private readonly file = new GrowableBuffer(1 << 16);
  /** Streaming mode: the open temp file, its path and final path, bytes already written to it. */
  private sink: { file: WritableFile; fs: Vfs; tmp: string; path: string } | undefined;
  private flushed = 0;
  private readonly dataBlock: BlockBuilder;
  private readonly indexBlock = new BlockBuilder(1);
  private readonly bloom: BloomFilterBuilder | undefined;
  private readonly tombstones: RangeTombstone[] = [];
  private readonly handleScratch = new Uint8Array(20);

  /** Copy of the last key added (order check, bloom dedup, smallest/largest). */
  private lastKey = new Uint8Array(64);
  private lastKeyLen = 0;
  private firstUserKey: Uint8Array | undefined;

  private pointEntries = 0;
  private deletions = 0;
  /** Merge operands written: a table with any is format version 2 (format.ts). */
  private mergeOperands = 0;
  private dataBlocks = 0;
  private dataSize = 0;
  private rawKeySize = 0;
  private rawValueSize = 0;
  private minSeq = Number.POSITIVE_INFINITY;
  private maxSeq = -1;
  private finished = false;

  constructor(options: TableWriterOptions = {}) {
    this.blockSize = options.blockSize ?? 4096;
    this.restartInterval = options.restartInterval ?? 16;
    this.bloomBitsPerKey = options.bloomBitsPerKey ?? 10;
    this.compression = options.compression ?? DEFAULT_COMPRESSION;
    this.creationTime = options.creationTime ?? 0;
    this.creator = options.creator ?? '';
    if (!Number.isInteger(this.blockSize) || this.blockSize < 1) throw new ConfigError(`blockSize must be a positive integer, got ${this.blockSize}`);
    if (!Number.isInteger(this.restartInterval) || this.restartInterval < 1) throw new ConfigError(`restartInterval must be a positive integer, got ${this.restartInterval}`);
    if (!Number.isInteger(this.bloomBitsPerKey) || this.bloomBitsPerKey < 0) throw new ConfigError(`bloomBitsPerKey must be an integer >= 0, got ${this.bloomBitsPerKey}`);
    if (this.compression !== 'none' && this.compression !== 'snappy' && this.compression !== 'lz4') throw new ConfigError(`unknown compression ${String(this.compression)}`);
    this.compressionType = compressionType(this.compression);
    this.dataBlock = new BlockBuilder(this.restartInterval);
    this.bloom = this.bloomBitsPerKey > 0 ? new BloomFilterBuilder(this.bloomBitsPerKey) : undefined;
  }

  /** Number of point entries added so far. */
  get count(): number {
    return this.pointEntries;
  }

  /**
   * A streaming writer of the table at `path` (see the file comment): creates
   * `<path>.tmp` now; finishToFile() completes it, abort() removes it.
   */
  static toFile(path: string, fs: Vfs, options: TableWriterOptions = {}): TableWriter {
    const w = new TableWriter(options);
    const tmp = `${path}.tmp`;
    w.sink = { file: fs.create(tmp), fs, tmp, path };
    return w;
  }

  /** Bytes of the file written so far (finished blocks), for output splitting. */
  get estimatedFileSize(): number {
    return this.flushed + this.file.length + this.dataBlock.estimatedSize;
  }

  /** Streaming mode: hands pending bytes to the file once a chunk has accumulated (or all, at the end). */
  private drain(all: boolean): void {
    const sink = this.sink;
    if (sink === undefined || this.file.length === 0 || (!all && this.file.length < STREAM_CHUNK)) return;
    sink.file.write(this.file.bytes);
    this.flushed += this.file.length;
    this.file.length = 0;
  }

  /** Adds an entry; internalKey must sort strictly after the previous one. */
  add(internalKey: Uint8Array, value: Uint8Array): void {
    assert(!this.finished, 'TableWriter.add after finish');
    const klen = internalKey.length;
    assert(klen >= TRAILER_BYTES, 'internal key shorter than its trailer');
    const ulen = klen - TRAILER_BYTES;
    let newUserKey = true;
    if (this.pointEntries > 0) {
      // Order check against the previous key, and user-key change detection (bloom).
      const last = this.lastKey;
      const lu = this.lastKeyLen - TRAILER_BYTES;
      const n = lu < ulen ? lu : ulen;
      let d = 0;
      for (let i = 0; i < n && d === 0; i++) d = internalKey[i]! - last[i]!;
      if (d === 0) d = ulen - lu;
      if (d === 0) {
        newUserKey = false;
        // Same user key: the trailer must be strictly smaller (older) than the previous one.
        for (let i = 0; i < TRAILER_BYTES && d === 0; i++) d = last[lu + i]! - internalKey[ulen + i]!;
      }
      assert(d > 0, 'TableWriter.add: keys must be strictly increasing in internal-key order');
    } else {
      this.firstUserKey = new Uint8Array(internalKey.subarray(0, ulen));
    }
    if (newUserKey && this.bloom) this.bloom.addKey(internalKey, 0, ulen);

    if (klen > this.lastKey.length) this.lastKey = new Uint8Array(Math.max(klen, this.lastKey.length * 2));
    const lk = this.lastKey;
    for (let i = 0; i < klen; i++) lk[i] = internalKey[i]!;
    this.lastKeyLen = klen;

    // Sequence (7 bytes big-endian) and kind, without allocating.
    const o = ulen;
    const seq = ((internalKey[o]! << 16) | (internalKey[o + 1]! << 8) | internalKey[o + 2]!) * 0x1_0000_0000
      + (((internalKey[o + 3]! << 24) | (internalKey[o + 4]! << 16) | (internalKey[o + 5]! << 8) | internalKey[o + 6]!) >>> 0);
    if (seq < this.minSeq) this.minSeq = seq;
    if (seq > this.maxSeq) this.maxSeq = seq;
    if (internalKey[klen - 1] === ValueKind.Delete) this.deletions++;
    else if (internalKey[klen - 1] === ValueKind.Merge) this.mergeOperands++;
    this.pointEntries++;
    this.rawKeySize += klen;
    this.rawValueSize += value.length;

    this.dataBlock.add(internalKey, value);
    if (this.dataBlock.estimatedSize >= this.blockSize) this.flushDataBlock();
  }

  /** Adds a range tombstone deleting user keys in [start, end) with sequence <= seq. Any order. */
  addRangeTombstone(start: Uint8Array, end: Uint8Array, seq: number): void {
    assert(!this.finished, 'TableWriter.addRangeTombstone after finish');
    assert(compareBytes(start, end) < 0, 'range tombstone start must be < end');
    assert(Number.isSafeInteger(seq) && seq >= 0, 'range tombstone sequence out of range');
    // new Uint8Array(x) copies (Buffer#slice would not): the caller may reuse its buffers.
    this.tombstones.push({ start: new Uint8Array(start), end: new Uint8Array(end), seq });
    if (seq < this.minSeq) this.minSeq = seq;
    if (seq > this.maxSeq) this.maxSeq = seq;
  }

  /** Builds the footer and returns the whole file. The writer cannot be used afterwards. */
  finish(): TableWriteResult {
    assert(!this.finished, 'TableWriter.finish twice');
    if (!this.dataBlock.empty) this.flushDataBlock();
    this.finished = true;

    const meta: [string, BlockHandle][] = [];
    let filterSize = 0;
    if (this.bloom) {
      const filter = this.bloom.build();
      meta.push([META_FILTER, this.writeRawBlock(filter, 0)]);
      filterSize = filter.length + BLOCK_TRAILER_BYTES;
    }

    // Range tombstones, sorted like internal keys (start asc, seq desc), exact duplicates dropped.
    const ts = this.tombstones;
    ts.sort((a, b) => compareBytes(a.start, b.start) || b.seq - a.seq || compareBytes(a.end, b.end));
    let smallest: Uint8Array | undefined = this.firstUserKey;
    let largest: Uint8Array | undefined = this.pointEntries > 0 ? this.lastKey.slice(0, this.lastKeyLen - TRAILER_BYTES) : undefined;
    let uniqueTombstones = 0;
    if (ts.length > 0) {
      const rd = new BlockBuilder(1);
      let prev: RangeTombstone | undefined;
      for (const t of ts) {
        if (prev && prev.seq === t.seq && compareBytes(prev.start, t.start) === 0 && compareBytes(prev.end, t.end) === 0) continue;
        rd.add(encodeInternalKey(t.start, t.seq, ValueKind.Delete), t.end);
        uniqueTombstones++;
        prev = t;
        if (!smallest || compareBytes(t.start, smallest) < 0) smallest = t.start;
        if (!largest || compareBytes(t.end, largest) > 0) largest = t.end;
      }
      meta.push([META_RANGE_DEL, this.writeBlock(rd.finish())]);
    }

    const empty = this.pointEntries === 0 && uniqueTombstones === 0;
    const properties: TableProperties = {
      pointEntries: this.pointEntries,
      deletions: this.deletions,
      rangeTombstones: uniqueTombstones,
      dataBlocks: this.dataBlocks,
      dataSize: this.dataSize,
      indexSize: 0,
      filterSize,
      rawKeySize: this.rawKeySize,
      rawValueSize: this.rawValueSize,
      smallestKey: smallest ?? new Uint8Array(0),
      largestKey: largest ?? new Uint8Array(0),
      minSeq: empty ? 0 : this.minSeq,
      maxSeq: empty ? 0 : this.maxSeq,
      compression: this.compression,
      blockSize: this.blockSize,
      restartInterval: this.restartInterval,
      bloomBitsPerKey: this.bloomBitsPerKey,
      creationTime: this.creationTime,
      creator: this.creator,
    };
    // The index is written after the properties, so record its uncompressed size.
    const indexContents = this.indexBlock.finish();
    properties.indexSize = indexContents.length;
    meta.push([META_PROPERTIES, this.writeBlock(encodeProperties(properties))]);

    meta.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    const metaindex = new BlockBuilder(1);
    const enc = new TextEncoder();
    for (const [name, handle] of meta) {
      metaindex.add(enc.encode(name), this.handleScratch.slice(0, encodeBlockHandle(this.handleScratch, 0, handle)));
    }
    const metaindexHandle = this.writeBlock(metaindex.finish());
    const indexHandle = this.writeBlock(indexContents);
    this.file.append(encodeFooter({ metaindex: metaindexHandle, index: indexHandle, version: this.mergeOperands > 0 ? FORMAT_VERSION_MERGE : FORMAT_VERSION }));
    const size = this.flushed + this.file.length;
    this.drain(true);

    return {
      bytes: this.sink === undefined ? this.file.bytes : new Uint8Array(0),
      size,
      smallest: properties.smallestKey,
      largest: properties.largestKey,
      entries: this.pointEntries + uniqueTombstones,
      minSeq: properties.minSeq,
      maxSeq: properties.maxSeq,
      properties,
    };
  }

  /**
   * finish() and write the file durably: `<path>.tmp`, fsync, rename to path, fsync the
   * directory. Synchronous (call it on a worker thread). The temp file is removed on
   * failure. A streaming writer (toFile) takes no arguments: it completes its own file.
   */
  finishToFile(path?: string, fs: Vfs = realFs): TableWriteResult {
    if (this.sink === undefined) {
      // In-memory writer: finish, then write the whole file (result.bytes stays available).
      assert(path !== undefined, 'finishToFile: path required for an in-memory writer');
      const result = this.finish();
      const tmp = `${path}.tmp`;
      const f = fs.create(tmp);
      try {
        f.write(result.bytes);
        f.sync();
        f.close();
      } catch (err) {
        try { f.close(); } catch { /* reporting the first error */ }
        try { fs.remove(tmp); } catch { /* already gone */ }
        throw err;
      }
      fs.rename(tmp, path);
      fs.syncDir(dirname(path));
      return result;
    }
    const sink = this.sink;
    try {
      const result = this.finish();
      sink.file.sync();
      this.sink = undefined; // never close the fd twice (the number may be reused)
      sink.file.close();
      sink.fs.rename(sink.tmp, sink.path);
      sink.fs.syncDir(dirname(sink.path));
      return result;
    } catch (err) {
      if (this.sink !== undefined) this.abort();
      else try { sink.fs.remove(sink.tmp); } catch { /* renamed already, or gone */ }
      throw err;
    }
  }

  /** Streaming mode: closes and removes the temp file (after a failure). Idempotent. */
  abort(): void {
    const sink = this.sink;
    if (sink === undefined) return;
    this.sink = undefined;
    this.finished = true;
    try { sink.file.close(); } catch { /* already closed, or reporting the first error */ }
    try { sink.fs.remove(sink.tmp); } catch { /* already gone */ }
  }

  private flushDataBlock(): void {
    const contents = this.dataBlock.finish();
    const start = this.file.length;
    const handle = this.writeBlock(contents);
    this.dataSize += this.file.length - start;
    this.dataBlocks++;
    const n = encodeBlockHandle(this.handleScratch, 0, handle);
    this.indexBlock.add(this.dataBlock.lastKeyView, this.handleScratch.subarray(0, n));
    this.dataBlock.reset();
    this.drain(false);
  }

  /** Writes a block with the table's codec (if it saves >= 12.5%) and its trailer. */
  private writeBlock(contents: Uint8Array): BlockHandle {
    const compressed = this.compressionType === 0 ? undefined : compressBlock(this.compressionType, contents);
    return compressed ? this.writeRawBlock(compressed, this.compressionType) : this.writeRawBlock(contents, 0);
  }

  private writeRawBlock(stored: Uint8Array, type: number): BlockHandle {
    const file = this.file;
    const handle = { offset: this.flushed + file.length, size: stored.length };
    file.append(stored);
    file.ensure(BLOCK_TRAILER_BYTES);
    writeBlockTrailer(file.buf, file.length, stored, type);
    file.length += BLOCK_TRAILER_BYTES;
    return handle;
  }
}

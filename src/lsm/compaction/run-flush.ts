/**
 * Flush: writes a sealed memtable's entries (in internal-key order, newest version per
 * key — a merge chain already folded, see Memtable.encodeForFlush) and range tombstones
 * into one L0 table. Runs on the
 * flush thread or inline; the table streams to its file (TableWriter.toFile). On the
 * flush thread the job carries a memtable image (Memtable.flushImage) and the sort and
 * encoding happen here, off the store's thread.
 */
import { TableWriter } from '../sstable/table-writer.ts';
import { writeTrailer, ValueKind, TRAILER_BYTES } from '../internal-key.ts';
import { DELETE_VLEN, FLUSH_ENTRY_HEADER, FLUSH_MERGE_FLAG, Memtable, type FlushPayload } from '../memtable/memtable.ts';
import { compareBytes } from '../../util/bytes.ts';
import type { FileMeta } from '../version/file-meta.ts';
import type { FlushJob, JobResult } from './job-types.ts';
import { realFs } from '../vfs/real-fs.ts';
import type { Vfs } from '../vfs/vfs.ts';

const EMPTY = new Uint8Array(0);

export function runFlush(job: FlushJob, fs: Vfs = realFs): JobResult {
  const { output, table } = job;
  const payload: FlushPayload = 'buffer' in job.payload ? job.payload : Memtable.fromFlushImage(job.payload).encodeForFlush();
  const w = TableWriter.toFile(output.path, fs, { ...table, creator: 'flush' });
  let first: Uint8Array | undefined;
  let lastOff = -1;
  let lastLen = 0;
  const bytes = new Uint8Array(payload.buffer);
  try {
    const dv = new DataView(payload.buffer);
    let ikey = new Uint8Array(64);
    let off = 0;
    for (let i = 0; i < payload.count; i++) {
      const klen = dv.getUint32(off, true);
      const vlen = dv.getUint32(off + 4, true);
      const hi = dv.getUint32(off + 8, true);
      const merge = (hi & FLUSH_MERGE_FLAG) !== 0;
      const seq = (merge ? hi - FLUSH_MERGE_FLAG : hi) * 0x1_0000_0000 + dv.getUint32(off + 12, true);
      off += FLUSH_ENTRY_HEADER;
      if (ikey.length < klen + TRAILER_BYTES) ikey = new Uint8Array((klen + TRAILER_BYTES) * 2);
      ikey.set(bytes.subarray(off, off + klen), 0);
      const isDelete = vlen === DELETE_VLEN;
      writeTrailer(ikey, klen, seq, isDelete ? ValueKind.Delete : merge ? ValueKind.Merge : ValueKind.Put);
      if (first === undefined) first = bytes.slice(off, off + klen);
      lastOff = off;
      lastLen = klen;
      off += klen;
      const value = isDelete ? EMPTY : bytes.subarray(off, off + vlen);
      if (!isDelete) off += vlen;
      w.add(ikey.subarray(0, klen + TRAILER_BYTES), value);
    }
    for (const t of payload.tombstones) w.addRangeTombstone(t.start, t.end, t.seq);
  } catch (err) {
    w.abort();
    throw err;
  }
  const r = w.finishToFile();
  let smallest: Uint8Array;
  let largest: Uint8Array;
  if (first !== undefined) {
    smallest = first;
    largest = bytes.slice(lastOff, lastOff + lastLen);
  } else {
    // Tombstones only: a one-key placeholder range at the smallest start (file-meta.ts).
    let s = payload.tombstones[0]!.start;
    for (const t of payload.tombstones) if (compareBytes(t.start, s) < 0) s = t.start;
    smallest = s;
    largest = s;
  }
  const meta: FileMeta = {
    number: output.number,
    name: output.name,
    size: r.size,
    smallest,
    largest,
    entries: r.entries,
    minSeq: payload.minSeq,
    maxSeq: payload.maxSeq,
    tombstones: payload.tombstones.map((t) => ({ start: t.start, end: t.end, seq: t.seq })),
  };
  return { outputs: [meta], bytesWritten: r.size, entriesDropped: 0 };
}

/**
 * Flush: writes a sealed memtable's entries (in internal-key order, newest version per
 * key — a merge chain already folded, see Memtable.encodeForFlush) and range tombstones
 * into one L0 table. Runs on the
 * flush thread or inline; the table streams to its file (TableWriter.toFile). On the
 * flush thread the job carries a memtable image (Memtable.flushImage): it is sorted here,
 * off the store's thread, and its entries go straight from the image's slabs into the
 * table (Memtable.visitForFlush), with no encoded copy of the memtable in between.
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
  const w = TableWriter.toFile(output.path, fs, { ...table, creator: 'flush' });
  let first: Uint8Array | undefined;
  let last: Uint8Array | undefined;
  let ikey = new Uint8Array(64);
  /** One entry into the table; `key` may be a view that is only valid during the call. */
  const add = (key: Uint8Array, value: Uint8Array | undefined, seq: number, kind: ValueKind): void => {
    const klen = key.length;
    if (ikey.length < klen + TRAILER_BYTES) ikey = new Uint8Array((klen + TRAILER_BYTES) * 2);
    ikey.set(key, 0);
    writeTrailer(ikey, klen, seq, kind);
    if (first === undefined) first = key.slice();
    last = key;
    w.add(ikey.subarray(0, klen + TRAILER_BYTES), value ?? EMPTY);
  };
  let tombstones: FlushPayload['tombstones'];
  let minSeq: number;
  let maxSeq: number;
  try {
    if ('buffer' in job.payload) {
      // Encoded on the store's thread (the inline runner): decode and add.
      const payload = job.payload;
      ({ tombstones, minSeq, maxSeq } = payload);
      const bytes = new Uint8Array(payload.buffer);
      const dv = new DataView(payload.buffer);
      let off = 0;
      for (let i = 0; i < payload.count; i++) {
        const klen = dv.getUint32(off, true);
        const vlen = dv.getUint32(off + 4, true);
        const hi = dv.getUint32(off + 8, true);
        const merge = (hi & FLUSH_MERGE_FLAG) !== 0;
        const seq = (merge ? hi - FLUSH_MERGE_FLAG : hi) * 0x1_0000_0000 + dv.getUint32(off + 12, true);
        off += FLUSH_ENTRY_HEADER;
        const key = bytes.subarray(off, off + klen);
        off += klen;
        if (vlen === DELETE_VLEN) {
          add(key, undefined, seq, ValueKind.Delete);
        } else {
          add(key, bytes.subarray(off, off + vlen), seq, merge ? ValueKind.Merge : ValueKind.Put);
          off += vlen;
        }
      }
    } else {
      // A memtable image (the flush thread): sorted here and streamed into the table.
      const mem = Memtable.fromFlushImage(job.payload);
      ({ minSeq, maxSeq } = job.payload);
      tombstones = job.payload.tombstones;
      mem.visitForFlush(add);
    }
    for (const t of tombstones) w.addRangeTombstone(t.start, t.end, t.seq);
  } catch (err) {
    w.abort();
    throw err;
  }
  const r = w.finishToFile();
  let smallest: Uint8Array;
  let largest: Uint8Array;
  if (first !== undefined) {
    smallest = first;
    largest = last!.slice();
  } else {
    // Tombstones only: a one-key placeholder range at the smallest start (file-meta.ts).
    let s = tombstones[0]!.start;
    for (const t of tombstones) if (compareBytes(t.start, s) < 0) s = t.start;
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
    minSeq,
    maxSeq,
    tombstones: tombstones.map((t) => ({ start: t.start, end: t.end, seq: t.seq })),
  };
  return { outputs: [meta], bytesWritten: r.size, entriesDropped: 0 };
}

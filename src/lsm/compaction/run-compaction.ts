/**
 * Compaction: merges the input tables into new tables for the output level.
 *
 * What is dropped (nothing else):
 *  - every version of a user key but the newest among the inputs — readers that need
 *    older versions (iterators, snapshots) pin the input files themselves, so no
 *    sequence needs to be kept for them;
 *  - the newest version when an input range tombstone with a larger sequence covers it;
 *  - a point deletion when no file deeper than the output level may hold the key
 *    (older versions of a key only ever live deeper);
 *  - a range tombstone when no other file of the version (any level) touches its range:
 *    everything it could hide is in the inputs, already dropped above. Later writes
 *    all have larger sequences, so they are never hidden by it.
 * Merge operands (../merge.ts): when a key's newest version is an operand, the versions
 * below it in the inputs are folded in, down to the newest base:
 *  - a Put → one Put of base ‖ operands;
 *  - a Delete, or an input version older than a covering input range tombstone → one Put
 *    of the operands (a Put hides everything older, as the deletion did: deeper versions
 *    of the key are older than any input version);
 *  - no base in the inputs → one Put of the operands if no deeper file may hold the key
 *    (the output is in effect the bottommost level for it), else ONE Merge operand of
 *    the operands concatenated, to be folded by a later compaction or read. A covering
 *    input tombstone alone is NOT a base here: tombstones travel with any output file
 *    (file-meta.ts), so a deeper file may hold a version of the key newer than it; the
 *    Merge keeps the tombstone's effect to the reads, which compare sequences.
 * The output carries the newest operand's sequence.
 * Output is split at targetFileBytes between user keys. Surviving range tombstones
 * travel with the first output (their placement does not matter, see file-meta.ts).
 */
import { BlockCache } from '../cache/block-cache.ts';
import { TableReader } from '../sstable/table-reader.ts';
import { TableWriter } from '../sstable/table-writer.ts';
import { MergingCursor } from '../merging-cursor.ts';
import { TableCursor } from '../table-cursor.ts';
import { FragmentedTombstones, type RangeTombstone } from '../range-tombstones.ts';
import { MAX_SEQUENCE, TRAILER_BYTES, ValueKind, writeTrailer } from '../internal-key.ts';
import { MergeAcc } from '../merge.ts';
import { compareBytes, equalBytes } from '../../util/bytes.ts';
import { fileIndexContaining, touchesRange, type FileMeta } from '../version/file-meta.ts';
import type { CompactionJob, JobResult, OtherFile, OutputSlot } from './job-types.ts';
import { realFs } from '../vfs/real-fs.ts';
import type { Vfs } from '../vfs/vfs.ts';

const EMPTY = new Uint8Array(0);

function touchesOther(o: OtherFile, lo: Uint8Array, hi: Uint8Array): boolean {
  return touchesRange({ smallest: o.smallest, largest: o.largest, tombstones: o.tombstones as RangeTombstone[] } as unknown as FileMeta, lo, hi);
}

export function runCompaction(job: CompactionJob, fs: Vfs = realFs): JobResult {
  const cache = new BlockCache(8 * 1024 * 1024);
  const readers: TableReader[] = [];
  /** The output being written, removed (its temp file) if the compaction fails. */
  let open: TableWriter | null = null;
  try {
    for (const inp of job.inputs) readers.push(TableReader.openSource(fs.openRead(inp.path), inp.name, undefined, cache));
    const tombs: RangeTombstone[] = [];
    for (const r of readers) for (const t of r.rangeTombstones()) tombs.push({ start: t.start, end: t.end, seq: t.seq });
    const tombIndex = new FragmentedTombstones(tombs);
    const keptTombs = tombs.filter((t) => job.others.some((o) => touchesOther(o, t.start, t.end)));
    // Files below the output level, per level (sorted and disjoint there): binary search.
    const deeper: OtherFile[][] = [];
    for (const o of job.others) if (o.level > job.outputLevel) (deeper[o.level] ??= []).push(o);
    const deeperLevels = deeper.filter((l) => l !== undefined);
    for (const l of deeperLevels) l.sort((a, b) => compareBytes(a.smallest, b.smallest));
    const mayExistBelow = (key: Uint8Array): boolean => deeperLevels.some((files) => fileIndexContaining(files, key) >= 0);

    const merged = new MergingCursor(readers.map((r) => new TableCursor(r.iterator())));
    merged.seekToFirst();

    const outputs: FileMeta[] = [];
    let bytesWritten = 0;
    let dropped = 0;
    let slotIndex = 0;
    let writer: TableWriter | null = null;
    let first: Uint8Array | null = null;
    let last: Uint8Array | null = null;
    let minSeq = MAX_SEQUENCE;
    let maxSeq = 0;
    let fileTombs: RangeTombstone[] = keptTombs;
    let ikey = new Uint8Array(64);

    // The output being written streams to the slot finishFile will complete (slotIndex only moves there).
    const slotOf = (i: number): OutputSlot => job.outputs[Math.min(i, job.outputs.length - 1)]!;
    const newWriter = (): TableWriter => {
      const w = TableWriter.toFile(slotOf(slotIndex).path, fs, { ...job.table, creator: 'compaction' });
      open = w;
      return w;
    };
    const finishFile = (placeholder: Uint8Array | null): void => {
      if (writer === null) return;
      const slot: OutputSlot = slotOf(slotIndex);
      slotIndex++;
      for (const t of fileTombs) {
        writer.addRangeTombstone(t.start, t.end, t.seq);
        if (t.seq < minSeq) minSeq = t.seq;
        if (t.seq > maxSeq) maxSeq = t.seq;
      }
      const r = writer.finishToFile();
      bytesWritten += r.size;
      outputs.push({
        number: slot.number,
        name: slot.name,
        size: r.size,
        smallest: first ?? placeholder!,
        largest: last ?? placeholder!,
        entries: r.entries,
        minSeq,
        maxSeq,
        tombstones: fileTombs,
      });
      writer = null;
      open = null;
      first = null;
      last = null;
      minSeq = MAX_SEQUENCE;
      maxSeq = 0;
      fileTombs = [];
    };

    let prev: Uint8Array | null = null;
    // Bounded by the total number of input entries.
    while (merged.valid) {
      const key = merged.key;
      if (prev !== null && equalBytes(prev, key)) {
        dropped++;
        merged.next();
        continue;
      }
      prev = key.slice();
      const seq = merged.seq;
      let value = merged.value;
      let kind = value === null ? ValueKind.Delete : ValueKind.Put;
      const tombSeq = tombIndex.count > 0 ? tombIndex.maxCovering(key, MAX_SEQUENCE) : 0;
      let drop = tombSeq > seq;
      if (!drop && value === null) drop = !mayExistBelow(key);
      if (drop) {
        dropped++;
        merged.next();
        continue;
      }
      // Folding consumes the key's older versions: the cursor is then already past this
      // entry (on an older version of the key, dropped by the loop, or on the next key).
      let advanced = false;
      if (merged.merge) {
        const acc = new MergeAcc();
        acc.push(value!.slice());
        merged.next();
        advanced = true;
        let folded: Uint8Array | null = null;
        /** An input version older than a covering input tombstone: the base is a deletion. */
        let hidden = false;
        for (; merged.valid && equalBytes(merged.key, prev); merged.next()) {
          if (merged.seq < tombSeq) {
            hidden = true;
            break;
          }
          if (!merged.merge) {
            folded = acc.fold(merged.value);
            break;
          }
          acc.push(merged.value!.slice());
          dropped++;
        }
        if (folded !== null) kind = ValueKind.Put;
        else if (hidden || !mayExistBelow(prev)) {
          folded = acc.fold(null);
          kind = ValueKind.Put;
        } else {
          folded = acc.fold(null);
          kind = ValueKind.Merge;
        }
        value = folded;
      }
      // The last pre-allocated slot absorbs any overflow (we never cut past it).
      writer ??= newWriter();
      const klen = key.length;
      if (ikey.length < klen + TRAILER_BYTES) ikey = new Uint8Array((klen + TRAILER_BYTES) * 2);
      ikey.set(prev, 0); // not `key`: a fold moved the cursor
      writeTrailer(ikey, klen, seq, kind);
      writer.add(ikey.subarray(0, klen + TRAILER_BYTES), value ?? EMPTY);
      if (first === null) first = prev;
      last = prev;
      if (seq < minSeq) minSeq = seq;
      if (seq > maxSeq) maxSeq = seq;
      if (!advanced) merged.next();
      if (writer.estimatedFileSize >= job.targetFileBytes && slotIndex < job.outputs.length - 1) finishFile(null);
    }
    if (writer === null && fileTombs.length > 0) writer = newWriter();
    finishFile(job.placeholderKey);
    merged.close();
    return { outputs, bytesWritten, entriesDropped: dropped };
  } finally {
    (open as TableWriter | null)?.abort(); // assigned in newWriter (TS cannot see it)
    for (const r of readers) r.close();
  }
}

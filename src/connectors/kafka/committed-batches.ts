/**
 * read_committed filtering of fetched record batches, as the Java consumer does it
 * (Fetcher's abortedProducerIds): a fetch response lists the aborted transactions
 * overlapping the fetched range (producer id, first offset); a transactional batch of a
 * producer whose aborted transaction has started is skipped until that producer's ABORT
 * control marker. Control batches (commit/abort markers) are never records.
 *
 * @platformatic/kafka 1.x's `Consumer.fetch` drops the batches of the aborted ranges it
 * sees closed in one response but hands out control batches and the data of a range
 * whose marker comes in a later response, so the source applies the Java consumer's rule
 * itself (empty-abort-markers.ts keeps the library's filter from throwing).
 */
import type { RecordsBatch } from '@platformatic/kafka';

const IS_TRANSACTIONAL = 0x10;
const IS_CONTROL = 0x20;

export interface AbortedTransaction {
  readonly producerId: bigint;
  readonly firstOffset: bigint;
}

/** For each batch: keep (records are data), or skip (aborted data or a control marker). Offsets advance either way. */
export function committedBatches(batches: readonly RecordsBatch[], aborted: readonly AbortedTransaction[], readCommitted: boolean): boolean[] {
  const keep: boolean[] = [];
  if (!readCommitted) {
    for (const b of batches) keep.push((b.attributes & IS_CONTROL) === 0);
    return keep;
  }
  const pending = [...aborted].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0));
  let next = 0;
  const abortedProducers = new Set<bigint>();
  for (const b of batches) {
    const last = b.firstOffset + BigInt(b.lastOffsetDelta);
    while (next < pending.length && pending[next]!.firstOffset <= last) abortedProducers.add(pending[next++]!.producerId);
    if (b.attributes & IS_CONTROL) {
      // Control record key: int16 version, int16 type (0 = ABORT, 1 = COMMIT).
      const key = b.records[0]?.key;
      if (key && key.length >= 4 && key.readInt16BE(2) === 0) abortedProducers.delete(b.producerId);
      keep.push(false);
      continue;
    }
    keep.push(!((b.attributes & IS_TRANSACTIONAL) !== 0 && abortedProducers.has(b.producerId)));
  }
  return keep;
}

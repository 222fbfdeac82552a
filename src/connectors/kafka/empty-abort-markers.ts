/**
 * Fetch responses with an ABORT marker of a producer that wrote nothing to the partition,
 * made safe for @platformatic/kafka 1.x's read_committed filter.
 *
 * A transactional producer adds a partition to its transaction before it produces to it.
 * When it dies in between (a weir sink killed mid-checkpoint), the abort that fences it
 * still writes an ABORT marker into that partition, but the broker's aborted-transaction
 * index has no entry for it (the producer has no first offset there). The library's
 * filter (`Consumer#filterUncommittedMessages`, run inside every read_committed fetch)
 * looks every ABORT marker's producer up among the response's aborted transactions and
 * throws a TypeError from its socket handler when one is missing: an uncaught exception
 * that takes the process down. 2.x fixed it (it ignores such a marker) but needs Node 22.
 *
 * The guard wraps the consumer's Fetch API and, before the library's filter sees a
 * response, adds an empty aborted range `[marker, marker)` for each such producer of a
 * partition that lists aborted transactions. An empty range hides no record, in the
 * library's filter and in committedBatches (which opens and closes it at the same batch),
 * so what is read is unchanged; only the crash is gone.
 */
import type { Consumer, fetchV17 } from '@platformatic/kafka';
import { kafkaClient } from './kafka-client.ts';

const IS_CONTROL = 0x20;

type AnyConsumer = Consumer<any, any, any, any>;
type ApiCallback = (error: Error | null, result?: unknown) => void;
type GetApi = (name: string, callback: (error: Error | null, api?: (...args: any[]) => unknown) => void) => void;

/** Adds the missing aborted-transaction entries in place (see the module comment). */
export function addEmptyAbortRanges(response: fetchV17.FetchResponse): void {
  for (const topic of response.responses) {
    for (const partition of topic.partitions) {
      const aborted = partition.abortedTransactions;
      if (!partition.records || !aborted || aborted.length === 0) continue;
      let listed: Set<bigint> | undefined;
      for (const batch of partition.records) {
        if ((batch.attributes & IS_CONTROL) === 0) continue;
        // Control record key: int16 version, int16 type (0 = ABORT, 1 = COMMIT).
        const key = batch.records[0]?.key;
        if (!key || key.length < 4 || key.readInt16BE(2) !== 0) continue;
        listed ??= new Set(aborted.map((a) => a.producerId));
        if (listed.has(batch.producerId)) continue;
        aborted.push({ producerId: batch.producerId, firstOffset: batch.firstOffset });
        listed.add(batch.producerId);
      }
    }
  }
}

/** Wraps `consumer`'s Fetch API so that every response passes addEmptyAbortRanges first. */
export function guardEmptyAbortMarkers(consumer: AnyConsumer): void {
  const { kGetApi } = kafkaClient();
  const target = consumer as unknown as Record<symbol, GetApi>;
  const getApi = target[kGetApi]!.bind(consumer);
  target[kGetApi] = (name, callback) => {
    if (name !== 'Fetch') {
      getApi(name, callback);
      return;
    }
    getApi(name, (error, api) => {
      if (error || !api) {
        callback(error, api);
        return;
      }
      callback(null, (...args: unknown[]) => {
        const done = args.pop() as ApiCallback;
        return api(...args, (err: Error | null, result?: unknown) => {
          if (!err && result) addEmptyAbortRanges(result as fetchV17.FetchResponse);
          done(err, result);
        });
      });
    });
  };
}

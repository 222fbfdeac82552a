/**
 * Per-partition read progress that log sources (Kafka) publish for the dashboard and
 * /metrics: the next offset, the end of the log (high watermark, or last stable offset
 * for read_committed) and the lag between them. One process-wide table, keyed by
 * source name and subtask; a reader registers a function giving its current rows (read
 * when the dashboard or /metrics asks) and deletes it when it closes. Readers on worker
 * threads fill their thread's table; the workers send its rows with their periodic stats
 * and the main thread's WorkerPool registers them here (one entry per worker thread).
 * (In runtime, not api: the worker machinery reads it; api re-exports it.)
 */
/** One partition's read position of one source subtask. */
export interface PartitionProgress {
  /** Name of the source operator. */
  readonly source: string;
  /** Index of the source subtask that reads the partition. */
  readonly subtask: number;
  /** Topic. */
  readonly topic: string;
  /** Partition of the topic. */
  readonly partition: number;
  /** Next offset the source will read. */
  readonly offset: number;
  /** End of the log at the last fetch. */
  readonly logEnd: number;
  /** logEnd − offset, at least 0. */
  readonly lag: number;
}

const table = new Map<string, () => readonly PartitionProgress[]>();

/** The process-wide table of partition progress (read by the dashboard and /metrics; written by log sources' readers). */
export const partitionProgress = {
  /** Registers (or replaces) the rows of one reader, `readerKey` unique per source subtask; `rows` is called on every read. */
  set(readerKey: string, rows: () => readonly PartitionProgress[]): void {
    table.set(readerKey, rows);
  },
  /** Removes a reader's rows (when it closes). */
  delete(readerKey: string): void {
    table.delete(readerKey);
  },
  /** Every row, sorted by source, topic, partition. */
  rows(): PartitionProgress[] {
    const all = [...table.values()].flatMap((rows) => rows());
    return all.sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition));
  },
};

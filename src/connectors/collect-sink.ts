/** Sinks for tests and demos: collect into memory, or print lines to stdout. Not exactly-once. */
import type { Sink, SinkWriter } from '../api/index.ts';

/** Collects every record in `values` (shared by all subtasks), in arrival order. */
export class CollectSink<T> implements Sink<T> {
  /** Operator name: "collect". */
  readonly name = 'collect';
  /** Every record written, in arrival order (from all subtasks; records replayed after a restart appear again). */
  readonly values: T[] = [];
  /** The event timestamp of each record in `values` (same index), undefined for a record without one. */
  readonly timestamps: (number | undefined)[] = [];

  createWriter(): SinkWriter<T> {
    return {
      write: (value, timestamp) => {
        this.values.push(value);
        this.timestamps.push(timestamp);
      },
    };
  }
}

export class PrintSink<T> implements Sink<T> {
  readonly name = 'print';
  constructor(
    private readonly format: (value: T) => string = (v) => (typeof v === 'string' ? v : JSON.stringify(v)),
    private readonly stream: NodeJS.WritableStream = process.stdout,
  ) {}

  createWriter(): SinkWriter<T> {
    let lines: string[] = [];
    const flush = (): void => {
      if (lines.length === 0) return;
      this.stream.write(lines.join('\n') + '\n');
      lines = [];
    };
    return {
      write: (value) => {
        lines.push(this.format(value));
        if (lines.length >= 256) flush();
      },
      snapshotState: () => {
        flush();
        return { items: [] };
      },
      finish: flush,
      close: flush,
    };
  }
}

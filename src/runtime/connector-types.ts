/**
 * Sources and sinks as the runtime drives them (src/api re-exports these; built-in
 * ones live in src/connectors).
 *
 * Exactly-once needs: a replayable source that keeps its position in operator state
 * (snapshotState at the barrier, restore from `restoredState`), and a two-phase sink
 * (pre-commit in snapshotState, commit in notifyCheckpointComplete, re-commit what the
 * restored state lists in createWriter).
 */
import type { Clock } from '../util/clock.ts';

/** Where a source reader emits records. */
export interface SourceOutput<T> {
  /** Emits one record, with its event timestamp if the source knows it. */
  collect(value: T, timestamp?: number): void;
  /**
   * A source that tracks event time itself (e.g. per Kafka partition) emits its
   * watermark here; sources without one use assignTimestampsAndWatermarks downstream.
   */
  emitWatermark?(timestamp: number): void;
  /** Marks this subtask's output idle (true) or active again (false): idle outputs do not hold back event time. */
  markIdle?(idle: boolean): void;
}

/** What a source's createReader gets. */
export interface SourceContext {
  /** 0-based index of this reader's subtask. */
  readonly subtaskIndex: number;
  /** Number of subtasks of the source. */
  readonly parallelism: number;
  /** Time (injected; tests drive it). */
  readonly clock: Clock;
  /** Items this subtask got from the restored checkpoint ('split' redistribution), or undefined on a fresh start. */
  readonly restoredState: readonly unknown[] | undefined;
}

/** What SourceReader.poll returns: 'more', 'end', or a promise to wait for. */
export type PollResult = 'more' | 'end' | Promise<void>;

/** One subtask's reader of a source. */
export interface SourceReader<T> {
  /**
   * Emits up to `max` records. 'more': call again; 'end': exhausted (bounded input);
   * a promise: nothing available now, call again when it resolves.
   */
  poll(out: SourceOutput<T>, max: number): PollResult;
  /** Position at the barrier: small JSON-able items, redistributed round-robin on rescale. */
  snapshotState(checkpointId: number): unknown[];
  /** The checkpoint is complete (e.g. commit consumer offsets). */
  notifyCheckpointComplete?(checkpointId: number): void;
  /** Releases what the reader holds. */
  close?(): void | Promise<void>;
}

/** A source of records: `env.fromSource(source)`. */
export interface Source<T> {
  /** Operator name (shown in progress, logs, the dashboard). */
  readonly name: string;
  /** The most subtasks this source can use (a single file: 1). */
  readonly maxParallelism?: number;
  /**
   * How the readers' state items are redistributed on restore: 'split' (default) deals
   * them round-robin over the new subtasks; 'union' gives every subtask all items (a
   * reader then keeps the items it owns by its own rule, e.g. Kafka partitions by hash).
   */
  readonly stateMode?: 'split' | 'union';
  /** A reader for one subtask (restoring its position from `ctx.restoredState`). */
  createReader(ctx: SourceContext): SourceReader<T> | Promise<SourceReader<T>>;
}

/** What a sink's createWriter gets. */
export interface SinkContext {
  /** 0-based index of this writer's subtask. */
  readonly subtaskIndex: number;
  /** Number of subtasks of the sink. */
  readonly parallelism: number;
  /** Time (injected; tests drive it). */
  readonly clock: Clock;
  /** Whether the job takes checkpoints (an exactly-once sink commits only on them). */
  readonly checkpointingEnabled: boolean;
  /** Items from the restored checkpoint (e.g. transactions to re-commit), or undefined. */
  readonly restoredState: readonly unknown[] | undefined;
}

/** What a sink writer returns at a barrier. */
export interface SinkSnapshot {
  /** Small JSON-able items kept in the checkpoint (e.g. pending transactions). */
  readonly items: unknown[];
  /**
   * How the items are redistributed on restore: 'split' (default) deals them round-robin
   * over the new subtasks; 'union' gives every subtask all items of all old subtasks.
   */
  readonly mode?: 'split' | 'union';
  /** Completes the pre-commit (data durable); the checkpoint is acknowledged after it. */
  readonly done?: Promise<void>;
}

/** One subtask's writer of a sink. */
export interface SinkWriter<T> {
  /** Writes one record. */
  write(value: T, timestamp: number | undefined): void;
  /** Undefined when more records may be written now; else await it first. */
  backpressure?(): Promise<void> | undefined;
  /** At the barrier: pre-commit what was written since the last checkpoint. */
  snapshotState?(checkpointId: number): SinkSnapshot;
  /** The checkpoint is complete: commit what it pre-committed. */
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  /** End of input. Without checkpointing, commit everything here. */
  finish?(): void | Promise<void>;
  /** Releases what the writer holds. */
  close?(): void | Promise<void>;
}

/** A sink of records: `stream.sinkTo(sink)`. */
export interface Sink<T> {
  /** Operator name. */
  readonly name: string;
  /** A writer for one subtask (re-committing what `ctx.restoredState` lists). */
  createWriter(ctx: SinkContext): SinkWriter<T> | Promise<SinkWriter<T>>;
}

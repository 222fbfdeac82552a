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

export interface SourceOutput<T> {
  collect(value: T, timestamp?: number): void;
  /**
   * A source that tracks event time itself (e.g. per Kafka partition) emits its
   * watermark here; sources without one use assignTimestampsAndWatermarks downstream.
   */
  emitWatermark?(timestamp: number): void;
  /** Marks this subtask's output idle (true) or active again (false): idle outputs do not hold back event time. */
  markIdle?(idle: boolean): void;
}

export interface SourceContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly clock: Clock;
  /** Items this subtask got from the restored checkpoint ('split' redistribution), or undefined on a fresh start. */
  readonly restoredState: readonly unknown[] | undefined;
}

export type PollResult = 'more' | 'end' | Promise<void>;

export interface SourceReader<T> {
  /**
   * Emits up to `max` records. 'more': call again; 'end': exhausted (bounded input);
   * a promise: nothing available now, call again when it resolves.
   */
  poll(out: SourceOutput<T>, max: number): PollResult;
  /** Position at the barrier: small JSON-able items, redistributed round-robin on rescale. */
  snapshotState(checkpointId: number): unknown[];
  notifyCheckpointComplete?(checkpointId: number): void;
  close?(): void | Promise<void>;
}

export interface Source<T> {
  readonly name: string;
  /** The most subtasks this source can use (a single file: 1). */
  readonly maxParallelism?: number;
  /**
   * How the readers' state items are redistributed on restore: 'split' (default) deals
   * them round-robin over the new subtasks; 'union' gives every subtask all items (a
   * reader then keeps the items it owns by its own rule, e.g. Kafka partitions by hash).
   */
  readonly stateMode?: 'split' | 'union';
  createReader(ctx: SourceContext): SourceReader<T> | Promise<SourceReader<T>>;
}

export interface SinkContext {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly clock: Clock;
  readonly checkpointingEnabled: boolean;
  /** Items from the restored checkpoint (e.g. transactions to re-commit), or undefined. */
  readonly restoredState: readonly unknown[] | undefined;
}

export interface SinkSnapshot {
  readonly items: unknown[];
  /**
   * How the items are redistributed on restore: 'split' (default) deals them round-robin
   * over the new subtasks; 'union' gives every subtask all items of all old subtasks.
   */
  readonly mode?: 'split' | 'union';
  /** Completes the pre-commit (data durable); the checkpoint is acknowledged after it. */
  readonly done?: Promise<void>;
}

export interface SinkWriter<T> {
  write(value: T, timestamp: number | undefined): void;
  /** Undefined when more records may be written now; else await it first. */
  backpressure?(): Promise<void> | undefined;
  snapshotState?(checkpointId: number): SinkSnapshot;
  notifyCheckpointComplete?(checkpointId: number): void | Promise<void>;
  /** End of input. Without checkpointing, commit everything here. */
  finish?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

export interface Sink<T> {
  readonly name: string;
  createWriter(ctx: SinkContext): SinkWriter<T> | Promise<SinkWriter<T>>;
}

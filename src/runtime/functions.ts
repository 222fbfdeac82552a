/**
 * The user-function contracts the runtime's operators call. src/api re-exports them
 * as the public API (they live here because the operators that call them live here and
 * src/runtime must not import src/api).
 */
import type { AggregateFunction, ListState, MapState, ReducingState, AggregatingState, Serializer, ValueState } from '../state/types.ts';

export interface Collector<T> {
  collect(value: T): void;
}

/** Names a side output (late data, bad records). Two tags with the same id are the same output. */
export class OutputTag<T> {
  /** Phantom field so OutputTag<A> and OutputTag<B> differ. */
  declare readonly __type?: T;
  constructor(readonly id: string) {}
}

/** Keyed state of the current key (the key of the record or timer being processed). */
export interface KeyedStateStore {
  getValueState<T>(name: string, serializer?: Serializer<T>): ValueState<T>;
  getListState<T>(name: string, serializer?: Serializer<T>): ListState<T>;
  getMapState<K, V>(name: string, keySerializer?: Serializer<K>, valueSerializer?: Serializer<V>): MapState<K, V>;
  getReducingState<T>(name: string, reduce: (a: T, b: T) => T, serializer?: Serializer<T>): ReducingState<T>;
  getAggregatingState<IN, ACC, OUT>(name: string, fn: AggregateFunction<IN, ACC, OUT>, serializer?: Serializer<ACC>): AggregatingState<IN, OUT>;
}

export interface TimerService {
  currentProcessingTime(): number;
  currentWatermark(): number;
  registerEventTimeTimer(timestamp: number): void;
  registerProcessingTimeTimer(timestamp: number): void;
  deleteEventTimeTimer(timestamp: number): void;
  deleteProcessingTimeTimer(timestamp: number): void;
}

export interface TaskInfo {
  readonly subtaskIndex: number;
  readonly parallelism: number;
  readonly maxParallelism: number;
}

export interface KeyedOpenContext extends KeyedStateStore, TaskInfo {}

export interface KeyedProcessContext<K> extends KeyedStateStore {
  getCurrentKey(): K;
  /** Event timestamp of the record (or of the timer), if any. */
  timestamp(): number | undefined;
  timerService(): TimerService;
  output<X>(tag: OutputTag<X>, value: X): void;
}

export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  timeDomain(): 'event' | 'processing';
}

export interface KeyedProcessFunction<K, IN, OUT> {
  open?(ctx: KeyedOpenContext): void | Promise<void>;
  processElement(value: IN, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void;
  close?(): void | Promise<void>;
}

export type KeySelector<T, K> = (value: T) => K;

export interface TimeWindow {
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

export type WindowAssigner =
  | { readonly kind: 'tumbling'; readonly size: number; readonly offset: number }
  | { readonly kind: 'sliding'; readonly size: number; readonly slide: number; readonly offset: number }
  | { readonly kind: 'session'; readonly gap: number };

/** Called once per window firing with every element of the window. */
export type ProcessWindowFunction<IN, OUT, K> = (key: K, window: TimeWindow, elements: readonly IN[], out: Collector<OUT>) => void;
/** Called once per firing with the reduced/aggregated value. */
export type WindowResultFunction<V, OUT, K> = (key: K, window: TimeWindow, value: V, out: Collector<OUT>) => void;

export interface TimestampAssigner<T> {
  (value: T, recordTimestamp: number | undefined): number;
}

export interface WatermarkStrategySpec<T> {
  readonly timestampAssigner?: TimestampAssigner<T>;
  /** Bounded out-of-orderness: watermark = max timestamp seen - bound - 1. */
  readonly outOfOrdernessMs: number;
  /** Mark the stream idle after this much processing time without records (undefined: never). */
  readonly idlenessMs?: number;
  /** Check whether the watermark advanced every this many records (default 1024) and every 200 ms. */
  readonly emitEveryRecords?: number;
}

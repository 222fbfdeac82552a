/**
 * The user-function contracts the runtime's operators call. src/api re-exports them
 * as the public API (they live here because the operators that call them live here and
 * src/runtime must not import src/api).
 */
import type { AggregateFunction, ListState, MapState, ReducingState, AggregatingState, Serializer, ValueState } from '../state/types.ts';

/** Where a function emits its results. */
export interface Collector<T> {
  /** Emits one record downstream (with the timestamp of the record or timer being processed). */
  collect(value: T): void;
}

/** Names a side output (late data, bad records). Two tags with the same id are the same output. */
export class OutputTag<T> {
  /** Phantom field so OutputTag<A> and OutputTag<B> differ. */
  declare readonly __type?: T;
  /** @param id - the output's name; unique within the job */
  constructor(readonly id: string) {}
}

/** Keyed state of the current key (the key of the record or timer being processed). */
export interface KeyedStateStore {
  /** One value per key. `name` identifies the state across checkpoints; values are msgpack-serialized unless a serializer is given. */
  getValueState<T>(name: string, serializer?: Serializer<T>): ValueState<T>;
  /** A list per key (append-friendly). */
  getListState<T>(name: string, serializer?: Serializer<T>): ListState<T>;
  /** A map per key; each entry is stored on its own, so large maps stay cheap to update (lsm). */
  getMapState<K, V>(name: string, keySerializer?: Serializer<K>, valueSerializer?: Serializer<V>): MapState<K, V>;
  /** One value per key, folded with `reduce` on every add. */
  getReducingState<T>(name: string, reduce: (a: T, b: T) => T, serializer?: Serializer<T>): ReducingState<T>;
  /** An accumulator per key: `fn.add` on every add, `fn.getResult` on get. */
  getAggregatingState<IN, ACC, OUT>(name: string, fn: AggregateFunction<IN, ACC, OUT>, serializer?: Serializer<ACC>): AggregatingState<IN, OUT>;
}

/** Timers of the current key. A key has at most one timer per timestamp and domain; timers are checkpointed with the state. */
export interface TimerService {
  /** Wall-clock time of the task, ms since the epoch. */
  currentProcessingTime(): number;
  /** Event time at this operator: the last watermark (-Infinity before the first). */
  currentWatermark(): number;
  /** `onTimer` runs for the current key once the watermark reaches `timestamp`. */
  registerEventTimeTimer(timestamp: number): void;
  /** `onTimer` runs for the current key once wall-clock time reaches `timestamp`. */
  registerProcessingTimeTimer(timestamp: number): void;
  /** Removes the current key's event-time timer at `timestamp`, if any. */
  deleteEventTimeTimer(timestamp: number): void;
  /** Removes the current key's processing-time timer at `timestamp`, if any. */
  deleteProcessingTimeTimer(timestamp: number): void;
}

/** Which parallel instance of an operator this is. */
export interface TaskInfo {
  /** 0-based index of this subtask. */
  readonly subtaskIndex: number;
  /** Number of subtasks of the operator. */
  readonly parallelism: number;
  /** Number of key groups (fixed for the life of the state). */
  readonly maxParallelism: number;
}

/** What `open` gets: the subtask's identity and its state accessors. */
export interface KeyedOpenContext extends KeyedStateStore, TaskInfo {}

/** What `processElement` gets: state of the record's key, its timestamp, timers, side outputs. */
export interface KeyedProcessContext<K> extends KeyedStateStore {
  /** The key of the record (or timer) being processed. */
  getCurrentKey(): K;
  /** Event timestamp of the record (or of the timer), if any. */
  timestamp(): number | undefined;
  /** Timers of the current key. */
  timerService(): TimerService;
  /** Emits `value` to the side output `tag` (read it with `DataStream.getSideOutput(tag)`). */
  output<X>(tag: OutputTag<X>, value: X): void;
}

/** What `onTimer` gets: the processing context of the timer's key, and which kind of timer fired. */
export interface OnTimerContext<K> extends KeyedProcessContext<K> {
  /** 'event' for an event-time timer, 'processing' for a processing-time one. */
  timeDomain(): 'event' | 'processing';
}

/**
 * The general keyed function (`keyBy(…).process(fn)`): called once per record with the
 * state and timers of the record's key, and once per timer that fires.
 *
 * @typeParam K - the key type
 * @typeParam IN - input records
 * @typeParam OUT - output records
 */
export interface KeyedProcessFunction<K, IN, OUT> {
  /** Once per subtask before the first record (after a restore, the state is already there). */
  open?(ctx: KeyedOpenContext): void | Promise<void>;
  /** One record of the current key. Synchronous: state access is synchronous. */
  processElement(value: IN, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  /** A timer of `ctx.getCurrentKey()` at `timestamp` fired. */
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void;
  /** Once per subtask at the end (also on cancel and failure). */
  close?(): void | Promise<void>;
}

/** Extracts the key of a record (`keyBy`). Keys are msgpack-serialized and hashed into key groups. */
export type KeySelector<T, K> = (value: T) => K;

/** An event-time window [start, end). */
export interface TimeWindow {
  /** Inclusive, ms. */
  readonly start: number;
  /** Exclusive. */
  readonly end: number;
}

/** How records are assigned to windows (build one with TumblingEventTimeWindows, SlidingEventTimeWindows or EventTimeSessionWindows). */
export type WindowAssigner =
  | {
      /** Fixed-size windows that do not overlap. */
      readonly kind: 'tumbling';
      /** Window length, ms. */
      readonly size: number;
      /** Shift of the window starts from multiples of `size`, ms (0: windows start at the epoch's multiples of size). */
      readonly offset: number;
    }
  | {
      /** Fixed-size windows every `slide` ms (a record is in size / slide windows). */
      readonly kind: 'sliding';
      /** Window length, ms. */
      readonly size: number;
      /** Distance between window starts, ms. */
      readonly slide: number;
      /** Shift of the window starts from multiples of `slide`, ms. */
      readonly offset: number;
    }
  | {
      /** Per-key windows that close after `gap` ms without records; overlapping sessions merge. */
      readonly kind: 'session';
      /** Inactivity gap that ends a session, ms. */
      readonly gap: number;
    };

/** Called once per window firing with every element of the window. */
export type ProcessWindowFunction<IN, OUT, K> = (key: K, window: TimeWindow, elements: readonly IN[], out: Collector<OUT>) => void;
/** Called once per firing with the reduced/aggregated value. */
export type WindowResultFunction<V, OUT, K> = (key: K, window: TimeWindow, value: V, out: Collector<OUT>) => void;

/** The event timestamp (ms) of a record; `recordTimestamp` is the timestamp the source gave it, if any. */
export interface TimestampAssigner<T> {
  (value: T, recordTimestamp: number | undefined): number;
}

/** What a WatermarkStrategy configures (see WatermarkStrategy). */
export interface WatermarkStrategySpec<T> {
  /** Event time of a record (default: the source's timestamp). */
  readonly timestampAssigner?: TimestampAssigner<T>;
  /** Bounded out-of-orderness: watermark = max timestamp seen - bound - 1. */
  readonly outOfOrdernessMs: number;
  /** Mark the stream idle after this much processing time without records (undefined: never). */
  readonly idlenessMs?: number;
  /** Check whether the watermark advanced every this many records (default 1024) and every 200 ms. */
  readonly emitEveryRecords?: number;
}

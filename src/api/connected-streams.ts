/**
 * Two inputs, one operator: `a.connect(b)` (Flink's ConnectedStreams). Keyed by a key
 * selector per input, a KeyedCoProcessFunction sees the records of both inputs that
 * share a key, with the same keyed state and timers for both.
 *
 *   bids.connect(auctions)
 *     .keyBy((b) => b.auction, (a) => a.id)
 *     .process({ processElement1(bid, ctx, out) {…}, processElement2(auction, ctx, out) {…}, onTimer(ts, ctx, out) {…} })
 *
 * How it runs: each input's records are tagged with their side ({ input: 1 | 2, value })
 * by a map chained to the input, and both tagged streams feed one keyed operator (hash
 * partitioned by their own key selector). The runtime treats it as any multi-input
 * keyed operator: barriers are aligned over all input channels, the watermark is the
 * minimum over them, state lives in the subtask's keyed backend (heap or lsm) and is
 * checkpointed and restored with it — so exactly-once holds as for keyed process functions.
 */
import type { Collector, KeyedOpenContext, KeyedProcessContext, KeyedProcessFunction, KeySelector, OnTimerContext } from '../runtime/functions.ts';
import { FlatMapOperator, MapOperator } from '../runtime/operators/simple.ts';
import { KeyedProcessOperator } from '../runtime/operators/keyed-process.ts';
import type { DataStream } from './data-stream.ts';
import type { GraphBuilder, Transformation } from './transformation.ts';

/** A record of a connected stream, tagged with the input it came from. */
export interface TaggedRecord<T1, T2> {
  /** 1: the record came from the first stream (`a` of `a.connect(b)`), 2: from the second. */
  readonly input: 1 | 2;
  /** The record itself. */
  readonly value: T1 | T2;
}

/**
 * The function of `a.connect(b).keyBy(k1, k2).process(…)` (Flink's
 * KeyedCoProcessFunction): a method per input, one keyed state and one set of timers
 * per key shared by both inputs. What a method throws fails the job as a
 * UserFunctionError naming the operator and the record.
 */
export interface KeyedCoProcessFunction<K, IN1, IN2, OUT> {
  /** Called once per subtask before any record (state may be read and timers registered there). */
  open?(ctx: KeyedOpenContext): void | Promise<void>;
  /** A record of the first input; ctx has the key's state and timers (shared with input 2). */
  processElement1(value: IN1, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  /** A record of the second input; ctx has the key's state and timers (shared with input 1). */
  processElement2(value: IN2, ctx: KeyedProcessContext<K>, out: Collector<OUT>): void;
  /** A timer registered for the current key fired (`timestamp`: its time, ms; `ctx.timeDomain()` says event or processing time). */
  onTimer?(timestamp: number, ctx: OnTimerContext<K>, out: Collector<OUT>): void;
  /** Called once per subtask when the job ends or the attempt is cancelled. */
  close?(): void | Promise<void>;
}

/** Builds the tagged inputs of a two-input operator (used by connect, joins and interval joins). */
export function taggedInputs(
  env: GraphBuilder,
  first: Transformation,
  second: Transformation,
  keys?: { readonly key1: (v: any) => unknown; readonly key2: (v: any) => unknown },
): { inputs: Transformation['inputs']; keySelector?: (t: TaggedRecord<unknown, unknown>) => unknown } {
  const tag = (from: Transformation, input: 1 | 2): Transformation => {
    const t = env.addTransformation({
      name: `input${input}`,
      inputs: [{ from }],
      createOperator: () => new MapOperator((value: unknown): TaggedRecord<unknown, unknown> => ({ input, value })),
    });
    // same parallelism as its input, so it chains to it (no extra channel)
    if (from.parallelism !== undefined) t.parallelism = from.parallelism;
    return t;
  };
  const t1 = tag(first, 1);
  const t2 = tag(second, 2);
  if (!keys) return { inputs: [{ from: t1 }, { from: t2 }] };
  const { key1, key2 } = keys;
  return {
    inputs: [
      { from: t1, keySelector: (t: TaggedRecord<unknown, unknown>) => key1(t.value) },
      { from: t2, keySelector: (t: TaggedRecord<unknown, unknown>) => key2(t.value) },
    ],
    keySelector: (t) => (t.input === 1 ? key1(t.value) : key2(t.value)),
  };
}

/** A KeyedCoProcessFunction as the keyed process function of tagged records. */
export function coProcessAdapter<K, IN1, IN2, OUT>(fn: KeyedCoProcessFunction<K, IN1, IN2, OUT>): KeyedProcessFunction<K, TaggedRecord<IN1, IN2>, OUT> {
  return {
    open: fn.open ? (ctx) => fn.open!(ctx) : undefined,
    processElement(t, ctx, out) {
      if (t.input === 1) fn.processElement1(t.value as IN1, ctx, out);
      else fn.processElement2(t.value as IN2, ctx, out);
    },
    onTimer: fn.onTimer ? (ts, ctx, out) => fn.onTimer!(ts, ctx, out) : undefined,
    close: fn.close ? () => fn.close!() : undefined,
  };
}

/** One instance per subtask: a factory is called, an object is cloned (fields set in open() stay per subtask). */
function instance<F extends object>(fn: F | (() => F)): F {
  return typeof fn === 'function' ? fn() : (Object.create(fn) as F);
}

/** Two streams of possibly different types, from `a.connect(b)`: key both, or map/flatMap each into one stream (Flink's ConnectedStreams). */
export class ConnectedStreams<T1, T2> {
  /** @internal Made by DataStream.connect(). */
  constructor(
    private readonly env: GraphBuilder,
    private readonly first: DataStream<T1>,
    private readonly second: DataStream<T2>,
    private readonly newStream: <R>(t: Transformation) => DataStream<R>,
  ) {}

  /** Partitions both inputs by key: records of either input with equal keys meet in one subtask and share keyed state. */
  keyBy<K>(key1: KeySelector<T1, K>, key2: KeySelector<T2, K>): KeyedConnectedStreams<K, T1, T2> {
    return new KeyedConnectedStreams<K, T1, T2>(this.env, this.first.transformation, this.second.transformation, key1, key2, this.newStream);
  }

  /** A map per input into one output stream (Flink's CoMapFunction). */
  map<R>(map1: (value: T1) => R, map2: (value: T2) => R): DataStream<R> {
    const { inputs } = taggedInputs(this.env, this.first.transformation, this.second.transformation);
    const t = this.env.addTransformation({
      name: 'coMap',
      inputs,
      createOperator: () => new MapOperator((t: TaggedRecord<T1, T2>) => (t.input === 1 ? map1(t.value as T1) : map2(t.value as T2))),
    });
    return this.newStream<R>(t);
  }

  /** A flatMap per input into one output stream (Flink's CoFlatMapFunction). */
  flatMap<R>(flatMap1: (value: T1, out: Collector<R>) => void, flatMap2: (value: T2, out: Collector<R>) => void): DataStream<R> {
    const { inputs } = taggedInputs(this.env, this.first.transformation, this.second.transformation);
    const t = this.env.addTransformation({
      name: 'coFlatMap',
      inputs,
      createOperator: () =>
        new FlatMapOperator((t: TaggedRecord<T1, T2>, out: Collector<R>) => (t.input === 1 ? flatMap1(t.value as T1, out) : flatMap2(t.value as T2, out))),
    });
    return this.newStream<R>(t);
  }
}

/** Two connected streams partitioned by key, from `a.connect(b).keyBy(k1, k2)`: records of either input with equal keys meet in one subtask. */
export class KeyedConnectedStreams<K, T1, T2> {
  /** @internal Made by ConnectedStreams.keyBy() and KeyedStream.connect(). */
  constructor(
    private readonly env: GraphBuilder,
    private readonly first: Transformation,
    private readonly second: Transformation,
    private readonly key1: KeySelector<T1, K>,
    private readonly key2: KeySelector<T2, K>,
    private readonly newStream: <R>(t: Transformation) => DataStream<R>,
  ) {}

  /**
   * A keyed co-process function: both inputs' records of a key, one keyed state and one
   * set of timers per key. Per-subtask instances as in KeyedStream.process.
   */
  process<R>(fn: KeyedCoProcessFunction<K, T1, T2, R> | (() => KeyedCoProcessFunction<K, T1, T2, R>), name = 'coProcess'): DataStream<R> {
    const { inputs, keySelector } = taggedInputs(this.env, this.first, this.second, { key1: this.key1, key2: this.key2 });
    const t = this.env.addTransformation({
      name,
      inputs,
      createOperator: () => new KeyedProcessOperator(coProcessAdapter(instance(fn)), keySelector!, 'co-process function'),
      keyed: { keySelector: keySelector! },
    });
    return this.newStream<R>(t);
  }
}

/**
 * DataStream / KeyedStream / WindowedStream: the fluent API that records
 * transformations into the environment; nothing runs until execute().
 */
import type { Collector, KeyedProcessFunction, KeySelector, ProcessWindowFunction, WindowAssigner, WindowResultFunction } from '../runtime/functions.ts';
import { OutputTag } from '../runtime/functions.ts';
import type { Sink } from '../runtime/connector-types.ts';
import type { AggregateFunction } from '../state/types.ts';
import { FilterOperator, FlatMapOperator, IdentityOperator, MapOperator, ParseOperator } from '../runtime/operators/simple.ts';
import type { BadRecord } from '../runtime/operators/simple.ts';
import { KeyedProcessOperator, aggregateFunction, reduceFunction } from '../runtime/operators/keyed-process.ts';
import { WindowOperator, type WindowFunctionSpec } from '../runtime/operators/window.ts';
import { TimestampsAndWatermarksOperator } from '../runtime/operators/timestamps-watermarks.ts';
import { SinkOperator } from '../runtime/operators/sink.ts';
import type { WatermarkStrategy } from './watermark-strategy.ts';
import type { GraphBuilder, Transformation } from './transformation.ts';
import type { StreamOperator } from '../runtime/operator.ts';
import { ConfigError } from '../util/errors.ts';
import { ConnectedStreams, KeyedConnectedStreams } from './connected-streams.ts';
import { JoinedStreams } from './window-join.ts';
import { IntervalJoin } from './interval-join.ts';

/**
 * A stream of records of type T: what `env.fromSource` returns and every transformation
 * returns. Building a stream only records the job graph; `execute()` runs it.
 */
export class DataStream<T> {
  constructor(
    /** @internal */ protected readonly env: GraphBuilder,
    /** @internal */ readonly transformation: Transformation,
  ) {}

  /** Sets the operator's name (shown in progress and logs; part of the default operator id). */
  name(name: string): this {
    this.transformation.name = name;
    return this;
  }

  /** A stable operator id, so state survives changes to the job graph around it. */
  uid(uid: string): this {
    this.transformation.uid = uid;
    return this;
  }

  /** Number of parallel subtasks of this operator (default: the environment's parallelism). */
  setParallelism(parallelism: number): this {
    if (!Number.isInteger(parallelism) || parallelism < 1) throw new ConfigError(`parallelism must be a positive integer, got ${parallelism}`);
    this.transformation.parallelism = parallelism;
    return this;
  }

  /** One output record per input record. */
  map<R>(fn: (value: T) => R): DataStream<R> {
    return this.oneInput('map', () => new MapOperator(fn));
  }

  /**
   * Parses every record with `fn`; a record it throws on is malformed. The policy:
   * `onMalformed: 'fail'` (default) fails the job with a MalformedRecordError naming the
   * record's position (operator, subtask, index in that subtask's input, kept across
   * restores); `onMalformed: tag` routes a `BadRecord` (record, error, position) to that
   * side output (read it with getSideOutput(tag)) and counts it, and the job goes on.
   */
  parse<R>(fn: (value: T) => R, options: { onMalformed?: 'fail' | OutputTag<BadRecord<T>> } = {}): DataStream<R> {
    const policy = options.onMalformed ?? 'fail';
    return this.oneInput('parse', () => new ParseOperator(fn, policy === 'fail' ? undefined : policy.id));
  }

  /** Keeps the records for which `fn` returns true. */
  filter(fn: (value: T) => boolean): DataStream<T> {
    return this.oneInput('filter', () => new FilterOperator(fn));
  }

  /** Zero or more output records per input record (`out.collect(r)`). */
  flatMap<R>(fn: (value: T, out: Collector<R>) => void): DataStream<R> {
    return this.oneInput('flatMap', () => new FlatMapOperator(fn));
  }

  /** One stream of the records of this and the other streams (same type). */
  union(...others: DataStream<T>[]): DataStream<T> {
    const t = this.env.addTransformation({
      name: 'union',
      inputs: [this, ...others].map((s) => ({ from: s.transformation })),
      createOperator: () => new IdentityOperator(),
    });
    return new DataStream<T>(this.env, t);
  }

  /** Two inputs for one operator (see connected-streams.ts): keyBy(k1, k2).process(coProcessFunction), map(f1, f2), flatMap(f1, f2). */
  connect<T2>(other: DataStream<T2>): ConnectedStreams<T, T2> {
    return new ConnectedStreams<T, T2>(this.env, this, other, (t) => new DataStream(this.env, t));
  }

  /** Window join (see window-join.ts): join(other).where(k1).equalTo(k2).window(assigner).apply((l, r) => …). */
  join<T2>(other: DataStream<T2>): JoinedStreams<T, T2> {
    return new JoinedStreams<T, T2>({ env: this.env, first: this, second: other, newStream: (t) => new DataStream(this.env, t), kind: 'join' });
  }

  /** Window co-group: coGroup(other).where(k1).equalTo(k2).window(assigner).applyGroups((key, window, lefts, rights, out) => …). */
  coGroup<T2>(other: DataStream<T2>): JoinedStreams<T, T2> {
    return new JoinedStreams<T, T2>({ env: this.env, first: this, second: other, newStream: (t) => new DataStream(this.env, t), kind: 'coGroup' });
  }

  /** Partitions by key: records with equal keys (equal serialized bytes) go to the same subtask and share keyed state. */
  keyBy<K>(keySelector: KeySelector<T, K>): KeyedStream<K, T> {
    return new KeyedStream<K, T>(this.env, this.transformation, keySelector);
  }

  /** Event time from here on: each record's timestamp and the watermarks, as `strategy` says. */
  assignTimestampsAndWatermarks(strategy: WatermarkStrategy<T>): DataStream<T> {
    return this.oneInput('timestamps/watermarks', () => new TimestampsAndWatermarksOperator(strategy));
  }

  /** Records an operator sent to the side output `tag` (late data of a window, bad records of a process function). */
  getSideOutput<X>(tag: OutputTag<X>): DataStream<X> {
    const t = this.env.addTransformation({
      name: `side:${tag.id}`,
      inputs: [{ from: this.transformation, sideTag: tag.id }],
      createOperator: () => new IdentityOperator(),
    });
    t.parallelism = this.transformation.parallelism;
    return new DataStream<X>(this.env, t);
  }

  /** Writes the stream to `sink` (the end of this branch of the job). */
  sinkTo(sink: Sink<T>): DataStream<never> {
    const t = this.env.addTransformation({
      name: sink.name,
      inputs: [{ from: this.transformation }],
      createOperator: () => new SinkOperator(sink),
      isSink: true,
    });
    return new DataStream<never>(this.env, t);
  }

  /** @internal */
  protected oneInput<R>(name: string, createOperator: () => StreamOperator): DataStream<R> {
    const t = this.env.addTransformation({ name, inputs: [{ from: this.transformation }], createOperator });
    return new DataStream<R>(this.env, t);
  }
}

/** A stream partitioned by key (`keyBy`): keyed state, timers and windows are per key. */
export class KeyedStream<K, T> {
  constructor(
    private readonly env: GraphBuilder,
    /** @internal */ readonly input: Transformation,
    /** @internal */ readonly keySelector: KeySelector<T, K>,
  ) {}

  /** Connects two keyed streams (same key type): .process(keyedCoProcessFunction). */
  connect<T2>(other: KeyedStream<K, T2>): KeyedConnectedStreams<K, T, T2> {
    return new KeyedConnectedStreams<K, T, T2>(this.env, this.input, other.input, this.keySelector, other.keySelector, (t) => new DataStream(this.env, t));
  }

  /** Interval join (see interval-join.ts): intervalJoin(other).between(lower, upper).process((l, r, out) => …). */
  intervalJoin<T2>(other: KeyedStream<K, T2>): IntervalJoin<K, T, T2> {
    return new IntervalJoin<K, T, T2>(this.connect(other));
  }

  private keyedOp<R>(name: string, createOperator: () => StreamOperator): DataStream<R> {
    const t = this.env.addTransformation({
      name,
      inputs: [{ from: this.input, keySelector: this.keySelector }],
      createOperator,
      keyed: { keySelector: this.keySelector },
    });
    return new DataStream<R>(this.env, t);
  }

  /**
   * A keyed process function: typed keyed state, event- and processing-time timers, side outputs.
   *
   * Every subtask gets its own instance: a factory `() => fn` is called once per subtask;
   * an object is cloned per subtask (`Object.create(fn)`), so fields set on `this` in open()
   * (e.g. state handles) belong to that subtask. Variables captured in a closure are shared
   * by all subtasks: keep per-subtask things on `this` or use a factory.
   */
  process<R>(fn: KeyedProcessFunction<K, T, R> | (() => KeyedProcessFunction<K, T, R>)): DataStream<R> {
    const instance = (): KeyedProcessFunction<K, T, R> => (typeof fn === 'function' ? fn() : (Object.create(fn) as KeyedProcessFunction<K, T, R>));
    return this.keyedOp('process', () => new KeyedProcessOperator(instance(), this.keySelector));
  }

  /** Rolling reduce: emits the key's reduced value after every record. */
  reduce(fn: (a: T, b: T) => T): DataStream<T> {
    return this.keyedOp('reduce', () => new KeyedProcessOperator(reduceFunction(fn), this.keySelector, 'reduce function'));
  }

  /** Rolling aggregate: emits the key's aggregate after every record. */
  aggregate<ACC, R>(agg: AggregateFunction<T, ACC, R>): DataStream<R> {
    return this.keyedOp('aggregate', () => new KeyedProcessOperator(aggregateFunction(agg), this.keySelector, 'aggregate function'));
  }

  /** Groups each key's records into event-time windows (TumblingEventTimeWindows, SlidingEventTimeWindows, EventTimeSessionWindows). */
  window(assigner: WindowAssigner): WindowedStream<K, T> {
    return new WindowedStream<K, T>(this.env, this.input, this.keySelector, assigner);
  }
}

/** A keyed stream cut into windows: finish it with reduce, aggregate or process; each fires when the watermark passes the window's end. */
export class WindowedStream<K, T> {
  private lateness = 0;
  private lateTag: string | undefined;

  constructor(
    private readonly env: GraphBuilder,
    private readonly input: Transformation,
    private readonly keySelector: KeySelector<T, K>,
    private readonly assigner: WindowAssigner,
  ) {}

  /** Keep windows this long after they fire; late records within it update and re-fire them. */
  allowedLateness(ms: number): this {
    if (!(ms >= 0)) throw new ConfigError(`allowed lateness must be >= 0, got ${ms}`);
    this.lateness = ms;
    return this;
  }

  /** Records too late for every window go to this side output instead of being dropped. */
  sideOutputLateData(tag: OutputTag<T>): this {
    this.lateTag = tag.id;
    return this;
  }

  /** Folds each window's records with `fn` (incrementally); `result` turns the reduced value (with key and window) into the output. */
  reduce<R = T>(fn: (a: T, b: T) => T, result?: WindowResultFunction<T, R, K>): DataStream<R> {
    return this.build({ kind: 'reduce', reduce: fn, ...(result ? { result } : {}) });
  }

  /** Aggregates each window's records incrementally with `agg`; `result` turns the aggregate (with key and window) into the output. */
  aggregate<ACC, V, R = V>(agg: AggregateFunction<T, ACC, V>, result?: WindowResultFunction<V, R, K>): DataStream<R> {
    return this.build({ kind: 'aggregate', aggregate: agg, ...(result ? { result } : {}) });
  }

  /** Calls `fn` with all records of a window when it fires (keeps every record in state until then). */
  process<R>(fn: ProcessWindowFunction<T, R, K>): DataStream<R> {
    return this.build({ kind: 'process', process: fn });
  }

  private build<R>(spec: WindowFunctionSpec): DataStream<R> {
    const { assigner, keySelector, lateness, lateTag } = this;
    const t = this.env.addTransformation({
      name: `window(${assigner.kind})`,
      inputs: [{ from: this.input, keySelector }],
      createOperator: () => new WindowOperator(assigner, spec, keySelector, lateness, lateTag),
      keyed: { keySelector },
    });
    return new DataStream<R>(this.env, t);
  }
}

export { OutputTag };

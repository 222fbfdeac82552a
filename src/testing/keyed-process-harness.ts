/**
 * A test harness for one KeyedProcessFunction, after Flink's
 * KeyedOneInputStreamOperatorTestHarness: no job, no threads, no timing. The test feeds
 * records, watermarks and processing time, then looks at what was emitted, at the keyed
 * state of any key and at the pending timers. It runs the same operator and the same
 * state backend (heap or lsm) a job runs.
 *
 *   const h = await KeyedProcessFunctionHarness.open(new SessionFn(), (c: Click) => c.user);
 *   await h.processElement({ user: 'a', ts: 1000 }, 1000);
 *   await h.processWatermark(40_000);          // fires event-time timers <= 40000
 *   await h.setProcessingTime(5_000);          // fires processing-time timers <= 5000
 *   h.output();  h.valueState('a', 'session');  h.eventTimers();
 *   await h.close();
 *
 * What the function throws reaches the test as it was thrown (in a job the operator
 * wraps it in a UserFunctionError naming the operator and record; here the test knows).
 */
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { KeyedProcessFunction, KeyedStateStore, OutputTag } from '../runtime/functions.ts';
import type { Output } from '../runtime/operator.ts';
import { KeyedProcessOperator } from '../runtime/operators/keyed-process.ts';
import type { StateBackendKind } from '../api/index.ts';
import { createKeyedStateBackend, type KeyedStateBackend, type TimerEntry } from '../state/index.ts';
import { MemoryStorage } from '../storage/index.ts';
import { UserFunctionError } from '../util/errors.ts';

/** Runs one operator call; a failure of the function is rethrown as the function threw it. */
function unwrapped(call: () => void): void {
  try {
    call();
  } catch (err) {
    throw err instanceof UserFunctionError ? err.cause : err;
  }
}

/** Options of {@link KeyedProcessFunctionHarness.open}. */
export interface HarnessOptions {
  /** State backend the function's state lives in. Default "lsm" (the default of a job). */
  readonly stateBackend?: StateBackendKind;
  /** Number of key groups. Default 128. */
  readonly maxParallelism?: number;
  /** Processing time at the start, ms. Default 0. */
  readonly processingTime?: number;
}

/** A record (or side-output record) with the timestamp it was emitted with. */
export interface TimestampedValue<T> {
  /** The emitted record. */
  readonly value: T;
  /** Its event timestamp: the input record's, or the firing timer's; undefined when the input had none. */
  readonly timestamp: number | undefined;
}

/** A pending timer. */
export interface HarnessTimer<K> {
  /** The key the timer was registered for. */
  readonly key: K;
  /** When it fires: event time or processing time (by the list it is in), ms. */
  readonly timestamp: number;
}

type Domain = 'event' | 'processing';
interface PendingTimer {
  readonly domain: Domain;
  readonly key: unknown;
  readonly timestamp: number;
}

/** The harness's clock: time moves only in setProcessingTime. */
class HarnessClock implements Clock {
  constructor(public time: number) {}
  now(): number {
    return this.time;
  }
  monotonic(): number {
    return this.time;
  }
  setTimeout(): TimerHandle {
    return { cancel: () => undefined };
  }
  sleep(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Drives one KeyedProcessFunction. Create it with {@link KeyedProcessFunctionHarness.open},
 * end it with {@link KeyedProcessFunctionHarness.close}.
 *
 * @typeParam K - the key type (what the key selector returns)
 * @typeParam IN - the input record type
 * @typeParam OUT - the output record type
 */
export class KeyedProcessFunctionHarness<K, IN, OUT> {
  private readonly records: TimestampedValue<OUT>[] = [];
  private readonly side = new Map<string, TimestampedValue<unknown>[]>();
  private readonly emittedWatermarks: number[] = [];
  private watermark = Number.NEGATIVE_INFINITY;
  private closed = false;

  private constructor(
    private readonly operator: KeyedProcessOperator,
    private readonly backend: KeyedStateBackend,
    private readonly timers: ReadonlyMap<string, PendingTimer>,
    private readonly clock: HarnessClock,
    private readonly dir: string,
  ) {}

  /**
   * Opens the function (its `open` runs) on a fresh, empty state backend.
   *
   * @param fn - the function, or a factory of it (as `KeyedStream.process` takes)
   * @param keySelector - the `keyBy` key of a record
   */
  static async open<K, IN, OUT>(
    fn: KeyedProcessFunction<K, IN, OUT> | (() => KeyedProcessFunction<K, IN, OUT>),
    keySelector: (value: IN) => K,
    options: HarnessOptions = {},
  ): Promise<KeyedProcessFunctionHarness<K, IN, OUT>> {
    const maxParallelism = options.maxParallelism ?? 128;
    const dir = mkdtempSync(join(tmpdir(), 'weir-harness-'));
    const clock = new HarnessClock(options.processingTime ?? 0);
    const inner = await createKeyedStateBackend(options.stateBackend ?? 'lsm', {
      operatorId: 'harness', subtaskIndex: 0, maxParallelism, keyGroupRange: { start: 0, end: maxParallelism - 1 },
      localDir: dir, storage: new MemoryStorage({ name: 'harness' }), clock,
    });
    const operator = new KeyedProcessOperator(typeof fn === 'function' ? fn() : fn, keySelector as (value: unknown) => unknown);
    const timers = new Map<string, PendingTimer>();
    const backend = trackTimers(inner, timers);
    const h = new KeyedProcessFunctionHarness<K, IN, OUT>(operator, backend, timers, clock, dir);
    const output: Output = {
      collect: (value, timestamp) => h.records.push({ value: value as OUT, timestamp }),
      collectSide: (tag, value, timestamp) => {
        const list = h.side.get(tag) ?? [];
        list.push({ value, timestamp });
        h.side.set(tag, list);
      },
      emitWatermark: (ts) => h.emittedWatermarks.push(ts),
      emitIdle: () => undefined,
    };
    await operator.open({
      operatorId: 'harness', name: 'harness', subtaskIndex: 0, parallelism: 1, maxParallelism, clock, output, keyed: backend,
      restoredOperatorState: [], restored: false, checkpointingEnabled: false, metrics: { recordsIn: 0, recordsOut: 0 },
      registerProcessingTimer: () => undefined, // the harness fires processing-time timers in setProcessingTime
      currentWatermark: () => h.watermark,
    });
    return h;
  }

  /** Processes one record (with its event timestamp, if any), as the operator would in a job. */
  async processElement(value: IN, timestamp?: number): Promise<void> {
    this.checkOpen();
    unwrapped(() => this.operator.processElement(value, timestamp));
    await this.backend.writeBackpressure();
  }

  /** Advances event time: fires every event-time timer at or before `timestamp`, then emits the watermark. */
  async processWatermark(timestamp: number): Promise<void> {
    this.checkOpen();
    if (timestamp > this.watermark) this.watermark = timestamp;
    unwrapped(() => this.operator.processWatermark(timestamp));
    await this.backend.writeBackpressure();
  }

  /** Sets processing time (it never goes back) and fires every processing-time timer at or before it. */
  async setProcessingTime(time: number): Promise<void> {
    this.checkOpen();
    if (time < this.clock.time) throw new RangeError(`processing time cannot go back (${this.clock.time} → ${time})`);
    this.clock.time = time;
    unwrapped(() => this.operator.onProcessingTime(time));
    await this.backend.writeBackpressure();
  }

  /** Current processing time of the harness. */
  processingTime(): number {
    return this.clock.time;
  }

  /** Current event time (the last watermark processed). */
  currentWatermark(): number {
    return this.watermark;
  }

  /** Every record emitted so far, in order. */
  output(): OUT[] {
    return this.records.map((r) => r.value);
  }

  /** Every record emitted so far with its timestamp. */
  outputWithTimestamps(): TimestampedValue<OUT>[] {
    return [...this.records];
  }

  /** Records sent to a side output (`ctx.output(tag, value)`). */
  sideOutput<X>(tag: OutputTag<X>): X[] {
    return (this.side.get(tag.id) ?? []).map((r) => r.value as X);
  }

  /** Watermarks the operator forwarded. */
  watermarks(): number[] {
    return [...this.emittedWatermarks];
  }

  /** Forgets the output, side outputs and watermarks seen so far (state and timers stay). */
  clearOutput(): void {
    this.records.length = 0;
    this.side.clear();
    this.emittedWatermarks.length = 0;
  }

  /**
   * Reads (or changes) the keyed state of `key`: `fn` gets the same state accessors the
   * function's context has, scoped to that key.
   *
   * @example h.withKey('a', (s) => s.getMapState<string, number>('pages').get('/home'))
   */
  withKey<R>(key: K, fn: (state: KeyedStateStore) => R): R {
    this.checkOpen();
    const b = this.backend;
    b.setCurrentKey(key);
    return fn({
      getValueState: (n, s) => b.getValueState(n, s),
      getListState: (n, s) => b.getListState(n, s),
      getMapState: (n, k, v) => b.getMapState(n, k, v),
      getReducingState: (n, r, s) => b.getReducingState(n, r, s),
      getAggregatingState: (n, f, s) => b.getAggregatingState(n, f, s),
    });
  }

  /** The value of a key's ValueState `name` (undefined when empty). */
  valueState<T>(key: K, name: string): T | undefined {
    return this.withKey(key, (s) => s.getValueState<T>(name).value());
  }

  /** Pending event-time timers, by timestamp. */
  eventTimers(): HarnessTimer<K>[] {
    return this.pending('event');
  }

  /** Pending processing-time timers, by timestamp. */
  processingTimers(): HarnessTimer<K>[] {
    return this.pending('processing');
  }

  /** Closes the function (its `close` runs) and deletes the state. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.operator.close();
    } finally {
      await this.backend.dispose();
      await rm(this.dir, { recursive: true, force: true });
    }
  }

  private pending(domain: Domain): HarnessTimer<K>[] {
    return [...this.timers.values()]
      .filter((t) => t.domain === domain)
      .map((t) => ({ key: t.key as K, timestamp: t.timestamp }))
      .sort((a, b) => a.timestamp - b.timestamp);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('the harness is closed');
  }
}

/**
 * The backend with its timer calls mirrored into a map (the backend keeps timers per key
 * group and does not list them; the harness wants to show them).
 */
function trackTimers(b: KeyedStateBackend, timers: Map<string, PendingTimer>): KeyedStateBackend {
  const id = (domain: Domain, key: unknown, timestamp: number, namespace: unknown): string =>
    JSON.stringify([domain, key, timestamp, namespace ?? null]);
  return {
    get kind() {
      return b.kind;
    },
    get keyGroupRange() {
      return b.keyGroupRange;
    },
    get maxParallelism() {
      return b.maxParallelism;
    },
    setCurrentKey: (key) => b.setCurrentKey(key),
    getCurrentKey: () => b.getCurrentKey(),
    currentKeyGroup: () => b.currentKeyGroup(),
    getValueState: (n, s) => b.getValueState(n, s),
    getListState: (n, s) => b.getListState(n, s),
    getMapState: (n, k, v) => b.getMapState(n, k, v),
    getReducingState: (n, r, s) => b.getReducingState(n, r, s),
    getAggregatingState: (n, f, s) => b.getAggregatingState(n, f, s),
    setCurrentNamespace: (ns) => b.setCurrentNamespace(ns),
    registerTimer: (domain, timestamp, namespace) => {
      b.registerTimer(domain, timestamp, namespace);
      const key = b.getCurrentKey();
      timers.set(id(domain, key, timestamp, namespace), { domain, key, timestamp });
    },
    deleteTimer: (domain, timestamp, namespace) => {
      b.deleteTimer(domain, timestamp, namespace);
      timers.delete(id(domain, b.getCurrentKey(), timestamp, namespace));
    },
    pollTimers: (domain, upTo) => {
      const due: TimerEntry[] = b.pollTimers(domain, upTo);
      for (const t of due) timers.delete(id(domain, t.key, t.timestamp, t.namespace));
      return due;
    },
    nextTimer: (domain) => b.nextTimer(domain),
    snapshot: (target) => b.snapshot(target),
    notifyCheckpointComplete: (id) => b.notifyCheckpointComplete(id),
    notifyCheckpointAborted: (id) => b.notifyCheckpointAborted(id),
    writeBackpressure: () => b.writeBackpressure(),
    approximateSize: () => b.approximateSize(),
    dispose: () => b.dispose(),
  };
}

/**
 * Runs a KeyedProcessFunction: sets the record's key on the subtask's state backend
 * (serialized and hashed once), calls the function, and fires its timers — event-time
 * timers when the watermark passes them, processing-time timers from the task's clock.
 * One context object is reused for every call (no allocation per record).
 */
import type { KeyedStateBackend } from '../../state/types.ts';
import type { Collector, KeyedOpenContext, KeyedProcessFunction, OnTimerContext, OutputTag, TimerService } from '../functions.ts';
import type { OperatorContext, OperatorSnapshot, Output, StreamOperator } from '../operator.ts';
import { previewRecord } from '../../util/record-preview.ts';
import { userFunctionFailed } from '../user-code.ts';

/** Bound on timers fired by one watermark or tick (each firing may register more). */
const MAX_TIMER_ROUNDS = 1_000_000;

export class KeyedProcessOperator implements StreamOperator {
  private ctx!: OperatorContext;
  private out!: Output;
  private backend!: KeyedStateBackend;
  private timestamp: number | undefined;
  private domain: 'event' | 'processing' = 'event';
  private scheduledProcessing = Number.POSITIVE_INFINITY;
  private readonly collector: Collector<unknown> = { collect: (v) => this.out.collect(v, this.timestamp) };
  private fnCtx!: OnTimerContext<unknown>;

  constructor(
    private readonly fn: KeyedProcessFunction<any, any, any>,
    private readonly keySelector: (value: any) => unknown,
    /** How errors name `fn` (e.g. "reduce function" for keyBy().reduce()). */
    private readonly fnName = 'process function',
  ) {}

  async open(ctx: OperatorContext): Promise<void> {
    this.ctx = ctx;
    this.out = ctx.output;
    const backend = ctx.keyed!;
    this.backend = backend;
    const timers: TimerService = {
      currentProcessingTime: () => ctx.clock.now(),
      currentWatermark: () => ctx.currentWatermark(),
      registerEventTimeTimer: (ts) => backend.registerTimer('event', ts),
      registerProcessingTimeTimer: (ts) => {
        backend.registerTimer('processing', ts);
        this.scheduleProcessing(ts);
      },
      deleteEventTimeTimer: (ts) => backend.deleteTimer('event', ts),
      deleteProcessingTimeTimer: (ts) => backend.deleteTimer('processing', ts),
    };
    this.fnCtx = {
      getValueState: (n, s) => backend.getValueState(n, s),
      getListState: (n, s) => backend.getListState(n, s),
      getMapState: (n, k, v) => backend.getMapState(n, k, v),
      getReducingState: (n, r, s) => backend.getReducingState(n, r, s),
      getAggregatingState: (n, f, s) => backend.getAggregatingState(n, f, s),
      getCurrentKey: () => backend.getCurrentKey(),
      timestamp: () => this.timestamp,
      timerService: () => timers,
      output: <X>(tag: OutputTag<X>, value: X) => this.out.collectSide(tag.id, value, this.timestamp),
      timeDomain: () => this.domain,
    };
    const openCtx: KeyedOpenContext = {
      ...this.fnCtx,
      subtaskIndex: ctx.subtaskIndex,
      parallelism: ctx.parallelism,
      maxParallelism: ctx.maxParallelism,
    };
    try {
      await this.fn.open?.(openCtx);
    } catch (err) {
      throw userFunctionFailed(ctx, `open() of the ${this.fnName}`, undefined, err, '(none: open)');
    }
    const next = backend.nextTimer('processing');
    if (next !== undefined) this.scheduleProcessing(next);
  }

  private scheduleProcessing(ts: number): void {
    if (ts < this.scheduledProcessing) {
      this.scheduledProcessing = ts;
      this.ctx.registerProcessingTimer(ts);
    }
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    let key: unknown;
    try {
      key = this.keySelector(value);
    } catch (err) {
      throw userFunctionFailed(this.ctx, 'key selector', value, err);
    }
    this.backend.setCurrentKey(key);
    this.timestamp = timestamp;
    try {
      this.fn.processElement(value, this.fnCtx, this.collector);
    } catch (err) {
      throw userFunctionFailed(this.ctx, this.fnName, value, err);
    }
  }

  processWatermark(timestamp: number): void {
    this.fireTimers('event', timestamp);
    this.out.emitWatermark(timestamp);
  }

  /** Called by the task's clock timer; may come a little early (then the timer is simply scheduled again). */
  onProcessingTime(now: number): void {
    this.scheduledProcessing = Number.POSITIVE_INFINITY;
    this.fireTimers('processing', now);
    const next = this.backend.nextTimer('processing');
    if (next !== undefined) this.scheduleProcessing(next);
  }

  private fireTimers(domain: 'event' | 'processing', upTo: number): void {
    const backend = this.backend;
    for (let round = 0; round < MAX_TIMER_ROUNDS; round++) {
      const next = backend.nextTimer(domain);
      if (next === undefined || next > upTo) return;
      const due = backend.pollTimers(domain, upTo);
      for (const t of due) {
        backend.setCurrentKey(t.key);
        this.timestamp = t.timestamp;
        this.domain = domain;
        try {
          this.fn.onTimer?.(t.timestamp, this.fnCtx, this.collector);
        } catch (err) {
          throw userFunctionFailed(this.ctx, `onTimer of the ${this.fnName}`, undefined, err, `(${domain}-time timer ${t.timestamp} of key ${previewRecord(t.key)})`);
        }
      }
    }
  }

  snapshotState(): OperatorSnapshot {
    return {};
  }

  async close(): Promise<void> {
    await this.fn.close?.();
  }
}

/** Rolling reduce: emits the key's reduced value after every record. */
export function reduceFunction<T>(reduce: (a: T, b: T) => T): KeyedProcessFunction<unknown, T, T> {
  return {
    processElement(value, ctx, out) {
      const state = ctx.getValueState<T>('reduce');
      const prev = state.value();
      const next = prev === undefined ? value : reduce(prev, value);
      state.update(next);
      out.collect(next);
    },
  };
}

/** Rolling aggregate: emits the key's aggregate after every record. */
export function aggregateFunction<IN, ACC, OUT>(agg: {
  createAccumulator(): ACC;
  add(value: IN, acc: ACC): ACC;
  getResult(acc: ACC): OUT;
}): KeyedProcessFunction<unknown, IN, OUT> {
  return {
    processElement(value, ctx, out) {
      const state = ctx.getValueState<ACC>('aggregate');
      const acc = agg.add(value, state.value() ?? agg.createAccumulator());
      state.update(acc);
      out.collect(agg.getResult(acc));
    },
  };
}

/**
 * Event-time windows over keyed state: tumbling, sliding and session windows, with
 * reduce / aggregate (incremental) or process (all elements) window functions, allowed
 * lateness and a side output for records that arrive too late.
 *
 * State layout (all in the subtask's keyed backend, so it is checkpointed and
 * rescaled with the key): window contents live in the namespace `[start, end]` of the
 * record's key; session windows keep the key's open sessions in namespace 'sessions'.
 * Timers (namespace = window): one at `end - 1` fires the window; one at
 * `end - 1 + allowedLateness` clears it (the same timer when lateness is 0).
 *
 * Lateness: a record whose every window has `end - 1 + allowedLateness <= watermark` is
 * late: it goes to the late-data side output (or is dropped). A record that is behind
 * the watermark but within the allowed lateness updates its window, which fires again
 * at once with the updated result (Flink's behaviour).
 */
import type { AggregateFunction, AggregatingState, KeyedStateBackend, ListState, ReducingState, ValueState } from '../../state/types.ts';
import { ConfigError } from '../../util/errors.ts';
import type { Collector, ProcessWindowFunction, TimeWindow, WindowAssigner, WindowResultFunction } from '../functions.ts';
import type { OperatorContext, OperatorSnapshot, Output, StreamOperator } from '../operator.ts';
import { previewRecord } from '../../util/record-preview.ts';
import { userFunctionFailed } from '../user-code.ts';

export type WindowFunctionSpec =
  | { readonly kind: 'reduce'; readonly reduce: (a: any, b: any) => any; readonly result?: WindowResultFunction<any, any, any> }
  | { readonly kind: 'aggregate'; readonly aggregate: AggregateFunction<any, any, any>; readonly result?: WindowResultFunction<any, any, any> }
  | { readonly kind: 'process'; readonly process: ProcessWindowFunction<any, any, any> };

type Ns = [number, number];
const SESSIONS_NS = 'sessions';
const MAX_TIMER_ROUNDS = 1_000_000;

export function assignWindows(assigner: WindowAssigner, timestamp: number): TimeWindow[] {
  switch (assigner.kind) {
    case 'tumbling': {
      const start = timestamp - mod(timestamp - assigner.offset, assigner.size);
      return [{ start, end: start + assigner.size }];
    }
    case 'sliding': {
      const out: TimeWindow[] = [];
      const last = timestamp - mod(timestamp - assigner.offset, assigner.slide);
      for (let start = last; start > timestamp - assigner.size; start -= assigner.slide) out.push({ start, end: start + assigner.size });
      return out;
    }
    case 'session':
      return [{ start: timestamp, end: timestamp + assigner.gap }];
  }
}

function mod(a: number, b: number): number {
  return ((a % b) + b) % b;
}

export class WindowOperator implements StreamOperator {
  private ctx!: OperatorContext;
  private out!: Output;
  private backend!: KeyedStateBackend;
  private reducing: ReducingState<unknown> | undefined;
  private aggregating: AggregatingState<unknown, unknown> | undefined;
  private list: ListState<unknown> | undefined;
  private sessions!: ValueState<Ns[]>;
  private emitTimestamp = 0;
  private readonly collector: Collector<unknown> = { collect: (v) => this.out.collect(v, this.emitTimestamp) };
  /** Records dropped or sent to the side output as late (for tests and metrics). */
  lateRecords = 0;

  constructor(
    private readonly assigner: WindowAssigner,
    private readonly fn: WindowFunctionSpec,
    private readonly keySelector: (value: any) => unknown,
    private readonly allowedLateness: number,
    private readonly lateTag: string | undefined,
  ) {}

  open(ctx: OperatorContext): void {
    this.ctx = ctx;
    this.out = ctx.output;
    const b = ctx.keyed!;
    this.backend = b;
    const incremental = this.assigner.kind !== 'session';
    if (incremental && this.fn.kind === 'reduce') this.reducing = b.getReducingState('window-contents', this.fn.reduce);
    else if (incremental && this.fn.kind === 'aggregate') this.aggregating = b.getAggregatingState('window-contents', this.fn.aggregate);
    else this.list = b.getListState('window-contents');
    this.sessions = b.getValueState<Ns[]>('window-sessions');
  }

  private isLate(w: TimeWindow): boolean {
    return w.end - 1 + this.allowedLateness <= this.ctx.currentWatermark();
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    if (timestamp === undefined) {
      throw new ConfigError('event-time window got a record without a timestamp: call assignTimestampsAndWatermarks() before window()');
    }
    const b = this.backend;
    let key: unknown;
    try {
      key = this.keySelector(value);
    } catch (err) {
      throw userFunctionFailed(this.ctx, 'key selector', value, err);
    }
    b.setCurrentKey(key);
    if (this.assigner.kind === 'session') {
      this.addToSession(value, timestamp, this.assigner.gap);
      return;
    }
    let accepted = false;
    for (const w of assignWindows(this.assigner, timestamp)) {
      if (this.isLate(w)) continue;
      accepted = true;
      const ns: Ns = [w.start, w.end];
      b.setCurrentNamespace(ns);
      try {
        if (this.reducing) this.reducing.add(value); // runs the reduce function
        else if (this.aggregating) this.aggregating.add(value); // runs the aggregate's add()
        else this.list!.add(value);
      } catch (err) {
        throw userFunctionFailed(this.ctx, `${this.fn.kind} function of the window`, value, err);
      }
      this.registerWindowTimers(ns);
      if (w.end - 1 <= this.ctx.currentWatermark()) this.fire(ns);
    }
    if (!accepted) this.late(value, timestamp);
  }

  private late(value: unknown, timestamp: number): void {
    this.lateRecords++;
    if (this.lateTag !== undefined) this.out.collectSide(this.lateTag, value, timestamp);
  }

  /** The firing timer only while the window is not yet due (a due window fires at once instead, as Flink's EventTimeTrigger does). */
  private registerWindowTimers(ns: Ns): void {
    if (ns[1] - 1 > this.ctx.currentWatermark()) this.backend.registerTimer('event', ns[1] - 1, ns);
    if (this.allowedLateness > 0 || ns[1] - 1 <= this.ctx.currentWatermark()) this.backend.registerTimer('event', ns[1] - 1 + this.allowedLateness, ns);
  }

  private deleteWindowTimers(ns: Ns): void {
    this.backend.deleteTimer('event', ns[1] - 1, ns);
    if (this.allowedLateness > 0) this.backend.deleteTimer('event', ns[1] - 1 + this.allowedLateness, ns);
  }

  private addToSession(value: unknown, timestamp: number, gap: number): void {
    const b = this.backend;
    b.setCurrentNamespace(SESSIONS_NS);
    const open = this.sessions.value() ?? [];
    let start = timestamp;
    let end = timestamp + gap;
    const keep: Ns[] = [];
    const merged: Ns[] = [];
    for (const s of open) {
      if (s[0] <= end && s[1] >= start) {
        merged.push(s);
        start = Math.min(start, s[0]);
        end = Math.max(end, s[1]);
      } else keep.push(s);
    }
    const target: Ns = [start, end];
    if (this.isLate({ start, end })) {
      // Late: only possible when it merges with nothing still open.
      this.late(value, timestamp);
      return;
    }
    const carried: unknown[] = [];
    for (const s of merged) {
      if (s[0] === start && s[1] === end) continue;
      b.setCurrentNamespace(s);
      carried.push(...this.list!.get());
      this.list!.clear();
      this.deleteWindowTimers(s);
    }
    keep.push(target);
    b.setCurrentNamespace(SESSIONS_NS);
    this.sessions.update(keep);
    b.setCurrentNamespace(target);
    if (carried.length > 0) this.list!.addAll(carried);
    this.list!.add(value);
    this.registerWindowTimers(target);
    if (end - 1 <= this.ctx.currentWatermark()) this.fire(target);
  }

  /** Emits the window's result for the current key; namespace must be `ns`. */
  private fire(ns: Ns): void {
    const key = this.backend.getCurrentKey();
    this.emitTimestamp = ns[1] - 1;
    try {
      this.emit({ start: ns[0], end: ns[1] }, key);
    } catch (err) {
      throw userFunctionFailed(this.ctx, `${this.fn.kind} function of the window`, undefined, err, `(window [${ns[0]}, ${ns[1]}) of key ${previewRecord(key)})`);
    }
  }

  /** Runs the window function(s) on the window's contents and emits the result. */
  private emit(window: TimeWindow, key: unknown): void {
    const fn = this.fn;
    if (fn.kind === 'process') {
      fn.process(key, window, this.list!.get(), this.collector);
      return;
    }
    let result: unknown;
    if (this.list) {
      const elements = this.list.get();
      if (elements.length === 0) return;
      if (fn.kind === 'reduce') result = elements.reduce((a, v) => fn.reduce(a, v));
      else {
        let acc = fn.aggregate.createAccumulator();
        for (const v of elements) acc = fn.aggregate.add(v, acc);
        result = fn.aggregate.getResult(acc);
      }
    } else {
      result = this.reducing ? this.reducing.get() : this.aggregating!.get();
      if (result === undefined) return;
    }
    if (fn.result) fn.result(key, window, result, this.collector);
    else this.out.collect(result, this.emitTimestamp);
  }

  private clear(ns: Ns): void {
    if (this.reducing) this.reducing.clear();
    else if (this.aggregating) this.aggregating.clear();
    else this.list!.clear();
    if (this.assigner.kind === 'session') {
      const b = this.backend;
      b.setCurrentNamespace(SESSIONS_NS);
      const rest = (this.sessions.value() ?? []).filter((s) => !(s[0] === ns[0] && s[1] === ns[1]));
      if (rest.length === 0) this.sessions.clear();
      else this.sessions.update(rest);
      b.setCurrentNamespace(ns);
    }
  }

  processWatermark(timestamp: number): void {
    const b = this.backend;
    for (let round = 0; round < MAX_TIMER_ROUNDS; round++) {
      const next = b.nextTimer('event');
      if (next === undefined || next > timestamp) break;
      for (const t of b.pollTimers('event', timestamp)) {
        const ns = t.namespace as Ns;
        b.setCurrentKey(t.key);
        b.setCurrentNamespace(ns);
        const fireAt = ns[1] - 1;
        if (t.timestamp === fireAt) this.fire(ns);
        if (t.timestamp === fireAt + this.allowedLateness) this.clear(ns);
      }
    }
    this.out.emitWatermark(timestamp);
  }

  snapshotState(): OperatorSnapshot {
    return {};
  }

  async close(): Promise<void> {}
}

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
 * Session windows (Flink's MergingWindowSet): each open session is `[start, end, stateStart,
 * stateEnd]`: its window and the namespace its contents live in, fixed when the session
 * began. A record that extends a session only moves the window (and its timers); the
 * contents stay where they are, so a session of n records costs O(n), not O(n²). When a
 * record bridges sessions, the others' contents are merged into the first's namespace:
 * reduce and aggregate (with `merge`) keep one accumulator per session, process (and
 * aggregate without `merge`) keep the elements.
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
/** An open session: its window and the namespace of its contents (older checkpoints stored [start, end]: contents under the window). */
type Session = [number, number] | [number, number, number, number];
const stateNsOf = (s: Session): Ns => (s.length === 4 ? [s[2], s[3]] : [s[0], s[1]]);
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
  /** Session windows with reduce, or aggregate with merge: one accumulator per session. */
  private sessionAcc: ValueState<unknown> | undefined;
  /** With sessionAcc: where checkpoints from before it kept a session's elements (folded in on first touch). */
  private legacyList: ListState<unknown> | undefined;
  private sessions!: ValueState<Session[]>;
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
    const session = this.assigner.kind === 'session';
    const accumulates = this.fn.kind === 'reduce' || (this.fn.kind === 'aggregate' && this.fn.aggregate.merge !== undefined);
    if (!session && this.fn.kind === 'reduce') this.reducing = b.getReducingState('window-contents', this.fn.reduce);
    else if (!session && this.fn.kind === 'aggregate') this.aggregating = b.getAggregatingState('window-contents', this.fn.aggregate);
    else if (session && accumulates) this.sessionAcc = b.getValueState('window-session-acc');
    else this.list = b.getListState('window-contents');
    if (this.sessionAcc) this.legacyList = b.getListState('window-contents');
    this.sessions = b.getValueState<Session[]>('window-sessions');
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
    const keep: Session[] = [];
    const merged: Session[] = [];
    for (const s of open) {
      if (s[0] <= end && s[1] >= start) {
        merged.push(s);
        start = Math.min(start, s[0]);
        end = Math.max(end, s[1]);
      } else keep.push(s);
    }
    if (this.isLate({ start, end })) {
      // Late: only possible when it merges with nothing still open.
      this.late(value, timestamp);
      return;
    }
    // The contents stay in the first merged session's namespace (a new session's: its first window).
    const stateNs: Ns = merged.length > 0 ? stateNsOf(merged[0]!) : [start, end];
    for (const s of merged) {
      if (s.length === 2) this.adoptLegacy(s);
      if (s[0] !== start || s[1] !== end) this.deleteWindowTimers([s[0], s[1]]);
      const from = stateNsOf(s);
      if (from[0] !== stateNs[0] || from[1] !== stateNs[1]) this.mergeContents(from, stateNs);
    }
    keep.push([start, end, stateNs[0], stateNs[1]]);
    b.setCurrentNamespace(SESSIONS_NS);
    this.sessions.update(keep);
    b.setCurrentNamespace(stateNs);
    this.addToContents(value);
    this.registerWindowTimers([start, end]);
    if (end - 1 <= this.ctx.currentWatermark()) this.fire([start, end], stateNs);
  }

  /** Adds a record to the current namespace's session contents. */
  private addToContents(value: unknown): void {
    if (this.list) {
      this.list.add(value);
      return;
    }
    const fn = this.fn;
    const acc = this.sessionAcc!.value();
    let next: unknown;
    try {
      if (fn.kind === 'reduce') next = acc === undefined ? value : fn.reduce(acc, value);
      else if (fn.kind === 'aggregate') next = fn.aggregate.add(value, acc === undefined ? fn.aggregate.createAccumulator() : acc);
    } catch (err) {
      throw userFunctionFailed(this.ctx, `${fn.kind} function of the window`, value, err);
    }
    this.sessionAcc!.update(next);
  }

  /** Moves the contents of session namespace `from` into `to` (a record bridged the two sessions). */
  private mergeContents(from: Ns, to: Ns): void {
    const b = this.backend;
    b.setCurrentNamespace(from);
    if (this.list) {
      const moved = this.list.get();
      this.list.clear();
      b.setCurrentNamespace(to);
      if (moved.length > 0) this.list.addAll(moved);
      return;
    }
    const acc = this.sessionAcc!;
    const moved = acc.value();
    acc.clear();
    if (moved === undefined) return;
    b.setCurrentNamespace(to);
    const into = acc.value();
    const fn = this.fn;
    if (into === undefined) {
      acc.update(moved);
      return;
    }
    try {
      if (fn.kind === 'reduce') acc.update(fn.reduce(into, moved));
      else if (fn.kind === 'aggregate') acc.update(fn.aggregate.merge!(into, moved));
    } catch (err) {
      throw userFunctionFailed(this.ctx, `${fn.kind} function of the window (merging sessions)`, undefined, err, `(sessions [${from[0]}, …) and [${to[0]}, …) of key ${previewRecord(b.getCurrentKey())})`);
    }
  }

  /** The contents namespace of the key's open session `window` (undefined when it is gone). */
  private sessionStateNs(window: Ns): Ns | undefined {
    this.backend.setCurrentNamespace(SESSIONS_NS);
    const s = (this.sessions.value() ?? []).find((x) => x[0] === window[0] && x[1] === window[1]);
    if (s === undefined) return undefined;
    if (s.length === 2) this.adoptLegacy(s);
    return stateNsOf(s);
  }

  /**
   * A session restored from a checkpoint taken before sessions kept accumulators: its
   * elements are in the list state under its window; fold them into its accumulator.
   */
  private adoptLegacy(s: Session): void {
    if (!this.sessionAcc || !this.legacyList) return;
    const b = this.backend;
    const ns = stateNsOf(s);
    b.setCurrentNamespace(ns);
    const elements = this.legacyList.get();
    if (elements.length === 0) return;
    this.legacyList.clear();
    for (const v of elements) this.addToContents(v);
  }

  /** Emits the result of window `ns` for the current key; its contents are in namespace `stateNs` (the window's own unless a session). */
  private fire(ns: Ns, stateNs: Ns = ns): void {
    const key = this.backend.getCurrentKey();
    this.backend.setCurrentNamespace(stateNs);
    this.emitTimestamp = ns[1] - 1;
    try {
      this.emit({ start: ns[0], end: ns[1] }, key);
    } catch (err) {
      throw userFunctionFailed(this.ctx, `${this.fn.kind} function of the window`, undefined, err, `(window [${ns[0]}, ${ns[1]}) of key ${previewRecord(key)})`);
    }
  }

  /** Runs the window function(s) on the contents in the current namespace and emits the result. */
  private emit(window: TimeWindow, key: unknown): void {
    const fn = this.fn;
    if (fn.kind === 'process') {
      fn.process(key, window, this.list!.get(), this.collector);
      return;
    }
    let result: unknown;
    if (this.sessionAcc) {
      const acc = this.sessionAcc.value();
      if (acc === undefined) return;
      result = fn.kind === 'aggregate' ? fn.aggregate.getResult(acc) : acc;
    } else if (this.list) {
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

  /** Forgets window `ns` of the current key (contents in namespace `stateNs`). */
  private clear(ns: Ns, stateNs: Ns = ns): void {
    const b = this.backend;
    b.setCurrentNamespace(stateNs);
    if (this.reducing) this.reducing.clear();
    else if (this.aggregating) this.aggregating.clear();
    else if (this.sessionAcc) this.sessionAcc.clear();
    else this.list!.clear();
    if (this.assigner.kind === 'session') {
      b.setCurrentNamespace(SESSIONS_NS);
      const rest = (this.sessions.value() ?? []).filter((s) => !(s[0] === ns[0] && s[1] === ns[1]));
      if (rest.length === 0) this.sessions.clear();
      else this.sessions.update(rest);
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
        const stateNs = this.assigner.kind === 'session' ? this.sessionStateNs(ns) : ns;
        if (stateNs === undefined) continue; // the session merged away (its timers were deleted)
        const fireAt = ns[1] - 1;
        if (t.timestamp === fireAt) this.fire(ns, stateNs);
        if (t.timestamp === fireAt + this.allowedLateness) this.clear(ns, stateNs);
      }
    }
    this.out.emitWatermark(timestamp);
  }

  snapshotState(): OperatorSnapshot {
    return {};
  }

  async close(): Promise<void> {}
}

/**
 * One subtask of one operator chain, run as an async loop on the event loop.
 *
 * The loop (Flink's mailbox model): run queued actions (barrier injection at a source,
 * checkpoint-complete notifications, processing-time timers), then process one batch
 * of input synchronously (a source's poll, or records from the input channels), then
 * await only if needed: an output channel is full (backpressure), an operator asks
 * (state backend write stall, sink flush), or there is nothing to do.
 *
 * Barriers: a source subtask snapshots and emits a barrier when the coordinator
 * triggers; a subtask with several input channels aligns them (exactly-once): the
 * channel that delivered barrier n is blocked until every input has delivered it,
 * then the chain snapshots (synchronous part only, on this path), the barrier goes
 * downstream, the channels are unblocked, and the asynchronous parts finish off the
 * path and are acknowledged to the coordinator.
 *
 * Invariants: only this task's loop touches its operators and state backends; every
 * user call happens inside `run()`; nothing awaits while a batch is half processed.
 */
import type { Clock, TimerHandle } from '../util/clock.ts';
import { assert } from '../util/assert.ts';
import { errorMessage } from '../util/errors.ts';
import type { KeyedStateBackend, KeyedStateHandle, SnapshotTarget } from '../state/types.ts';
import type { OperatorStateEntry, SubtaskCheckpointMetrics, SubtaskState } from '../checkpoint/types.ts';
import type { Channel } from './channel.ts';
import type { SourceOutput, SourceReader } from './connector-types.ts';
import { ControlElement, END, IDLE, ACTIVE, MAX_WATERMARK, MIN_WATERMARK, Watermark } from './elements.ts';
import type { Barrier } from './elements.ts';
import type { ChainPlan } from './execution-plan.ts';
import type { JobNode } from './job-graph.ts';
import type { OperatorContext, OperatorSnapshot, Output, StreamOperator } from './operator.ts';
import type { RecordWriter } from './record-writer.ts';
import { Signal } from './signal.ts';
import type { TurnBudget } from './turn-budget.ts';

/** What a task needs from its job (implemented by JobExecution). */
export interface TaskServices {
  readonly clock: Clock;
  readonly jobPath: string;
  readonly maxParallelism: number;
  readonly checkpointingEnabled: boolean;
  readonly batchSize: number;
  readonly metrics: { recordsIn: number; recordsOut: number };
  /** Shared by the job's tasks: when to give the event loop a turn. */
  readonly turns: TurnBudget;
  createBackend(node: JobNode, subtaskIndex: number): Promise<KeyedStateBackend>;
  /** Undefined: fresh start (no checkpoint restored). */
  restoredOperatorState(operatorId: string, subtaskIndex: number): readonly OperatorStateEntry[] | undefined;
  acknowledge(checkpointId: number, states: SubtaskState[], metrics: SubtaskCheckpointMetrics): void;
  decline(checkpointId: number, reason: string, cause?: unknown): void;
  /** A source subtask reached the end of its input (it waits for `releaseEnd`). */
  sourceFinished(task: Task): void;
}

/** How one node of the chain passes records on: chained operators and channel writers. */
interface NodeWiring {
  node: JobNode;
  op: StreamOperator | undefined;
  mainOps: StreamOperator[];
  mainWriters: RecordWriter[];
  side: Map<string, { ops: StreamOperator[]; writers: RecordWriter[] }>;
  backend: KeyedStateBackend | undefined;
}

const SOURCE_STATE = 'source';


export class Task {
  readonly signal = new Signal();
  readonly name: string;
  private readonly mailbox: (() => void | Promise<void>)[] = [];
  private cancelled = false;
  private readonly wirings: NodeWiring[];
  private readonly writers: RecordWriter[] = [];
  private readonly timers = new Set<TimerHandle>();
  private reader: SourceReader<unknown> | undefined;
  private sourceEnded = false;
  private endReleased = false;
  private finished = false;

  // input side (non-source)
  private readonly inputWatermark: number[];
  private readonly inputIdle: boolean[];
  private readonly inputEnded: boolean[];
  private readonly inputBlocked: boolean[];
  private combinedWatermark = MIN_WATERMARK;
  private idleDownstream = false;
  private aligning: { id: number; barrier: Barrier; received: number; start: number } | undefined;
  private lastCheckpointId = 0;
  private nextInput = 0;
  /** Records taken in (from the source or the input channels) and ms spent waiting on full outputs / write stalls. */
  private readonly counters = { recordsIn: 0, backpressureMillis: 0 };

  constructor(
    readonly chain: ChainPlan,
    readonly subtaskIndex: number,
    readonly inputs: readonly Channel[],
    /** Per chain node: writers of its network edges (main: tag undefined). */
    outputs: Map<number, { tag: string | undefined; writer: RecordWriter }[]>,
    private readonly services: TaskServices,
  ) {
    this.name = `${chain.name} (${subtaskIndex + 1}/${chain.parallelism})`;
    const n = inputs.length;
    this.inputWatermark = new Array<number>(n).fill(MIN_WATERMARK);
    this.inputIdle = new Array<boolean>(n).fill(false);
    this.inputEnded = new Array<boolean>(n).fill(false);
    this.inputBlocked = new Array<boolean>(n).fill(false);
    for (const c of inputs) c.setConsumerSignal(this.signal);
    this.wirings = chain.nodes.map((node) => ({
      node,
      op: node.createOperator?.(),
      mainOps: [],
      mainWriters: [],
      side: new Map(),
      backend: undefined,
    }));
    const byNode = new Map(this.wirings.map((w) => [w.node.index, w]));
    for (const w of this.wirings.slice(1)) {
      const edge = w.node.inputs[0]!;
      const producer = byNode.get(edge.from)!;
      if (edge.sideTag === undefined) producer.mainOps.push(w.op!);
      else this.sideOf(producer, edge.sideTag).ops.push(w.op!);
    }
    for (const [nodeIndex, list] of outputs) {
      const w = byNode.get(nodeIndex)!;
      for (const { tag, writer } of list) {
        if (tag === undefined) w.mainWriters.push(writer);
        else this.sideOf(w, tag).writers.push(writer);
        this.writers.push(writer);
      }
    }
  }

  private sideOf(w: NodeWiring, tag: string): { ops: StreamOperator[]; writers: RecordWriter[] } {
    let s = w.side.get(tag);
    if (!s) {
      s = { ops: [], writers: [] };
      w.side.set(tag, s);
    }
    return s;
  }

  // ---- called by the job (from outside the loop: they only enqueue) ----

  triggerBarrier(barrier: Barrier): void {
    assert(this.chain.isSource, 'barriers are injected at sources only');
    this.enqueue(() => this.performCheckpoint(barrier, 0));
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.enqueue(async () => {
      for (const w of this.wirings) {
        w.backend?.notifyCheckpointComplete(checkpointId);
        if (w.op?.notifyCheckpointComplete) await w.op.notifyCheckpointComplete(checkpointId);
      }
      this.reader?.notifyCheckpointComplete?.(checkpointId);
    });
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.enqueue(() => {
      for (const w of this.wirings) {
        w.backend?.notifyCheckpointAborted(checkpointId);
        w.op?.notifyCheckpointAborted?.(checkpointId);
      }
      if (this.aligning && this.aligning.id === checkpointId) this.endAlignment();
    });
  }

  /** The final checkpoint after the end of input completed: send end-of-stream and stop. */
  releaseEnd(): void {
    this.enqueue(() => {
      this.endReleased = true;
    });
  }

  cancel(): void {
    this.cancelled = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    for (const w of this.writers) for (const c of w.channels) c.close();
    this.signal.notify();
  }

  private enqueue(action: () => void | Promise<void>): void {
    this.mailbox.push(action);
    this.signal.notify();
  }

  // ---- the loop ----

  async run(): Promise<void> {
    try {
      await this.open();
      await this.loop();
    } finally {
      await this.close();
    }
  }

  private async open(): Promise<void> {
    const s = this.services;
    const p = this.chain.parallelism;
    for (const w of this.wirings) {
      const node = w.node;
      const restored = s.restoredOperatorState(node.operatorId, this.subtaskIndex);
      if (node.keyed) w.backend = await s.createBackend(node, this.subtaskIndex);
      if (this.cancelled) return;
      if (node.source) {
        const items = restored?.find((e) => e.name === SOURCE_STATE)?.items;
        this.reader = await node.source.createReader({
          subtaskIndex: this.subtaskIndex,
          parallelism: p,
          clock: s.clock,
          restoredState: restored === undefined ? undefined : (items ?? []),
        });
        continue;
      }
      const ctx: OperatorContext = {
        operatorId: node.operatorId,
        name: node.name,
        subtaskIndex: this.subtaskIndex,
        parallelism: p,
        maxParallelism: s.maxParallelism,
        clock: s.clock,
        output: this.outputOf(w),
        keyed: w.backend,
        restoredOperatorState: restored ?? [],
        restored: restored !== undefined,
        checkpointingEnabled: s.checkpointingEnabled,
        metrics: s.metrics,
        registerProcessingTimer: (ts) => this.registerProcessingTimer(w.op!, ts),
        currentWatermark: () => this.combinedWatermark,
      };
      await w.op!.open(ctx);
    }
  }

  private outputOf(w: NodeWiring): Output {
    const ops = w.mainOps;
    const writers = w.mainWriters;
    const side = w.side;
    const single = ops.length === 1 && writers.length === 0 ? ops[0]! : undefined;
    return {
      collect: single
        ? (v, t) => single.processElement(v, t)
        : (v, t) => {
            for (let i = 0; i < ops.length; i++) ops[i]!.processElement(v, t);
            for (let i = 0; i < writers.length; i++) writers[i]!.emit(v, t);
          },
      collectSide: (tag, v, t) => {
        const s = side.get(tag);
        if (!s) return;
        for (const op of s.ops) op.processElement(v, t);
        for (const wr of s.writers) wr.emit(v, t);
      },
      emitWatermark: (ts) => {
        for (const op of ops) op.processWatermark(ts);
        for (const wr of writers) wr.broadcast(new Watermark(ts));
        for (const s of side.values()) {
          for (const op of s.ops) op.processWatermark(ts);
          for (const wr of s.writers) wr.broadcast(new Watermark(ts));
        }
      },
      emitIdle: (idle) => {
        for (const wr of writers) wr.broadcast(idle ? IDLE : ACTIVE);
      },
    };
  }

  private registerProcessingTimer(op: StreamOperator, timestamp: number): void {
    const clock = this.services.clock;
    const handle = clock.setTimeout(() => {
      this.timers.delete(handle);
      this.enqueue(() => op.onProcessingTime?.(clock.now()));
    }, Math.max(0, timestamp - clock.now()));
    this.timers.add(handle);
  }

  private async loop(): Promise<void> {
    const batch = this.services.batchSize;
    const head = this.wirings[0]!;
    const sourceOut: SourceOutput<unknown> | undefined = this.chain.isSource ? this.sourceOutput(head) : undefined;
    while (!this.cancelled) {
      if (this.mailbox.length > 0) {
        await this.runMailbox();
        continue;
      }
      let idle = false;
      if (this.chain.isSource) {
        if (!this.sourceEnded) {
          const r = this.reader!.poll(sourceOut!, batch);
          if (r === 'end') {
            this.sourceEnded = true;
            this.outputOf(head).emitWatermark(MAX_WATERMARK);
            this.services.sourceFinished(this);
          } else if (r !== 'more') {
            await Promise.race([r, this.signal.wait()]);
            continue;
          }
        } else if (this.endReleased) {
          await this.finishChain();
          return;
        } else {
          idle = true;
        }
      } else {
        if (this.inputEnded.every(Boolean)) {
          await this.finishChain();
          return;
        }
        idle = this.processInputs(batch) === 0;
      }
      if (idle) {
        await this.signal.wait();
        continue;
      }
      await this.awaitBackpressure();
      // Awaiting settled promises only runs microtasks: without a macrotask turn now and
      // then, busy tasks would starve timers (checkpoint triggers) and I/O callbacks.
      if (this.services.turns.shouldYield()) await this.services.turns.yield();
    }
  }

  private sourceOutput(head: NodeWiring): SourceOutput<unknown> {
    const out = this.outputOf(head);
    const metrics = this.services.metrics;
    const counters = this.counters;
    return {
      collect(value: unknown, timestamp?: number) {
        metrics.recordsIn++;
        counters.recordsIn++;
        out.collect(value, timestamp);
      },
    };
  }

  private async runMailbox(): Promise<void> {
    let n = this.mailbox.length;
    while (n-- > 0 && !this.cancelled) {
      const action = this.mailbox.shift()!;
      await action();
    }
  }

  private async awaitBackpressure(): Promise<void> {
    for (let guard = 0; guard < 1_000_000 && !this.cancelled; guard++) {
      let waitFor: Promise<void> | undefined;
      for (const w of this.writers) {
        const full = w.fullChannel();
        if (full) {
          waitFor = full.waitCapacity();
          break;
        }
      }
      if (!waitFor) {
        for (const w of this.wirings) {
          const bp = w.backend?.writeBackpressure() ?? w.op?.backpressure?.();
          if (bp) {
            waitFor = bp;
            break;
          }
        }
      }
      if (!waitFor) return;
      const waitStart = this.services.clock.monotonic();
      await waitFor;
      this.counters.backpressureMillis += this.services.clock.monotonic() - waitStart;
    }
  }

  /** Processes up to `max` elements from the unblocked input channels. Returns how many. */
  private processInputs(max: number): number {
    const n = this.inputs.length;
    const head = this.wirings[0]!.op!;
    let total = 0;
    for (let k = 0; k < n && total < max; k++) {
      const i = (this.nextInput + k) % n;
      if (this.inputBlocked[i] || this.inputEnded[i]) continue;
      const ch = this.inputs[i]!;
      if (ch.size() === 0) continue;
      total += ch.drain((v, t) => {
        if (v instanceof ControlElement) {
          this.onControl(i, v);
          return !this.inputBlocked[i] && !this.inputEnded[i];
        }
        this.counters.recordsIn++;
        head.processElement(v, t);
        return true;
      }, max - total);
    }
    this.nextInput = (this.nextInput + 1) % Math.max(1, n);
    return total;
  }

  private onControl(i: number, e: ControlElement): void {
    switch (e.kind) {
      case 'watermark':
        this.inputWatermark[i] = (e as Watermark).timestamp;
        if (this.inputIdle[i]) this.inputIdle[i] = false;
        this.updateWatermark();
        return;
      case 'idle':
        this.inputIdle[i] = true;
        this.updateWatermark();
        return;
      case 'active':
        this.inputIdle[i] = false;
        this.updateWatermark();
        return;
      case 'end':
        this.inputEnded[i] = true;
        this.inputWatermark[i] = MAX_WATERMARK;
        this.updateWatermark();
        if (this.aligning) this.checkAligned();
        return;
      case 'barrier':
        this.onBarrier(i, e as Barrier);
        return;
    }
  }

  private updateWatermark(): void {
    let min = MAX_WATERMARK;
    let active = 0;
    for (let i = 0; i < this.inputs.length; i++) {
      if (this.inputIdle[i] && !this.inputEnded[i]) continue;
      active++;
      if (this.inputWatermark[i]! < min) min = this.inputWatermark[i]!;
    }
    const head = this.wirings[0]!.op!;
    if (active === 0) {
      if (!this.idleDownstream) {
        this.idleDownstream = true;
        for (const w of this.writers) w.broadcast(IDLE);
      }
      return;
    }
    if (this.idleDownstream) {
      this.idleDownstream = false;
      for (const w of this.writers) w.broadcast(ACTIVE);
    }
    if (min > this.combinedWatermark) {
      this.combinedWatermark = min;
      head.processWatermark(min);
    }
  }

  private onBarrier(i: number, b: Barrier): void {
    if (b.checkpointId <= this.lastCheckpointId) return; // an aborted, older checkpoint
    const now = this.services.clock.monotonic();
    if (this.aligning && b.checkpointId > this.aligning.id) {
      // A newer barrier overtook an alignment: the older checkpoint cannot complete here.
      this.services.decline(this.aligning.id, `subtask ${this.name} received barrier ${b.checkpointId} before aligning ${this.aligning.id}`);
      this.endAlignment();
    }
    if (!this.aligning) this.aligning = { id: b.checkpointId, barrier: b, received: 0, start: now };
    assert(!this.inputBlocked[i], 'two barriers of one checkpoint on one channel');
    this.inputBlocked[i] = true;
    this.aligning.received++;
    this.checkAligned();
  }

  private checkAligned(): void {
    const a = this.aligning!;
    let open = 0;
    for (let k = 0; k < this.inputs.length; k++) if (!this.inputEnded[k] && !this.inputBlocked[k]) open++;
    if (open > 0) return;
    const alignmentMillis = this.services.clock.monotonic() - a.start;
    this.endAlignment();
    this.performCheckpoint(a.barrier, alignmentMillis);
  }

  private endAlignment(): void {
    this.aligning = undefined;
    this.inputBlocked.fill(false);
    this.signal.notify();
  }

  /** Synchronous part of the chain's snapshot, then the barrier goes on; the rest runs off the path. */
  private performCheckpoint(barrier: Barrier, alignmentMillis: number): void {
    const clock = this.services.clock;
    const id = barrier.checkpointId;
    this.lastCheckpointId = Math.max(this.lastCheckpointId, id);
    const start = clock.monotonic();
    const target: SnapshotTarget = { jobPath: this.services.jobPath, checkpointId: id, kind: barrier.checkpointKind };
    const parts: { node: JobNode; snap: OperatorSnapshot }[] = [];
    try {
      for (const w of this.wirings) {
        if (w.node.source) {
          const items = this.reader!.snapshotState(id);
          parts.push({ node: w.node, snap: { operatorState: [{ name: SOURCE_STATE, mode: 'split', items }] } });
        } else {
          const snap = w.op!.snapshotState(id, target);
          parts.push({ node: w.node, snap: w.backend && !snap.keyed ? { ...snap, keyed: w.backend.snapshot(target) } : snap });
        }
      }
    } catch (err) {
      this.services.decline(id, `snapshot of ${this.name} failed: ${errorMessage(err)}`, err);
      for (const p of parts) p.snap.keyed?.done.catch(() => undefined);
      for (const w of this.writers) w.broadcast(barrier);
      return;
    }
    for (const w of this.writers) w.broadcast(barrier);
    const syncMillis = clock.monotonic() - start;
    const asyncStart = clock.monotonic();
    const subtaskIndex = this.subtaskIndex;
    const finish = async (): Promise<SubtaskState[]> => {
      const states: SubtaskState[] = [];
      const handles = await Promise.all(parts.map((p) => p.snap.keyed?.done ?? Promise.resolve(undefined)));
      await Promise.all(parts.map((p) => p.snap.done ?? Promise.resolve()));
      parts.forEach((p, k) => {
        const keyed: KeyedStateHandle | undefined = handles[k];
        states.push({
          operatorId: p.node.operatorId,
          subtaskIndex,
          ...(keyed ? { keyed } : {}),
          ...(p.snap.operatorState ? { operatorState: p.snap.operatorState } : {}),
        });
      });
      return states;
    };
    finish().then(
      (states) => {
        if (this.cancelled) return;
        this.services.acknowledge(id, states, { syncMillis, asyncMillis: clock.monotonic() - asyncStart, alignmentMillis });
      },
      (err: unknown) => {
        if (this.cancelled) return;
        this.services.decline(id, `asynchronous snapshot of ${this.name} failed: ${errorMessage(err)}`, err);
      },
    );
  }

  private async finishChain(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    for (const w of this.wirings) if (w.op?.finish) await w.op.finish();
    for (const w of this.writers) w.broadcast(END);
  }

  private async close(): Promise<void> {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    const errors: unknown[] = [];
    for (const w of this.wirings) {
      try {
        if (w.op) await w.op.close();
      } catch (err) {
        errors.push(err);
      }
      try {
        await w.backend?.dispose();
      } catch (err) {
        errors.push(err);
      }
    }
    try {
      await this.reader?.close?.();
    } catch (err) {
      errors.push(err);
    }
    if (errors.length > 0 && !this.cancelled) throw errors[0];
  }

  /** Counters for the observability layer (REST API, metrics); cheap, read-only. */
  stats(): { recordsIn: number; recordsOut: number; backpressureMillis: number } {
    let recordsOut = 0;
    for (const w of this.writers) recordsOut += w.emitted;
    return { recordsIn: this.counters.recordsIn, recordsOut, backpressureMillis: this.counters.backpressureMillis };
  }

  /** True once the loop has sent end-of-stream. */
  isFinished(): boolean {
    return this.finished;
  }
}

/**
 * The operators of one chain subtask and how they pass records on (Flink's
 * OperatorChain): chained operators call each other directly; the chain's network
 * edges are record writers. Also the chain-wide lifecycle steps the task drives:
 * open (state restored), the synchronous part of a snapshot, checkpoint notifications,
 * finish at end of input, close.
 *
 * Invariants: every call here comes from the task's loop; nothing here awaits while a
 * record is half processed.
 */
import type { KeyedStateBackend, SnapshotTarget } from '../../state/types.ts';
import type { SourceOutput, SourceReader } from '../connector-types.ts';
import { END, IDLE, ACTIVE, Watermark, type ControlElement } from '../elements.ts';
import type { ChainPlan } from '../execution-plan.ts';
import type { JobNode } from '../job-graph.ts';
import type { OperatorContext, OperatorSnapshot, Output, StreamOperator } from '../operator.ts';
import type { RecordWriter } from '../record-writer.ts';
import type { TaskServices } from './task-services.ts';

/** How one node of the chain passes records on: chained operators and channel writers. */
interface NodeWiring {
  node: JobNode;
  op: StreamOperator | undefined;
  mainOps: StreamOperator[];
  mainWriters: RecordWriter[];
  side: Map<string, { ops: StreamOperator[]; writers: RecordWriter[] }>;
  backend: KeyedStateBackend | undefined;
}

/** Operator-state entry name of a source reader's splits. */
const SOURCE_STATE = 'source';

/** What the chain needs from its task while opening operators. */
export interface ChainHooks {
  registerProcessingTimer(op: StreamOperator, timestamp: number): void;
  currentWatermark(): number;
}

export class OperatorChain {
  private readonly wirings: NodeWiring[];
  /** Every network writer of the chain (main and side outputs of every node). */
  readonly writers: RecordWriter[] = [];
  private reader: SourceReader<unknown> | undefined;

  constructor(
    readonly plan: ChainPlan,
    readonly subtaskIndex: number,
    /** Per chain node: writers of its network edges (main: tag undefined). */
    outputs: Map<number, { tag: string | undefined; writer: RecordWriter }[]>,
  ) {
    this.wirings = plan.nodes.map((node) => ({
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
      else sideOf(producer, edge.sideTag).ops.push(w.op!);
    }
    for (const [nodeIndex, list] of outputs) {
      const w = byNode.get(nodeIndex)!;
      for (const { tag, writer } of list) {
        if (tag === undefined) w.mainWriters.push(writer);
        else sideOf(w, tag).writers.push(writer);
        this.writers.push(writer);
      }
    }
  }

  /** The chain's head operator (non-source chains). */
  get head(): StreamOperator {
    return this.wirings[0]!.op!;
  }

  get sourceReader(): SourceReader<unknown> {
    return this.reader!;
  }

  /** Opens backends, the source reader and operators, head first. Stops early when `cancelled()`. */
  async open(services: TaskServices, hooks: ChainHooks, cancelled: () => boolean): Promise<void> {
    const s = services;
    const p = this.plan.parallelism;
    for (const w of this.wirings) {
      const node = w.node;
      const restored = s.restoredOperatorState(node.operatorId, this.subtaskIndex);
      if (node.keyed) w.backend = await s.createBackend(node, this.subtaskIndex);
      if (cancelled()) return;
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
        registerProcessingTimer: (ts) => hooks.registerProcessingTimer(w.op!, ts),
        currentWatermark: () => hooks.currentWatermark(),
      };
      await w.op!.open(ctx);
    }
  }

  /** The head's output (a source chain emits through it). */
  headOutput(): Output {
    return this.outputOf(this.wirings[0]!);
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

  /** A source chain's output: counts records in, then the head's output. */
  sourceOutput(services: TaskServices, counters: { recordsIn: number }): SourceOutput<unknown> {
    const out = this.headOutput();
    const metrics = services.metrics;
    return {
      collect(value: unknown, timestamp?: number) {
        metrics.recordsIn++;
        counters.recordsIn++;
        out.collect(value, timestamp);
      },
      emitWatermark: (ts: number) => out.emitWatermark(ts),
      markIdle: (idle: boolean) => out.emitIdle(idle),
    };
  }

  /** Sends a control element on every network output of the chain. */
  broadcast(element: ControlElement): void {
    for (const w of this.writers) w.broadcast(element);
  }

  /** Sends what the chain's cross-thread outputs buffered (after a batch, before waiting). */
  flushOutputs(): void {
    for (const w of this.writers) w.flush();
  }

  /** What the chain waits for before it may take more input: a full output channel, a state write stall, an operator's flush. */
  pendingBackpressure(): Promise<void> | undefined {
    for (const w of this.writers) {
      const full = w.fullChannel();
      if (full) return full.waitCapacity();
    }
    for (const w of this.wirings) {
      const bp = w.backend?.writeBackpressure() ?? w.op?.backpressure?.();
      if (bp) return bp;
    }
    return undefined;
  }

  /**
   * Synchronous part of the chain's snapshot for checkpoint `id`: the source reader's
   * splits, each operator's snapshot (its keyed backend's when it has none of its own).
   * Throws when an operator's snapshot throws (what was started is in `started`).
   */
  snapshotSync(id: number, target: SnapshotTarget, started: { node: JobNode; snap: OperatorSnapshot }[]): void {
    for (const w of this.wirings) {
      if (w.node.source) {
        const items = this.reader!.snapshotState(id);
        started.push({ node: w.node, snap: { operatorState: [{ name: SOURCE_STATE, mode: w.node.source.stateMode ?? 'split', items }] } });
      } else {
        const snap = w.op!.snapshotState(id, target);
        started.push({ node: w.node, snap: w.backend && !snap.keyed ? { ...snap, keyed: w.backend.snapshot(target) } : snap });
      }
    }
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    for (const w of this.wirings) {
      w.backend?.notifyCheckpointComplete(checkpointId);
      if (w.op?.notifyCheckpointComplete) await w.op.notifyCheckpointComplete(checkpointId);
    }
    this.reader?.notifyCheckpointComplete?.(checkpointId);
  }

  notifyCheckpointAborted(checkpointId: number): void {
    for (const w of this.wirings) {
      w.backend?.notifyCheckpointAborted(checkpointId);
      w.op?.notifyCheckpointAborted?.(checkpointId);
    }
  }

  /** End of input: operators finish (flush what they hold), then end-of-stream goes downstream. */
  async finish(): Promise<void> {
    for (const w of this.wirings) if (w.op?.finish) await w.op.finish();
    this.broadcast(END);
  }

  /** Closes operators, backends and the reader; returns what they threw. */
  async close(): Promise<unknown[]> {
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
    return errors;
  }

  recordsOut(): number {
    let n = 0;
    for (const w of this.writers) n += w.emitted;
    return n;
  }
}

function sideOf(w: NodeWiring, tag: string): { ops: StreamOperator[]; writers: RecordWriter[] } {
  let s = w.side.get(tag);
  if (!s) {
    s = { ops: [], writers: [] };
    w.side.set(tag, s);
  }
  return s;
}

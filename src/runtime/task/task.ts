/**
 * One subtask of one operator chain, run as an async loop on its thread's event loop.
 *
 * The loop (Flink's mailbox model): run queued mailbox actions (barrier injection at a
 * source, checkpoint-complete notifications, processing-time timers), then process one
 * batch of input synchronously (a source's poll, or records from the input channels),
 * then await only if needed: an output channel is full (backpressure), an operator asks
 * (state backend write stall, sink flush), or there is nothing to do.
 *
 * The parts, each in its own module of this folder: `Mailbox` (mailbox.ts), the
 * `OperatorChain` (operator-chain.ts: operators, outputs, lifecycle), the
 * `CheckpointBarrierHandler` (barrier-handler.ts: alignment), the
 * `StatusWatermarkValve` (watermark-valve.ts: event time and idleness over the inputs)
 * and the `SubtaskCheckpointer` (subtask-checkpoint.ts: sync snapshot, barrier on,
 * async part, ack). This file is the loop that drives them.
 *
 * Invariants: only this task's loop touches its operators and state backends; every
 * user call happens inside `run()`; nothing awaits while a batch is half processed.
 */
import { assert } from '../../util/assert.ts';
import type { TimerHandle } from '../../util/clock.ts';
import type { Channel } from '../channel.ts';
import type { SourceOutput } from '../connector-types.ts';
import { ControlElement, MAX_WATERMARK, IDLE, ACTIVE } from '../elements.ts';
import type { Barrier, Watermark } from '../elements.ts';
import type { ChainPlan } from '../execution-plan.ts';
import type { StreamOperator } from '../operator.ts';
import type { RecordWriter } from '../record-writer.ts';
import { Signal } from '../signal.ts';
import { CheckpointBarrierHandler } from './barrier-handler.ts';
import { Mailbox } from './mailbox.ts';
import { OperatorChain } from './operator-chain.ts';
import { SubtaskCheckpointer } from './subtask-checkpoint.ts';
import type { TaskServices } from './task-services.ts';
import type { TaskHandle, TaskStats } from '../slots/task-handle.ts';
import { StatusWatermarkValve } from './watermark-valve.ts';

export type { TaskServices } from './task-services.ts';

export type { TaskStats } from '../slots/task-handle.ts';

export class Task implements TaskHandle {
  readonly worker = undefined;
  readonly signal = new Signal();
  readonly name: string;
  private readonly mailbox = new Mailbox(this.signal);
  private readonly operators: OperatorChain;
  private readonly valve: StatusWatermarkValve;
  private readonly barriers: CheckpointBarrierHandler;
  private readonly checkpointer: SubtaskCheckpointer;
  private cancelled = false;
  private readonly timers = new Set<TimerHandle>();
  private sourceEnded = false;
  private endReleased = false;
  private finished = false;
  /** Per input channel: end-of-stream received. */
  private readonly inputEnded: boolean[];
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
    this.inputEnded = new Array<boolean>(inputs.length).fill(false);
    for (const c of inputs) c.setConsumerSignal(this.signal);
    this.operators = new OperatorChain(chain, subtaskIndex, outputs);
    this.valve = new StatusWatermarkValve(inputs.length, {
      emitWatermark: (ts) => this.operators.head.processWatermark(ts),
      emitIdle: (idle) => this.operators.broadcast(idle ? IDLE : ACTIVE),
    });
    this.checkpointer = new SubtaskCheckpointer(this.name, this.operators, services, () => this.cancelled);
    this.barriers = new CheckpointBarrierHandler(this.name, this.inputEnded, services.clock, {
      triggerCheckpoint: (barrier, alignmentMillis) => this.checkpointer.perform(barrier, alignmentMillis),
      decline: (id, reason) => services.decline(id, reason),
      unblocked: () => this.signal.notify(),
    });
  }

  // ---- called by the job (from outside the loop: they only enqueue) ----

  triggerBarrier(barrier: Barrier): void {
    assert(this.chain.isSource, 'barriers are injected at sources only');
    this.mailbox.enqueue(() => this.checkpointer.perform(barrier, 0));
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.mailbox.enqueue(() => this.operators.notifyCheckpointComplete(checkpointId));
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.mailbox.enqueue(() => {
      this.operators.notifyCheckpointAborted(checkpointId);
      this.barriers.onAbort(checkpointId);
    });
  }

  /** The final checkpoint after the end of input completed: send end-of-stream and stop. */
  releaseEnd(): void {
    this.mailbox.enqueue(() => {
      this.endReleased = true;
    });
  }

  cancel(): void {
    this.cancelled = true;
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    for (const w of this.operators.writers) for (const c of w.channels) c.close();
    this.signal.notify();
  }

  // ---- the loop ----

  async run(): Promise<void> {
    try {
      await this.operators.open(
        this.services,
        { registerProcessingTimer: (op, ts) => this.registerProcessingTimer(op, ts), currentWatermark: () => this.valve.current() },
        () => this.cancelled,
      );
      if (!this.cancelled) await this.loop();
    } finally {
      await this.close();
    }
  }

  private registerProcessingTimer(op: StreamOperator, timestamp: number): void {
    const clock = this.services.clock;
    const handle = clock.setTimeout(() => {
      this.timers.delete(handle);
      this.mailbox.enqueue(() => op.onProcessingTime?.(clock.now()));
    }, Math.max(0, timestamp - clock.now()));
    this.timers.add(handle);
  }

  private async loop(): Promise<void> {
    const batch = this.services.batchSize;
    const isSource = this.chain.isSource;
    const sourceOut: SourceOutput<unknown> | undefined = isSource ? this.operators.sourceOutput(this.services, this.counters) : undefined;
    while (!this.cancelled) {
      if (this.mailbox.hasMail()) {
        await this.mailbox.runAll(() => this.cancelled);
        continue;
      }
      let idle = false;
      if (isSource) {
        if (!this.sourceEnded) {
          const r = this.operators.sourceReader.poll(sourceOut!, batch);
          if (r === 'end') {
            this.sourceEnded = true;
            this.operators.headOutput().emitWatermark(MAX_WATERMARK);
            this.services.sourceFinished(this);
          } else if (r !== 'more') {
            this.operators.flushOutputs();
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
      this.operators.flushOutputs();
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

  private async awaitBackpressure(): Promise<void> {
    for (let guard = 0; guard < 1_000_000 && !this.cancelled; guard++) {
      const waitFor = this.operators.pendingBackpressure();
      if (!waitFor) return;
      const waitStart = this.services.clock.monotonic();
      await waitFor;
      this.counters.backpressureMillis += this.services.clock.monotonic() - waitStart;
    }
  }

  /** Processes up to `max` elements from the unblocked input channels. Returns how many. */
  private processInputs(max: number): number {
    const n = this.inputs.length;
    const head = this.operators.head;
    let total = 0;
    for (let k = 0; k < n && total < max; k++) {
      const i = (this.nextInput + k) % n;
      if (this.barriers.isBlocked(i) || this.inputEnded[i]) continue;
      const ch = this.inputs[i]!;
      if (ch.size() === 0) continue;
      total += ch.drain((v, t) => {
        if (v instanceof ControlElement) {
          this.onControl(i, v);
          return !this.barriers.isBlocked(i) && !this.inputEnded[i];
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
        this.valve.onWatermark(i, (e as Watermark).timestamp);
        return;
      case 'idle':
        this.valve.onIdle(i, true);
        return;
      case 'active':
        this.valve.onIdle(i, false);
        return;
      case 'end':
        this.inputEnded[i] = true;
        this.valve.onEnd(i);
        this.barriers.onEndOfInput();
        return;
      case 'barrier':
        this.barriers.onBarrier(i, e as Barrier);
        return;
    }
  }

  private async finishChain(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.operators.finish();
  }

  private async close(): Promise<void> {
    for (const t of this.timers) t.cancel();
    this.timers.clear();
    const errors = await this.operators.close();
    // Closed backends aborted their running snapshots; wait until each is delivered or gone.
    await this.checkpointer.whenDelivered();
    if (errors.length > 0 && !this.cancelled) throw errors[0];
  }

  /** Counters for the observability layer (REST API, metrics); cheap, read-only. */
  stats(): TaskStats {
    return { recordsIn: this.counters.recordsIn, recordsOut: this.operators.recordsOut(), backpressureMillis: this.counters.backpressureMillis };
  }

  /** True once the loop has sent end-of-stream. */
  isFinished(): boolean {
    return this.finished;
  }
}

/**
 * Channels between subtasks. `Channel` is the interface the task code uses on both
 * ends; `LocalChannel` is the in-memory one (both subtasks on one thread), the halves
 * of a cross-thread channel (serialised batches one way, credit the other) are in
 * slots/remote-channel.ts.
 *
 * Backpressure is credit-like: the producer may push while `hasCapacity()`; a task
 * checks its outputs after every batch and awaits `waitCapacity()` when one is full,
 * so a slow consumer (a slow sink) stops its producers, and theirs, up to the sources.
 * Control elements (barriers, watermarks, end) never wait: a barrier must not be held
 * up behind a full buffer of a channel the consumer has blocked for alignment.
 *
 * Invariants: one producer and one consumer per channel; elements come out in the
 * order they went in; `size` never exceeds capacity + one producer batch.
 */
import { ControlElement } from './elements.ts';
import type { Signal } from './signal.ts';

export interface Channel {
  readonly id: string;
  /** Producer side. */
  pushRecord(value: unknown, timestamp: number | undefined): void;
  pushControl(element: ControlElement): void;
  hasCapacity(): boolean;
  waitCapacity(): Promise<void>;
  /**
   * Sends what the producer buffered (a cross-thread channel batches records); called by
   * the task after each batch of work and before it waits. No-op in memory.
   */
  flush?(): void;
  /** Consumer side: number of buffered elements. */
  size(): number;
  /**
   * Hands up to `max` buffered elements to `sink`, in order; stops early (after the
   * element) when `sink` returns false. Returns the number consumed.
   */
  drain(sink: (value: unknown, timestamp: number | undefined) => boolean, max: number): number;
  /** The consumer's wake-up, notified on every push. */
  setConsumerSignal(signal: Signal): void;
  /** Wakes a producer waiting for capacity (used on cancellation). */
  close(): void;
}

const NO_TS = Number.NaN;

export class LocalChannel implements Channel {
  private values: unknown[] = [];
  private stamps: number[] = [];
  private head = 0;
  private consumer: Signal | undefined;
  private capacityWaiters: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly id: string,
    private readonly capacity: number,
  ) {}

  setConsumerSignal(signal: Signal): void {
    this.consumer = signal;
  }

  pushRecord(value: unknown, timestamp: number | undefined): void {
    this.values.push(value);
    this.stamps.push(timestamp ?? NO_TS);
    if (this.values.length - this.head === 1) this.consumer?.notify();
  }

  pushControl(element: ControlElement): void {
    this.values.push(element);
    this.stamps.push(NO_TS);
    this.consumer?.notify();
  }

  hasCapacity(): boolean {
    return this.closed || this.values.length - this.head < this.capacity;
  }

  waitCapacity(): Promise<void> {
    if (this.hasCapacity()) return Promise.resolve();
    return new Promise((resolve) => this.capacityWaiters.push(resolve));
  }

  size(): number {
    return this.values.length - this.head;
  }

  drain(sink: (value: unknown, timestamp: number | undefined) => boolean, max: number): number {
    const values = this.values;
    const stamps = this.stamps;
    const end = Math.min(values.length, this.head + max);
    let i = this.head;
    while (i < end) {
      const v = values[i];
      const t = stamps[i]!;
      values[i] = undefined;
      i++;
      if (!sink(v, t !== t ? undefined : t)) break;
    }
    const consumed = i - this.head;
    this.head = i;
    if (this.head === values.length) {
      this.values = [];
      this.stamps = [];
      this.head = 0;
    } else if (this.head > 65536 && this.head * 2 > values.length) {
      this.values = values.slice(this.head);
      this.stamps = stamps.slice(this.head);
      this.head = 0;
    }
    if (this.capacityWaiters.length > 0 && this.hasCapacity()) this.wakeProducers();
    return consumed;
  }

  close(): void {
    this.closed = true;
    this.wakeProducers();
  }

  private wakeProducers(): void {
    const waiters = this.capacityWaiters;
    this.capacityWaiters = [];
    for (const w of waiters) w();
  }
}

export function isControl(value: unknown): value is ControlElement {
  return value instanceof ControlElement;
}

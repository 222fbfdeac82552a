/**
 * A channel whose producer and consumer run on different threads: the two halves of
 * one logical `Channel`, connected by a `PeerLink` (one MessagePort per pair of
 * workers, shared by every channel between them, messages tagged with the channel's
 * number from channel-layout.ts).
 *
 * Credit-based flow control, as Flink's network stack: the producer may have at most
 * `capacity` records in flight (sent or buffered, not yet consumed); the consumer
 * returns credit as its task drains records, so a slow consumer stops its producers
 * across threads exactly as a full LocalChannel does on one thread. Control elements
 * never wait for credit (a barrier must pass a channel that alignment has blocked).
 *
 * The producer buffers records and sends them as one batch (wire-format.ts) when the
 * batch is full, before a control element, and when its task finishes a batch of work
 * (`flush()`), so a record waits at most one task batch on this side.
 *
 * Invariants: one producer and one consumer per channel; elements arrive in order; the
 * consumer holds at most `capacity` + one batch records.
 */
import type { MessagePort } from 'node:worker_threads';
import type { Channel } from '../channel.ts';
import { ControlElement } from '../elements.ts';
import type { Signal } from '../signal.ts';
import { decodeControl, decodeValues, encodeBatch, encodeControl, type EncodedControl } from './wire-format.ts';

type LinkMessage =
  | { readonly c: number; readonly b: Uint8Array; readonly t: Float64Array }
  | { readonly c: number; readonly x: EncodedControl }
  | { readonly c: number; readonly n: number };

/** Byte and batch counters of a link (for docs/runtime.md's cost per record and the dashboard). */
export interface LinkStats {
  batchesSent: number;
  recordsSent: number;
  bytesSent: number;
}

/** The MessagePort to one peer worker, multiplexing every channel between the two. */
export class PeerLink {
  private readonly inputs = new Map<number, RemoteInputChannel>();
  private readonly outputs = new Map<number, RemoteOutputChannel>();
  readonly stats: LinkStats = { batchesSent: 0, recordsSent: 0, bytesSent: 0 };

  constructor(private readonly port: MessagePort) {
    port.on('message', (m: LinkMessage) => this.receive(m));
  }

  producer(index: number, id: string, capacity: number): RemoteOutputChannel {
    const ch = new RemoteOutputChannel(id, index, this, capacity);
    this.outputs.set(index, ch);
    return ch;
  }

  consumer(index: number, id: string, capacity: number): RemoteInputChannel {
    const ch = new RemoteInputChannel(id, index, this, capacity);
    this.inputs.set(index, ch);
    return ch;
  }

  /** @internal */
  send(m: LinkMessage, transfer?: ArrayBuffer[]): void {
    this.port.postMessage(m, transfer);
  }

  close(): void {
    this.port.close();
  }

  private receive(m: LinkMessage): void {
    if ('n' in m) this.outputs.get(m.c)?.credit(m.n);
    else if ('x' in m) this.inputs.get(m.c)?.receiveControl(decodeControl(m.x));
    else this.inputs.get(m.c)?.receiveBatch(decodeValues(m.b), m.t);
  }
}

function unsupported(what: string): never {
  throw new Error(`${what} is not available on this end of a cross-thread channel`);
}

/** The producer's half. */
export class RemoteOutputChannel implements Channel {
  private values: unknown[] = [];
  private stamps: number[] = [];
  /** Records sent and not yet credited back. */
  private inFlight = 0;
  private waiters: (() => void)[] = [];
  private closed = false;
  private readonly batchSize: number;

  constructor(
    readonly id: string,
    private readonly index: number,
    private readonly link: PeerLink,
    private readonly capacity: number,
  ) {
    this.batchSize = Math.max(1, Math.floor(capacity / 4));
  }

  pushRecord(value: unknown, timestamp: number | undefined): void {
    this.values.push(value);
    this.stamps.push(timestamp ?? Number.NaN);
    if (this.values.length >= this.batchSize) this.flush();
  }

  pushControl(element: ControlElement): void {
    this.flush();
    if (this.closed) return;
    this.link.send({ c: this.index, x: encodeControl(element) });
  }

  flush(): void {
    const n = this.values.length;
    if (n === 0) return;
    if (this.closed) {
      this.values = [];
      this.stamps = [];
      return;
    }
    const { bytes, stamps } = encodeBatch(this.values, this.stamps);
    this.values = [];
    this.stamps = [];
    this.inFlight += n;
    const s = this.link.stats;
    s.batchesSent++;
    s.recordsSent += n;
    s.bytesSent += bytes.byteLength + stamps.byteLength;
    this.link.send({ c: this.index, b: bytes, t: stamps }, [bytes.buffer as ArrayBuffer, stamps.buffer as ArrayBuffer]);
  }

  hasCapacity(): boolean {
    return this.closed || this.inFlight + this.values.length < this.capacity;
  }

  waitCapacity(): Promise<void> {
    this.flush(); // what is buffered here must go out, or no credit ever comes back for it
    if (this.hasCapacity()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** @internal The consumer took `n` records. */
  credit(n: number): void {
    this.inFlight -= n;
    if (this.waiters.length > 0 && this.hasCapacity()) this.wake();
  }

  close(): void {
    this.closed = true;
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  size(): number {
    return unsupported('size()');
  }

  drain(): number {
    return unsupported('drain()');
  }

  setConsumerSignal(): void {
    unsupported('setConsumerSignal()');
  }
}

/** The consumer's half: a local queue filled from the link, credit returned as the task drains it. */
export class RemoteInputChannel implements Channel {
  private values: unknown[] = [];
  private stamps: number[] = [];
  private head = 0;
  private consumer: Signal | undefined;
  private uncredited = 0;
  private readonly creditBatch: number;

  constructor(
    readonly id: string,
    private readonly index: number,
    private readonly link: PeerLink,
    capacity: number,
  ) {
    this.creditBatch = Math.max(1, Math.floor(capacity / 4));
  }

  setConsumerSignal(signal: Signal): void {
    this.consumer = signal;
  }

  /** @internal */
  receiveBatch(values: unknown[], stamps: Float64Array): void {
    const wasEmpty = this.size() === 0;
    for (let i = 0; i < values.length; i++) {
      this.values.push(values[i]);
      this.stamps.push(stamps[i]!);
    }
    if (wasEmpty) this.consumer?.notify();
  }

  /** @internal */
  receiveControl(e: ControlElement): void {
    this.values.push(e);
    this.stamps.push(Number.NaN);
    this.consumer?.notify();
  }

  size(): number {
    return this.values.length - this.head;
  }

  drain(sink: (value: unknown, timestamp: number | undefined) => boolean, max: number): number {
    const values = this.values;
    const stamps = this.stamps;
    const end = Math.min(values.length, this.head + max);
    let i = this.head;
    let records = 0;
    while (i < end) {
      const v = values[i];
      const t = stamps[i]!;
      values[i] = undefined;
      i++;
      if (!(v instanceof ControlElement)) records++;
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
    this.uncredited += records;
    if (this.uncredited >= this.creditBatch || (this.uncredited > 0 && this.size() === 0)) {
      this.link.send({ c: this.index, n: this.uncredited });
      this.uncredited = 0;
    }
    return consumed;
  }

  close(): void {
    // nothing waits on the consumer's half
  }

  pushRecord(): void {
    unsupported('pushRecord()');
  }

  pushControl(): void {
    unsupported('pushControl()');
  }

  hasCapacity(): boolean {
    return unsupported('hasCapacity()');
  }

  waitCapacity(): Promise<void> {
    return unsupported('waitCapacity()');
  }
}

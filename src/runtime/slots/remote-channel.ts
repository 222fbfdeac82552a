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
import type { ControlElement } from '../elements.ts';
import type { Signal } from '../signal.ts';
import { decodeControl, decodeValues, encodeControl, encodeValues, type EncodedControl } from './wire-format.ts';

type LinkMessage =
  | { readonly c: number; readonly b: Uint8Array; readonly t: Float64Array | undefined }
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
  /** The batch being filled (reused: encoding copies it out). */
  private readonly values: unknown[] = [];
  /** Its timestamps, NaN for none; sent only when some record of the batch has one. */
  private stamps: Float64Array;
  private stamped = false;
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
    this.stamps = new Float64Array(this.batchSize);
  }

  pushRecord(value: unknown, timestamp: number | undefined): void {
    const i = this.values.length;
    this.values.push(value);
    if (timestamp !== undefined) {
      if (!this.stamped) {
        this.stamps.fill(Number.NaN, 0, i);
        this.stamped = true;
      }
      this.stamps[i] = timestamp;
    } else if (this.stamped) this.stamps[i] = Number.NaN;
    if (i + 1 >= this.batchSize) this.flush();
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
      this.values.length = 0;
      this.stamped = false;
      return;
    }
    const bytes = encodeValues(this.values);
    this.values.length = 0;
    let stamps: Float64Array | undefined;
    if (this.stamped) {
      // The filled part moves to the consumer; a fresh array takes its place.
      stamps = n === this.batchSize ? this.stamps : this.stamps.slice(0, n);
      if (stamps === this.stamps) this.stamps = new Float64Array(this.batchSize);
      this.stamped = false;
    }
    this.inFlight += n;
    const s = this.link.stats;
    s.batchesSent++;
    s.recordsSent += n;
    s.bytesSent += bytes.byteLength + (stamps?.byteLength ?? 0);
    const transfer = [bytes.buffer as ArrayBuffer];
    if (stamps) transfer.push(stamps.buffer as ArrayBuffer);
    this.link.send({ c: this.index, b: bytes, t: stamps }, transfer);
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

/** Received elements waiting for the task: a decoded batch (records), or one control element. */
interface Segment {
  readonly values: readonly unknown[];
  readonly stamps: Float64Array | undefined;
  readonly control: boolean;
  pos: number;
}

/**
 * The consumer's half: the received batches queued as they arrived (not copied into one
 * queue), credit returned as the task drains records.
 */
export class RemoteInputChannel implements Channel {
  private segments: Segment[] = [];
  private first = 0;
  private count = 0;
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
  receiveBatch(values: unknown[], stamps: Float64Array | undefined): void {
    if (values.length === 0) return;
    const wasEmpty = this.count === 0;
    this.segments.push({ values, stamps, control: false, pos: 0 });
    this.count += values.length;
    if (wasEmpty) this.consumer?.notify();
  }

  /** @internal */
  receiveControl(e: ControlElement): void {
    this.segments.push({ values: [e], stamps: undefined, control: true, pos: 0 });
    this.count++;
    this.consumer?.notify();
  }

  size(): number {
    return this.count;
  }

  drain(sink: (value: unknown, timestamp: number | undefined) => boolean, max: number): number {
    let consumed = 0;
    let records = 0;
    let more = true;
    while (more && consumed < max && this.first < this.segments.length) {
      const seg = this.segments[this.first]!;
      const { values, stamps } = seg;
      const start = seg.pos;
      const end = Math.min(values.length, start + (max - consumed));
      let i = start;
      if (stamps === undefined) {
        while (i < end) {
          if (!sink(values[i++], undefined)) {
            more = false;
            break;
          }
        }
      } else {
        while (i < end) {
          const t = stamps[i]!;
          if (!sink(values[i++], t !== t ? undefined : t)) {
            more = false;
            break;
          }
        }
      }
      consumed += i - start;
      if (!seg.control) records += i - start;
      seg.pos = i;
      if (i === values.length) this.segments[this.first++] = undefined as unknown as Segment;
    }
    this.count -= consumed;
    if (this.first === this.segments.length) {
      this.segments = [];
      this.first = 0;
    } else if (this.first > 1024) {
      this.segments = this.segments.slice(this.first);
      this.first = 0;
    }
    this.uncredited += records;
    if (this.uncredited >= this.creditBatch || (this.uncredited > 0 && this.count === 0)) {
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

/**
 * NATS JetStream source: reads a stream (optionally only some subjects) in stream order
 * with an ordered consumer. The next stream sequence is the operator state, so a restore
 * resumes exactly after the last message whose effects the checkpoint holds. A stream is
 * one ordered log: one subtask reads it (maxParallelism 1).
 *
 * While running, a lost server is retried: the client reconnects by itself and a fetch
 * that fails is retried with backoff (100 ms … 5 s) from the same sequence, through a
 * new ordered consumer. At start a server that is down, bad credentials or a missing
 * stream fail the job with one line. `bounded: true` stops at the stream's last sequence
 * found at the first start (kept in state).
 */
import type { Consumer, JetStreamClient } from '@nats-io/jetstream';
import { natsClient } from './nats-client.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import { partitionProgress, type PollResult, type Source, type SourceContext, type SourceOutput, type SourceReader } from '../../api/index.ts';
import { ConfigError } from '../../util/errors.ts';
import { deserializeFailed } from '../deserialize-failure.ts';
import { describeNatsError, natsConnect, type NatsConnectionOptions } from './nats-connection.ts';

/** One JetStream message as the source's `deserialize` function sees it. */
export interface NatsMessageView {
  /** Subject the message was published to. */
  readonly subject: string;
  /** Stream sequence. */
  readonly seq: number;
  /** Time the stream stored it, ms since the epoch. */
  readonly timestamp: number;
  /** Payload bytes. */
  readonly data: Uint8Array;
  /** Message headers: each name with its values (empty when the message has none). */
  readonly headers: ReadonlyMap<string, string[]>;
}

/** Options of {@link NatsSource}. */
export interface NatsSourceOptions<T> extends NatsConnectionOptions {
  /** JetStream stream to read, from its first sequence on a fresh start. A missing stream fails the job at start. */
  readonly stream: string;
  /** Only these subjects of the stream (default all). */
  readonly subjects?: readonly string[];
  /** Turns a message into a stream record (see {@link natsDeserializers}); a throw fails the job as a UserFunctionError naming the source, subtask, stream sequence and payload. */
  readonly deserialize: (m: NatsMessageView) => T;
  /** Stop at the stream's last sequence found at the first start (kept in state across restores); default false (unbounded). */
  readonly bounded?: boolean;
  /** Messages per fetch (default 500). */
  readonly batch?: number;
  /** Operator name (logs, dashboard); default "nats-source". */
  readonly name?: string;
  /** Where retry notices go (a repeated line is written once); default one line to stderr. */
  readonly log?: (line: string) => void;
}

/** Ready-made deserializers: the payload as UTF-8 text, as JSON, or as bytes. */
export const natsDeserializers = {
  /** The payload decoded as UTF-8. */
  string: (m: NatsMessageView): string => Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('utf8'),
  /** The payload parsed as JSON; invalid JSON throws (fails the job). */
  json: <T = unknown>(m: NatsMessageView): T => JSON.parse(Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('utf8')) as T,
  /** The payload bytes as they are. */
  bytes: (m: NatsMessageView): Uint8Array => m.data,
};

interface SeqState {
  readonly stream: string;
  /** Next stream sequence to read. */
  readonly next: number;
  readonly end?: number;
}

/**
 * Reads a NATS JetStream stream in stream order, with the next stream sequence in
 * checkpoints (a restore resumes exactly there). One subtask reads the stream.
 */
export class NatsSource<T> implements Source<T> {
  /** Operator name: `options.name`, default "nats-source". */
  readonly name: string;
  /** A stream is one ordered log: one subtask reads it. */
  readonly maxParallelism = 1;

  /** @param options - servers, stream, deserializer */
  constructor(readonly options: NatsSourceOptions<T>) {
    this.name = options.name ?? 'nats-source';
  }

  async createReader(ctx: SourceContext): Promise<SourceReader<T>> {
    const what = `nats source ${this.name}`;
    const o = this.options;
    let next = 1;
    let end: number | undefined;
    const item = ctx.restoredState?.[0] as SeqState | undefined;
    if (item !== undefined) {
      if (!Number.isInteger(item.next) || item.stream !== o.stream) throw new ConfigError(`${what}: the checkpoint was reading ${JSON.stringify(item)}, this job reads stream ${o.stream}`);
      next = item.next;
      end = item.end;
    }
    if (ctx.subtaskIndex > 0) return { poll: () => 'end', snapshotState: () => [] };
    const nc = await natsConnect(o, `weir-${this.name}`, what);
    try {
      const jsm = await natsClient().jetstream.jetstreamManager(nc);
      const info = await jsm.streams.info(o.stream);
      if (o.bounded && item === undefined) end = info.state.last_seq + 1;
    } catch (err) {
      await nc.close();
      throw new ConfigError(describeNatsError(err, what, o, o.stream), { cause: err });
    }
    return new NatsReader<T>(o, this.name, ctx, nc, next, end);
  }
}

interface Pending {
  readonly seq: number;
  readonly view: NatsMessageView;
}

class NatsReader<T> implements SourceReader<T> {
  private readonly js: JetStreamClient;
  private consumer: Consumer | undefined;
  private queue: Pending[] = [];
  private qpos = 0;
  private fetching: Promise<void> | undefined;
  private backoffMs = 0;
  private closed = false;
  private lastLog = '';
  /** Messages the server still had for the consumer after the last one fetched (its `info.pending`). */
  private pending = 0;
  private readonly progressKey: string;

  constructor(
    private readonly o: NatsSourceOptions<T>,
    private readonly name: string,
    private readonly ctx: SourceContext,
    private readonly nc: NatsConnection,
    private next: number,
    private readonly end: number | undefined,
  ) {
    this.js = natsClient().jetstream.jetstream(nc);
    this.progressKey = `${name}#${ctx.subtaskIndex}`;
  }

  /**
   * The reader's row for the dashboard and /metrics (partitionProgress): the stream as the
   * topic, partition 0, the next stream sequence as the offset; lag = messages fetched but
   * not emitted + what the server still has pending (bounded: up to the end); log end =
   * offset + lag.
   */
  private publishProgress(): void {
    partitionProgress.set(this.progressKey, () => {
      const ahead = Math.max(0, this.queue.length - this.qpos) + this.pending;
      const lag = this.end === undefined ? ahead : Math.min(ahead, Math.max(0, this.end - this.next));
      return [{ source: this.name, subtask: this.ctx.subtaskIndex, topic: this.o.stream, partition: 0, offset: this.next, logEnd: this.next + lag, lag }];
    });
  }

  private log(line: string): void {
    if (line === this.lastLog) return;
    this.lastLog = line;
    (this.o.log ?? ((l: string) => process.stderr.write(l + '\n')))(line);
  }

  poll(out: SourceOutput<T>, max: number): PollResult {
    let n = 0;
    while (n < max && this.qpos < this.queue.length) {
      const p = this.queue[this.qpos++]!;
      if (p.seq < this.next) continue;
      if (this.end !== undefined && p.seq >= this.end) {
        this.next = this.end;
        break;
      }
      this.next = p.seq + 1;
      let value: T;
      try {
        value = this.o.deserialize(p.view);
      } catch (err) {
        throw deserializeFailed({ name: this.name, subtaskIndex: this.ctx.subtaskIndex, parallelism: this.ctx.parallelism },
          `stream ${this.o.stream} sequence ${p.seq} (subject ${p.view.subject})`, p.view.data, err);
      }
      out.collect(value, p.view.timestamp);
      n++;
    }
    if (this.qpos >= this.queue.length) {
      this.queue = [];
      this.qpos = 0;
    }
    if (n > 0) return 'more';
    if (this.end !== undefined && this.next >= this.end) return 'end';
    this.fetching ??= this.fetch().finally(() => { this.fetching = undefined; });
    return this.fetching;
  }

  private async fetch(): Promise<void> {
    if (this.backoffMs > 0) await this.ctx.clock.sleep(this.backoffMs);
    if (this.closed) return;
    try {
      this.consumer ??= await this.js.consumers.get(this.o.stream, {
        deliver_policy: natsClient().jetstream.DeliverPolicy.StartSequence,
        opt_start_seq: this.next,
        ...(this.o.subjects ? { filter_subjects: [...this.o.subjects] } : {}),
      });
      const max = this.end === undefined ? (this.o.batch ?? 500) : Math.max(1, Math.min(this.o.batch ?? 500, this.end - this.next));
      const msgs = await this.consumer.fetch({ max_messages: max, expires: 1000 });
      let pending = 0;
      for await (const m of msgs) {
        pending = m.info.pending;
        const headers = new Map<string, string[]>();
        if (m.headers) for (const [k, v] of m.headers) headers.set(k, v);
        this.queue.push({ seq: m.seq, view: { subject: m.subject, seq: m.seq, timestamp: Math.floor(m.info.timestampNanos / 1e6), data: m.data, headers } });
      }
      this.pending = pending;
      this.publishProgress();
      if (this.backoffMs > 0) this.log(`nats source ${this.name}: reading again from ${this.o.servers.join(',')}`);
      this.backoffMs = 0;
      this.lastLog = '';
    } catch (err) {
      if (this.closed) return;
      // A new ordered consumer from our own position next time.
      const c = this.consumer as { delete?: () => Promise<boolean> } | undefined;
      this.consumer = undefined;
      void c?.delete?.().catch(() => undefined);
      this.backoffMs = Math.min(5000, Math.max(100, this.backoffMs * 2));
      this.log(`${describeNatsError(err, `nats source ${this.name}: fetch failed, retrying in ${this.backoffMs} ms`, this.o, this.o.stream)}`);
    }
  }

  snapshotState(): unknown[] {
    const s: SeqState = { stream: this.o.stream, next: this.next, ...(this.end !== undefined ? { end: this.end } : {}) };
    return [s];
  }

  async close(): Promise<void> {
    this.closed = true;
    partitionProgress.delete(this.progressKey);
    // Close the connection first: a fetch in flight while the server is away waits for the
    // reconnect, so awaiting it first could wait forever (and the client's reconnect timer
    // kept the process alive). Closing makes that fetch fail; it sees `closed` and returns.
    const fetching = this.fetching;
    await this.nc.close().catch(() => undefined);
    await fetching?.catch(() => undefined);
  }
}

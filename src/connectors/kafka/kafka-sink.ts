/**
 * Kafka sink, at-least-once or exactly-once (like Flink's KafkaSink).
 *
 * at-least-once   one idempotent producer per subtask; at the barrier every record sent
 *                 so far is acknowledged (acks=all) before the checkpoint is acknowledged.
 *                 After a crash the records since the restored checkpoint are sent again.
 *
 * exactly-once    Kafka transactions, two-phase:
 *   write          records go into this subtask's open transaction, one transactional
 *                  producer per transaction; transactional id
 *                  `<prefix>-<subtask>-<run>-<n>`: the job's prefix, the subtask, a random
 *                  id of this run of the writer and a sequence number — never reused,
 *                  across restarts included.
 *   pre-commit     at the barrier of checkpoint c the transaction is flushed (every record
 *                  acknowledged; the checkpoint is acknowledged after that) and becomes
 *                  pending {transactionalId, c}; a new transaction takes the next records.
 *                  The pending list is 'union' operator state.
 *   commit         on notifyCheckpointComplete(m) every pending transaction with c <= m
 *                  is committed.
 *   re-commit      after a restore, the transactions the restored checkpoint lists are
 *                  committed (by id: DescribeTransactions gives producer id and epoch,
 *                  then EndTxn); one already committed is fine, one the broker aborted is
 *                  an error (see the timeout rule below).
 *   abort          on start each subtask aborts the open transactions of earlier runs with
 *                  its subtask index (subtask 0 also those of indices beyond the current
 *                  parallelism) that the restored checkpoint does not list: leftovers of a
 *                  crashed run that would otherwise hold read_committed consumers back
 *                  until they time out.
 *
 * Transaction timeout rule: `transactionTimeoutMs` (default 15 min, at most the broker's
 * transaction.max.timeout.ms) must exceed the checkpoint interval + the longest
 * checkpoint + the time to restart after a failure: a pre-committed transaction the
 * broker aborts before the (restarted) job commits it loses its records, and the restore
 * then fails with a line saying so.
 */
import { randomBytes } from 'node:crypto';
import type { MessageToProduce, Producer } from '@platformatic/kafka';
import { kafkaClient, loadKafkaClient } from './kafka-client.ts';
import type { Sink, SinkContext, SinkSnapshot, SinkWriter } from '../../api/index.ts';
import { ConfigError } from '../../util/errors.ts';
import { baseClientOptions, describeKafkaError, kafkaStartError, type KafkaConnectionOptions } from './client-options.ts';
import { abortLingering, BrokerConnections, commitPrepared } from './transactions.ts';

/** One Kafka record as the sink's `serialize` function makes it from a stream record. */
export interface KafkaSinkRecord {
  /** Record key (a string is sent as UTF-8); default none. Picks the partition when `partition` is not set. */
  readonly key?: Buffer | string | null;
  /** Record value (a string is sent as UTF-8); null = a tombstone. */
  readonly value: Buffer | string | null;
  /** Record headers (string values sent as UTF-8). */
  readonly headers?: Readonly<Record<string, Buffer | string>>;
  /** Default: by key hash (murmur2, as the Java client), round-robin without a key. */
  readonly partition?: number;
  /** Record timestamp, ms; default the record's event time, else now. */
  readonly timestamp?: number;
  /** Overrides the sink's topic. */
  readonly topic?: string;
}

/** Options of {@link KafkaSink}. */
export interface KafkaSinkOptions<T> extends KafkaConnectionOptions {
  /** Topic the records go to (a record's own `topic` overrides it). Must exist: a missing topic fails the job at start. */
  readonly topic: string;
  /** Turns a stream record into a Kafka record. */
  readonly serialize: (value: T) => KafkaSinkRecord;
  /**
   * 'at-least-once': an idempotent producer, every record acknowledged before the
   * checkpoint is (records since the restored checkpoint are sent again after a failure).
   * 'exactly-once': Kafka transactions committed when the checkpoint completes (readers
   * must use read_committed); needs `transactionalIdPrefix`.
   */
  readonly guarantee: 'at-least-once' | 'exactly-once';
  /** Exactly-once: unique per job (two jobs must never share it). Required. */
  readonly transactionalIdPrefix?: string;
  /** Exactly-once: the transaction timeout, ms (default 15 min). See the timeout rule above. */
  readonly transactionTimeoutMs?: number;
  /** Records per produce request (default 1000). */
  readonly batchSize?: number;
  /** Produce requests in flight before the writer applies backpressure (default 4). */
  readonly maxInFlight?: number;
  /** Operator name (logs, dashboard); default "kafka-sink". */
  readonly name?: string;
  /** Where notices go (transactions of an earlier run aborted at start); default one line to stderr. */
  readonly log?: (line: string) => void;
}

interface PendingItem {
  readonly transactionalId: string;
  readonly checkpointId: number;
}

type Msg = MessageToProduce<Buffer, Buffer, string, Buffer>;
type BytesProducer = Producer<Buffer, Buffer, string, Buffer>;
type Transaction = Awaited<ReturnType<BytesProducer['beginTransaction']>>;

/**
 * Writes records to a Kafka topic, at-least-once or exactly-once (two-phase commit with
 * Kafka transactions, like Flink's KafkaSink; the protocol is described at the top of
 * kafka-sink.ts and in docs/connectors.md). The constructor throws a ConfigError for an
 * exactly-once sink without a valid `transactionalIdPrefix`; an unreachable broker, bad
 * credentials or a missing topic fail the job at start with one line.
 */
export class KafkaSink<T> implements Sink<T> {
  /** Operator name: `options.name`, default "kafka-sink". */
  readonly name: string;

  /** @param options - brokers, topic, serializer and delivery guarantee */
  constructor(readonly options: KafkaSinkOptions<T>) {
    this.name = options.name ?? 'kafka-sink';
    if (options.guarantee === 'exactly-once') {
      const p = options.transactionalIdPrefix;
      if (p === undefined || !/^[\w.-]+$/.test(p)) throw new ConfigError(`${this.name}: exactly-once needs transactionalIdPrefix (letters, digits, '.', '_', '-'), unique per job`);
    } else if (options.guarantee !== 'at-least-once') {
      throw new ConfigError(`${this.name}: guarantee must be 'at-least-once' or 'exactly-once'`);
    }
  }

  async createWriter(ctx: SinkContext): Promise<SinkWriter<T>> {
    const what = `kafka sink ${this.name}`;
    const o = this.options;
    const { Producer } = await loadKafkaClient();
    // Fails at start with one line for an unreachable broker, bad credentials, a missing topic.
    const probe = new Producer(baseClientOptions(o, `${o.clientId ?? 'weir'}-${this.name}-probe`));
    try {
      await probe.metadata({ topics: [o.topic] });
    } catch (err) {
      throw kafkaStartError(err, what, o, o.topic);
    } finally {
      await probe.close().catch(() => undefined);
    }
    if (o.guarantee === 'at-least-once') return new AtLeastOnceWriter<T>(o, this.name, ctx);
    const w = new ExactlyOnceWriter<T>(o, this.name, ctx);
    await w.recover((ctx.restoredState ?? []) as PendingItem[]);
    return w;
  }
}

function toMessage<T>(o: KafkaSinkOptions<T>, value: T, timestamp: number | undefined): Msg {
  const r = o.serialize(value);
  const msg: Msg = { topic: r.topic ?? o.topic };
  if (r.value !== null) msg.value = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
  if (r.key !== undefined && r.key !== null) msg.key = Buffer.isBuffer(r.key) ? r.key : Buffer.from(r.key);
  if (r.headers) msg.headers = Object.fromEntries(Object.entries(r.headers).map(([k, v]) => [k, Buffer.isBuffer(v) ? v : Buffer.from(v)]));
  if (r.partition !== undefined) msg.partition = r.partition;
  const ts = r.timestamp ?? timestamp;
  if (ts !== undefined && Number.isFinite(ts) && ts >= 0) msg.timestamp = BigInt(Math.floor(ts));
  return msg;
}

/** Sends batches, bounded in flight; remembers the first failure. */
abstract class BatchingWriter<T> implements SinkWriter<T> {
  protected buffer: Msg[] = [];
  protected inFlight = new Set<Promise<unknown>>();
  protected failure: Error | undefined;
  protected readonly batchSize: number;
  protected readonly maxInFlight: number;

  constructor(protected readonly o: KafkaSinkOptions<T>, protected readonly name: string, protected readonly ctx: SinkContext) {
    this.batchSize = o.batchSize ?? 1000;
    this.maxInFlight = o.maxInFlight ?? 4;
  }

  protected abstract sendBatch(batch: Msg[]): Promise<unknown>;

  write(value: T, timestamp: number | undefined): void {
    if (this.failure) throw this.failure;
    this.buffer.push(toMessage(this.o, value, timestamp));
    if (this.buffer.length >= this.batchSize) this.flushBuffer();
  }

  protected flushBuffer(): void {
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    this.track(this.sendBatch(batch));
  }

  protected track(p: Promise<unknown>): void {
    const tracked = p.then(
      () => { this.inFlight.delete(tracked); },
      (err: unknown) => {
        this.inFlight.delete(tracked);
        this.failure ??= new Error(describeKafkaError(err, `kafka sink ${this.name}: send failed`, this.o), { cause: err });
      },
    );
    this.inFlight.add(tracked);
  }

  backpressure(): Promise<void> | undefined {
    if (this.failure) return Promise.reject(this.failure);
    if (this.inFlight.size < this.maxInFlight) return undefined;
    return Promise.race(this.inFlight).then(() => undefined);
  }

  /** Every record written so far is acknowledged. */
  protected async drain(): Promise<void> {
    this.flushBuffer();
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    if (this.failure) throw this.failure;
  }
}

class AtLeastOnceWriter<T> extends BatchingWriter<T> {
  private readonly producer: Producer<Buffer, Buffer, string, Buffer>;

  constructor(o: KafkaSinkOptions<T>, name: string, ctx: SinkContext) {
    super(o, name, ctx);
    const { Producer } = kafkaClient();
    this.producer = new Producer({ ...baseClientOptions(o, `${o.clientId ?? 'weir'}-${name}-${ctx.subtaskIndex}`), retries: 5, idempotent: true, acks: -1 });
  }

  private lastSend: Promise<unknown> = Promise.resolve();

  /** One produce request at a time: the client's idempotent sequence numbers break with concurrent requests (OUT_OF_ORDER_SEQUENCE_NUMBER). */
  protected sendBatch(batch: Msg[]): Promise<unknown> {
    const p = this.lastSend.then(() => this.producer.send({ messages: batch, acks: -1 }));
    this.lastSend = p.catch(() => undefined);
    return p;
  }

  snapshotState(): SinkSnapshot {
    if (this.failure) throw this.failure;
    const done = this.drain();
    done.catch(() => undefined); // the runtime awaits it; never an unhandled rejection
    return { items: [], done };
  }

  async finish(): Promise<void> {
    await this.drain();
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    await this.producer.close().catch(() => undefined);
  }
}

/** One transaction: its producer, and the Transaction once begun. */
interface Txn {
  readonly id: string;
  readonly producer: Producer<Buffer, Buffer, string, Buffer>;
  readonly begun: Promise<Transaction>;
  records: number;
  lastSend: Promise<unknown>;
  checkpointId?: number;
}

class ExactlyOnceWriter<T> extends BatchingWriter<T> {
  private readonly runId = randomBytes(6).toString('hex');
  private seq = 0;
  private current: Txn;
  private pending: Txn[] = [];
  /** Restored transactions not yet committed (committed in recover()). */
  private readonly prefix: string;
  private readonly timeoutMs: number;

  constructor(o: KafkaSinkOptions<T>, name: string, ctx: SinkContext) {
    super(o, name, ctx);
    this.prefix = o.transactionalIdPrefix!;
    this.timeoutMs = o.transactionTimeoutMs ?? 15 * 60_000;
    this.current = this.begin();
  }

  private idPattern(): RegExp {
    return new RegExp(`^${this.prefix.replace(/[.]/g, '\\.')}-(\\d+)-([0-9a-f]{12})-(\\d+)$`);
  }

  private begin(): Txn {
    const id = `${this.prefix}-${this.ctx.subtaskIndex}-${this.runId}-${this.seq++}`;
    const { Producer } = kafkaClient();
    const producer = new Producer<Buffer, Buffer, string, Buffer>({
      ...baseClientOptions(this.o, `${this.o.clientId ?? 'weir'}-${this.name}-${this.ctx.subtaskIndex}`),
      // The client uses `timeout` as the transaction timeout in InitProducerId.
      timeout: this.timeoutMs,
      requestTimeout: this.o.requestTimeoutMs ?? 30_000,
      retries: 5,
      idempotent: true,
      transactionalId: id,
      acks: -1,
    });
    const begun = producer.beginTransaction();
    begun.catch(() => undefined);
    return { id, producer, begun, records: 0, lastSend: Promise.resolve() };
  }

  /** Re-commit what the restored checkpoint pre-committed; abort leftovers of crashed runs. */
  async recover(restored: readonly PendingItem[]): Promise<void> {
    const conns = await BrokerConnections.open(this.o, `${this.o.clientId ?? 'weir'}-${this.name}-recover`);
    try {
      const sorted = [...restored].sort((a, b) => (a.transactionalId < b.transactionalId ? -1 : 1));
      for (let k = 0; k < sorted.length; k++) {
        const t = sorted[k]!;
        if (typeof t.transactionalId !== 'string' || !Number.isInteger(t.checkpointId)) throw new ConfigError(`kafka sink ${this.name}: bad transaction in restored state: ${JSON.stringify(t)}`);
        if (k % this.ctx.parallelism !== this.ctx.subtaskIndex) continue; // each restored transaction is committed by one subtask
        const outcome = await commitPrepared(conns, t.transactionalId, t.checkpointId, this.ctx.clock);
        if (process.env['WEIR_KAFKA_DEBUG']) this.log(`recommit ${t.transactionalId} ckpt=${t.checkpointId}: ${outcome}`);
      }
      const keep = new Set(restored.map((t) => t.transactionalId));
      const re = this.idPattern();
      const { subtaskIndex, parallelism } = this.ctx;
      const aborted = await abortLingering(conns, (id) => {
        if (keep.has(id)) return false;
        const m = re.exec(id);
        if (!m || m[2] === this.runId) return false;
        const sub = Number(m[1]);
        return sub === subtaskIndex || (subtaskIndex === 0 && sub >= parallelism);
      }, this.timeoutMs, this.ctx.clock);
      if (aborted.length > 0) this.log(`kafka sink ${this.name}: aborted ${aborted.length} open transaction(s) of an earlier run: ${aborted.join(', ')}`);
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw kafkaStartError(err, `kafka sink ${this.name}: recovering transactions`, this.o);
    } finally {
      await conns.close();
    }
  }

  private log(line: string): void {
    (this.o.log ?? ((l: string) => process.stderr.write(l + '\n')))(line);
  }

  /** One produce request at a time per transaction (see AtLeastOnceWriter.sendBatch). */
  protected sendBatch(batch: Msg[]): Promise<unknown> {
    const txn = this.current;
    txn.records += batch.length;
    const p = txn.lastSend.then(() => txn.begun).then((tx) => tx.send({ messages: batch }));
    txn.lastSend = p.catch(() => undefined);
    return p;
  }

  snapshotState(checkpointId: number): SinkSnapshot {
    if (this.failure) throw this.failure;
    this.flushBuffer();
    const txn = this.current;
    let done: Promise<void> | undefined;
    if (txn.records > 0) {
      txn.checkpointId = checkpointId;
      this.pending.push(txn);
      if (process.env['WEIR_KAFKA_DEBUG']) this.log(`precommit ${txn.id} records=${txn.records} ckpt=${checkpointId}`);
      const sends = [...this.inFlight];
      done = Promise.all(sends).then(() => {
        if (this.failure) throw this.failure;
      });
      done.catch(() => undefined); // the runtime awaits it; never an unhandled rejection
      this.current = this.begin();
    }
    const items: PendingItem[] = this.pending.map((t) => ({ transactionalId: t.id, checkpointId: t.checkpointId! }));
    return { items, mode: 'union', ...(done ? { done } : {}) };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const due = this.pending.filter((t) => t.checkpointId! <= checkpointId);
    if (due.length === 0) return;
    for (const t of due) {
      const tx = await t.begun;
      await this.commitWithRetry(t, tx);
      if (process.env['WEIR_KAFKA_DEBUG']) this.log(`commit ${t.id} ckpt=${t.checkpointId} on complete ${checkpointId}`);
      await t.producer.close().catch(() => undefined);
    }
    this.pending = this.pending.filter((t) => t.checkpointId! > checkpointId);
  }

  /** A commit that fails (broker briefly away) is retried with backoff; if it keeps failing the job fails and the restore re-commits. */
  private async commitWithRetry(t: Txn, tx: Transaction): Promise<void> {
    let delay = 100;
    const deadline = this.ctx.clock.monotonic() + 120_000;
    for (;;) {
      try {
        await tx.commit();
        return;
      } catch (err) {
        if (this.ctx.clock.monotonic() > deadline) {
          throw new Error(describeKafkaError(err, `kafka sink ${this.name}: commit of transaction ${t.id} (checkpoint ${t.checkpointId}) failed`, this.o), { cause: err });
        }
        this.log(describeKafkaError(err, `kafka sink ${this.name}: commit of ${t.id} failed, retrying in ${delay} ms`, this.o));
        await this.ctx.clock.sleep(delay);
        delay = Math.min(5000, delay * 2);
      }
    }
  }

  async finish(): Promise<void> {
    if (this.ctx.checkpointingEnabled) return;
    const snap = this.snapshotState(Number.MAX_SAFE_INTEGER);
    await snap.done;
    await this.notifyCheckpointComplete(Number.MAX_SAFE_INTEGER);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    // The open transaction is never committed: abort it so read_committed readers are not held back.
    const cur = this.current;
    const tx = await cur.begun.catch(() => undefined);
    if (tx && cur.records > 0) await tx.abort().catch(() => undefined);
    await cur.producer.close().catch(() => undefined);
    // Pre-committed ones stay open: a restore commits them.
    for (const t of this.pending) await t.producer.close().catch(() => undefined);
  }
}

/**
 * Kafka source (like Flink's KafkaSource).
 *
 *   partitions     of the given topics (or of every topic matching a pattern) are split
 *                  over the subtasks by a fixed rule: owner = (hash(topic) + partition)
 *                  mod parallelism, so every subtask agrees without coordination.
 *   position       the next offset of each owned partition is operator state ('union':
 *                  on restore every subtask sees all partitions' offsets and keeps the
 *                  ones it owns at the new parallelism). A restore resumes exactly there.
 *   discovery      every `discoveryIntervalMs` the topic list and partition counts are
 *                  read again; a partition in no subtask's state is new and read from its
 *                  earliest offset.
 *   read_committed (default) records of aborted transactions and transaction markers are
 *                  skipped (committed-batches.ts); the fetch stops at the last stable offset.
 *   group offsets  on checkpoint completion the offsets of that checkpoint are committed to
 *                  `groupId` — for monitoring tools only; restore never reads them.
 *   event time     record timestamps are the records' event time. With `watermarks`, the
 *                  watermark is tracked per partition (highest timestamp − bound − 1) and
 *                  the subtask emits the minimum over its partitions; a partition without
 *                  records for `idlenessMs` stops holding it back, and a subtask whose
 *                  partitions are all idle marks its output idle.
 *   broker loss    fetch errors while running are retried with exponential backoff
 *                  (100 ms … 5 s); the position is unchanged, so the job goes on when the
 *                  broker is back. Errors at start (no broker, missing topic, bad
 *                  credentials) fail the job with one line.
 *   bounded        `bounded: true` reads up to the end offsets found at the first start
 *                  (kept in state across restores) and then ends.
 */
import type { ClusterMetadata, Connection, Consumer, fetchV17, KafkaRecord } from '@platformatic/kafka';
import { kafkaClient, loadKafkaClient } from './kafka-client.ts';

type FetchResponse = fetchV17.FetchResponse;
import { partitionProgress, type PartitionProgress, type PollResult, type Source, type SourceContext, type SourceOutput, type SourceReader } from '../../api/index.ts';
import { ConfigError } from '../../util/errors.ts';
import { deserializeFailed } from '../deserialize-failure.ts';
import { baseClientOptions, classifyKafkaError, describeKafkaError, kafkaStartError, type KafkaConnectionOptions } from './client-options.ts';
import { committedBatches } from './committed-batches.ts';
import { guardEmptyAbortMarkers } from './empty-abort-markers.ts';


/** One record as the deserializer sees it. */
export interface KafkaRecordView {
  /** Topic the record was read from. */
  readonly topic: string;
  /** Partition of the topic. */
  readonly partition: number;
  /** Offset of the record in its partition (64-bit). */
  readonly offset: bigint;
  /** Record timestamp, ms since the epoch. */
  readonly timestamp: number;
  /** Record key bytes, null when the record has none. */
  readonly key: Buffer | null;
  /** Record value bytes, null for a tombstone. */
  readonly value: Buffer | null;
  /** Header keys decoded as UTF-8; values as bytes (null for a null header value). */
  readonly headers: readonly (readonly [string, Buffer | null])[];
}

/** Options of {@link KafkaSource}. Give exactly one of `topics` and `topicPattern`. */
export interface KafkaSourceOptions<T> extends KafkaConnectionOptions {
  /** Topics to read (every partition of each). */
  readonly topics?: readonly string[];
  /** Every topic whose name matches (internal topics excluded). */
  readonly topicPattern?: RegExp;
  /** Turns a Kafka record into a stream record (see {@link kafkaDeserializers}). A throw fails the job as a UserFunctionError naming the source, subtask, topic, partition, offset and payload; to route malformed input to a side output, deserialize to bytes or text and use `DataStream.parse`. */
  readonly deserialize: (record: KafkaRecordView) => T;
  /** Consumer group the offsets are committed to on checkpoint completion (monitoring only). */
  readonly groupId?: string;
  /** Where partitions start on a fresh start (default 'earliest'); partitions discovered later start at earliest. */
  readonly startingOffsets?: 'earliest' | 'latest';
  /** Stop at the end offsets found at the first start (default false: unbounded). */
  readonly bounded?: boolean;
  /** Default 'read_committed'. */
  readonly isolationLevel?: 'read_committed' | 'read_uncommitted';
  /** Partition discovery interval, ms (default 10 s; 0 = off). */
  readonly discoveryIntervalMs?: number;
  /** Per-partition watermarks from record timestamps. */
  readonly watermarks?: {
    /** Bound on how late a record's timestamp may be within its partition, ms: watermark = highest timestamp − bound − 1. */
    readonly outOfOrdernessMs: number;
    /** A partition without records for this long (ms) stops holding the watermark back; default never. */
    readonly idlenessMs?: number;
  };
  /** Longest wait of a fetch for new data, ms (default 200). */
  readonly fetchMaxWaitMs?: number;
  /** Bytes per partition per fetch (default 1 MiB). */
  readonly maxBytesPerPartition?: number;
  /** Operator name (logs, dashboard, lag metrics); default "kafka-source". */
  readonly name?: string;
  /** Where retry messages go (default: one line to stderr). */
  readonly log?: (line: string) => void;
}

/** Ready-made deserializers: the value as UTF-8 text, as JSON, or as bytes. */
export const kafkaDeserializers = {
  /** The value decoded as UTF-8 ("" for a tombstone). */
  string: (r: KafkaRecordView): string => r.value?.toString('utf8') ?? '',
  /** The value parsed as JSON (null for a tombstone); invalid JSON throws (fails the job). */
  json: <T = unknown>(r: KafkaRecordView): T => JSON.parse(r.value?.toString('utf8') ?? 'null') as T,
  /** The value bytes as they are (an empty buffer for a tombstone). */
  bytes: (r: KafkaRecordView): Buffer => r.value ?? Buffer.alloc(0),
};

interface PartitionItem {
  readonly topic: string;
  readonly partition: number;
  /** Next offset to read (a decimal string: offsets are 64-bit). */
  readonly offset: string;
  /** Bounded mode: read up to here (exclusive). */
  readonly end?: string;
}

/** Flink's KafkaSourceEnumerator rule: start index from the topic's hash, then partitions round-robin. */
export function partitionOwner(topic: string, partition: number, parallelism: number): number {
  let h = 0;
  for (let i = 0; i < topic.length; i++) h = (Math.imul(h, 31) + topic.charCodeAt(i)) | 0;
  const start = (Math.imul(h, 31) & 0x7fffffff) % parallelism;
  return (start + partition) % parallelism;
}

/**
 * Reads Kafka topics with exactly-once positions in checkpoints (offsets are operator
 * state; see the top of kafka-source.ts and docs/connectors.md). The constructor throws
 * a ConfigError unless exactly one of `topics` / `topicPattern` is given; an unreachable
 * broker, bad credentials or a missing topic fail the job at start with one line.
 */
export class KafkaSource<T> implements Source<T> {
  /** Operator name: `options.name`, default "kafka-source". */
  readonly name: string;
  /** Offsets are 'union' operator state: on restore every subtask sees all partitions and keeps the ones it owns. */
  readonly stateMode = 'union' as const;

  /** @param options - brokers, topics, deserializer, and optional watermarks, bounds and tuning */
  constructor(readonly options: KafkaSourceOptions<T>) {
    this.name = options.name ?? 'kafka-source';
    const hasTopics = (options.topics?.length ?? 0) > 0;
    if (hasTopics === (options.topicPattern !== undefined)) throw new ConfigError(`${this.name}: give either topics or topicPattern`);
    if (options.watermarks && !(options.watermarks.outOfOrdernessMs >= 0)) throw new ConfigError(`${this.name}: watermarks.outOfOrdernessMs must be >= 0`);
  }

  async createReader(ctx: SourceContext): Promise<SourceReader<T>> {
    await loadKafkaClient();
    const r = new KafkaReader<T>(this.options, this.name, ctx);
    try {
      await r.start();
    } catch (err) {
      await r.close();
      throw err;
    }
    return r;
  }
}

interface PartState {
  readonly topic: string;
  readonly partition: number;
  offset: bigint;
  end: bigint | undefined;
  /** High watermark (read_uncommitted) or last stable offset (read_committed) at the last fetch. */
  logEnd: bigint;
  maxTimestamp: number;
  lastRecordAt: number;
}

/** A fetched record waiting to be emitted, or (rec undefined) a position step past skipped batches. */
interface Entry {
  readonly part: PartState;
  readonly next: bigint;
  readonly rec: KafkaRecord | undefined;
  readonly timestamp: number;
}

const MIN_WM = Number.MIN_SAFE_INTEGER;

class KafkaReader<T> implements SourceReader<T> {
  private readonly consumer: Consumer;
  private readonly parts = new Map<string, PartState>();
  private readonly readCommitted: boolean;
  private queue: Entry[] = [];
  private qpos = 0;
  private fetching: Promise<void> | undefined;
  /** Offset commits to the group, one after the other (close() waits for them, then closes their connection). Never rejects. */
  private commitChain: Promise<void> = Promise.resolve();
  private discovering: Promise<void> | undefined;
  private lastDiscovery = 0;
  private backoffMs = 0;
  private failure: Error | undefined;
  private emittedWatermark = MIN_WM;
  private idle = false;
  private readonly snapshots = new Map<number, PartitionItem[]>();
  private groupConn: Connection | undefined;
  private closed = false;
  private lastLog = '';
  private readonly metricsKey: string;

  constructor(
    private readonly o: KafkaSourceOptions<T>,
    private readonly name: string,
    private readonly ctx: SourceContext,
  ) {
    this.readCommitted = (o.isolationLevel ?? 'read_committed') === 'read_committed';
    const { Consumer } = kafkaClient();
    this.consumer = new Consumer({
      ...baseClientOptions(o, `${o.clientId ?? 'weir'}-${name}-${ctx.subtaskIndex}`),
      groupId: o.groupId ?? `weir-${name}`,
      isolationLevel: this.readCommitted ? 1 : 0,
      maxWaitTime: o.fetchMaxWaitMs ?? 200,
      maxBytes: 64 << 20,
      maxBytesPerPartition: o.maxBytesPerPartition ?? 1 << 20,
    });
    if (this.readCommitted) guardEmptyAbortMarkers(this.consumer);
    this.metricsKey = `${name}#${ctx.subtaskIndex}`;
  }

  private key(topic: string, partition: number): string {
    return `${topic}\u0000${partition}`;
  }

  private log(line: string): void {
    if (line === this.lastLog) return;
    this.lastLog = line;
    (this.o.log ?? ((l: string) => process.stderr.write(l + '\n')))(line);
  }

  /** Topics to read now: the configured ones, or the pattern's matches. */
  private async topicNames(): Promise<string[]> {
    if (this.o.topics) return [...this.o.topics];
    const { Admin } = kafkaClient();
    const admin = new Admin(baseClientOptions(this.o, `${this.o.clientId ?? 'weir'}-${this.name}-admin`));
    try {
      const all = await admin.listTopics();
      return all.filter((t) => this.o.topicPattern!.test(t)).sort();
    } finally {
      await admin.close().catch(() => undefined);
    }
  }

  async start(): Promise<void> {
    const what = `kafka source ${this.name}`;
    let topics: string[];
    let md: ClusterMetadata;
    try {
      topics = await this.topicNames();
      md = await this.consumer.metadata({ topics, forceUpdate: true });
    } catch (err) {
      const missing = this.o.topics?.find((t) => !/^[\w.-]+$/.test(t)) ?? (this.o.topics?.length === 1 ? this.o.topics[0] : undefined);
      throw kafkaStartError(err, what, this.o, missing ?? this.o.topics?.join(','));
    }
    const restored = this.ctx.restoredState as PartitionItem[] | undefined;
    const known = new Map<string, PartitionItem>();
    for (const item of restored ?? []) {
      if (typeof item?.topic !== 'string' || !Number.isInteger(item.partition) || typeof item.offset !== 'string') {
        throw new ConfigError(`${what}: bad partition state in the checkpoint: ${JSON.stringify(item)}`);
      }
      known.set(this.key(item.topic, item.partition), item);
    }
    // Restored partitions this subtask owns at the current parallelism.
    for (const item of known.values()) {
      if (partitionOwner(item.topic, item.partition, this.ctx.parallelism) !== this.ctx.subtaskIndex) continue;
      this.addPart(item.topic, item.partition, BigInt(item.offset), item.end === undefined ? undefined : BigInt(item.end));
    }
    const fresh = restored === undefined;
    await this.addNewPartitions(md, topics, known, fresh ? (this.o.startingOffsets ?? 'earliest') : 'earliest', this.o.bounded === true && fresh);
    this.lastDiscovery = this.ctx.clock.monotonic();
    this.publishMetrics();
  }

  private addPart(topic: string, partition: number, offset: bigint, end: bigint | undefined): void {
    const now = this.ctx.clock.monotonic();
    this.parts.set(this.key(topic, partition), { topic, partition, offset, end, logEnd: offset, maxTimestamp: MIN_WM, lastRecordAt: now });
  }

  /** Adds the partitions of `topics` this subtask owns that neither it nor the checkpoint knows. */
  private async addNewPartitions(md: ClusterMetadata, topics: readonly string[], known: ReadonlyMap<string, unknown>, start: 'earliest' | 'latest', withEnd: boolean): Promise<void> {
    const fresh: { topic: string; partition: number }[] = [];
    for (const topic of topics) {
      const t = md.topics.get(topic);
      if (!t) continue;
      for (let p = 0; p < t.partitionsCount; p++) {
        const k = this.key(topic, p);
        if (known.has(k) || this.parts.has(k)) continue;
        if (partitionOwner(topic, p, this.ctx.parallelism) === this.ctx.subtaskIndex) fresh.push({ topic, partition: p });
      }
    }
    if (fresh.length === 0) return;
    const names = [...new Set(fresh.map((f) => f.topic))];
    const startOffsets = await this.consumer.listOffsets({ topics: names, timestamp: start === 'earliest' ? -2n : -1n, isolationLevel: this.readCommitted ? 1 : 0 });
    const endOffsets = withEnd ? await this.consumer.listOffsets({ topics: names, timestamp: -1n, isolationLevel: this.readCommitted ? 1 : 0 }) : undefined;
    for (const f of fresh) {
      const off = startOffsets.get(f.topic)?.[f.partition];
      if (off === undefined) throw new ConfigError(`kafka source ${this.name}: no offset for ${f.topic}/${f.partition}`);
      this.addPart(f.topic, f.partition, off, endOffsets?.get(f.topic)?.[f.partition]);
    }
  }

  private discover(): void {
    if (this.o.bounded || this.discovering) return;
    const interval = this.o.discoveryIntervalMs ?? 10_000;
    if (interval <= 0 || this.ctx.clock.monotonic() - this.lastDiscovery < interval) return;
    this.lastDiscovery = this.ctx.clock.monotonic();
    this.discovering = (async () => {
      const topics = await this.topicNames();
      const md = await this.consumer.metadata({ topics, forceUpdate: true });
      await this.addNewPartitions(md, topics, new Map(), 'earliest', false);
    })().then(
      () => { this.discovering = undefined; },
      (err: unknown) => {
        this.discovering = undefined;
        this.log(`${describeKafkaError(err, `kafka source ${this.name}: partition discovery failed (will retry)`, this.o)}`);
      },
    );
  }

  poll(out: SourceOutput<T>, max: number): PollResult {
    if (this.failure) throw this.failure;
    const emitted = this.emit(out, max);
    if (this.o.watermarks) this.updateWatermark(out);
    if (emitted > 0) return 'more';
    if (this.o.bounded && [...this.parts.values()].every((p) => p.end !== undefined && p.offset >= p.end)) return 'end';
    this.discover();
    this.fetching ??= this.fetch().finally(() => { this.fetching = undefined; });
    return this.fetching;
  }

  private emit(out: SourceOutput<T>, max: number): number {
    const q = this.queue;
    let n = 0;
    const deserialize = this.o.deserialize;
    const wm = this.o.watermarks !== undefined;
    const now = wm ? this.ctx.clock.monotonic() : 0;
    while (n < max && this.qpos < q.length) {
      const e = q[this.qpos++]!;
      const part = e.part;
      if (e.next <= part.offset) continue; // already past (a restore or a refetch)
      part.offset = e.next;
      const rec = e.rec;
      if (rec === undefined) continue;
      const headers = rec.headers.length === 0 ? [] : rec.headers.map(([k, v]) => [k?.toString('utf8') ?? '', v] as const);
      let value: T;
      try {
        value = deserialize({ topic: part.topic, partition: part.partition, offset: e.next - 1n, timestamp: e.timestamp, key: rec.key, value: rec.value, headers });
      } catch (err) {
        throw deserializeFailed({ name: this.name, subtaskIndex: this.ctx.subtaskIndex, parallelism: this.ctx.parallelism },
          `topic ${part.topic} partition ${part.partition} offset ${e.next - 1n}`, rec.value, err);
      }
      if (wm) {
        if (e.timestamp > part.maxTimestamp) part.maxTimestamp = e.timestamp;
        part.lastRecordAt = now;
        if (this.idle) {
          this.idle = false;
          out.markIdle?.(false);
        }
      }
      out.collect(value, e.timestamp);
      n++;
    }
    if (this.qpos >= q.length) {
      this.queue = [];
      this.qpos = 0;
    }
    return n;
  }

  private updateWatermark(out: SourceOutput<T>): void {
    const { outOfOrdernessMs, idlenessMs } = this.o.watermarks!;
    const now = this.ctx.clock.monotonic();
    let min = Number.POSITIVE_INFINITY;
    let active = 0;
    for (const p of this.parts.values()) {
      // A finished partition (bounded) holds nothing back but keeps its last watermark.
      const finished = p.end !== undefined && p.offset >= p.end;
      if (finished && p.maxTimestamp === MIN_WM) continue;
      if (!finished && idlenessMs !== undefined && now - p.lastRecordAt >= idlenessMs) continue;
      active++;
      const w = p.maxTimestamp === MIN_WM ? MIN_WM : p.maxTimestamp - outOfOrdernessMs - 1;
      if (w < min) min = w;
    }
    if (active === 0) {
      if (!this.idle && this.parts.size >= 0) {
        this.idle = true;
        out.markIdle?.(true);
      }
      return;
    }
    if (min !== MIN_WM && min > this.emittedWatermark) {
      this.emittedWatermark = min;
      out.emitWatermark?.(min);
    }
  }

  /** One round of fetches (one request per leader), appended to the queue. Retries with backoff on errors. */
  private async fetch(): Promise<void> {
    if (this.backoffMs > 0) await this.ctx.clock.sleep(this.backoffMs);
    if (this.closed) return;
    const wanted = [...this.parts.values()].filter((p) => p.end === undefined || p.offset < p.end);
    if (wanted.length === 0) {
      await this.ctx.clock.sleep(Math.min(1000, this.o.discoveryIntervalMs ?? 1000));
      return;
    }
    try {
      const md = await this.consumer.metadata({ topics: [...new Set(wanted.map((p) => p.topic))] });
      const byLeader = new Map<number, PartState[]>();
      for (const p of wanted) {
        const t = md.topics.get(p.topic);
        const leader = t?.partitions[p.partition]?.leader;
        if (t === undefined || leader === undefined || leader < 0) continue;
        let l = byLeader.get(leader);
        if (!l) byLeader.set(leader, (l = []));
        l.push(p);
      }
      const results = await Promise.all([...byLeader].map(async ([leader, list]) => {
        const topics = new Map<string, { topicId: string; partitions: { partition: number; fetchOffset: bigint; partitionMaxBytes: number; currentLeaderEpoch: number; lastFetchedEpoch: number }[] }>();
        for (const p of list) {
          const t = md.topics.get(p.topic)!;
          let entry = topics.get(p.topic);
          if (!entry) topics.set(p.topic, (entry = { topicId: t.id, partitions: [] }));
          entry.partitions.push({ partition: p.partition, fetchOffset: p.offset, partitionMaxBytes: this.o.maxBytesPerPartition ?? 1 << 20, currentLeaderEpoch: -1, lastFetchedEpoch: -1 });
        }
        const resp = await this.consumer.fetch({ node: leader, topics: [...topics.values()] });
        return { resp, ids: new Map([...topics].map(([name, v]) => [v.topicId, name])) };
      }));
      for (const { resp, ids } of results) this.take(resp, ids);
      if (this.backoffMs > 0) this.log(`kafka source ${this.name}: fetching again from ${this.o.brokers.join(',')}`);
      this.backoffMs = 0;
      this.lastLog = '';
      this.publishMetrics();
    } catch (err) {
      if (this.closed) return;
      if (err instanceof ConfigError) {
        this.failure = err;
        return;
      }
      this.consumer.clearMetadata();
      this.backoffMs = Math.min(5000, Math.max(100, this.backoffMs * 2));
      const kind = classifyKafkaError(err);
      this.log(`${describeKafkaError(err, `kafka source ${this.name}: fetch failed (${kind}), retrying in ${this.backoffMs} ms`, this.o)}`);
    }
  }

  private take(resp: FetchResponse, topicNames: ReadonlyMap<string, string>): void {
    for (const t of resp.responses) {
      const topic = topicNames.get(t.topicId);
      if (topic === undefined) continue;
      for (const pr of t.partitions) {
        const part = this.parts.get(this.key(topic, pr.partitionIndex));
        if (!part) continue;
        if (pr.errorCode === 1) {
          // OFFSET_OUT_OF_RANGE: the data at the checkpointed offset is gone (retention).
          throw new ConfigError(`kafka source ${this.name}: offset ${part.offset} of ${topic}/${part.partition} is out of range (deleted by retention?)`);
        }
        if (pr.errorCode !== 0) throw new Error(`fetch of ${topic}/${part.partition} failed with error code ${pr.errorCode}`);
        part.logEnd = this.readCommitted && pr.lastStableOffset >= 0n ? pr.lastStableOffset : pr.highWatermark;
        const batches = pr.records ?? [];
        const keep = committedBatches(batches, pr.abortedTransactions, this.readCommitted);
        const from = part.offset;
        const end = part.end;
        for (let i = 0; i < batches.length; i++) {
          const b = batches[i]!;
          const last = b.firstOffset + BigInt(b.lastOffsetDelta);
          if (last < from) continue;
          if (keep[i]) {
            for (const rec of b.records) {
              const off = b.firstOffset + BigInt(rec.offsetDelta);
              if (off < from) continue;
              if (end !== undefined && off >= end) break;
              this.queue.push({ part, next: off + 1n, rec, timestamp: Number(b.firstTimestamp + rec.timestampDelta) });
            }
          }
          const step = end !== undefined && last + 1n > end ? end : last + 1n;
          this.queue.push({ part, next: step, rec: undefined, timestamp: 0 });
        }
      }
    }
  }

  snapshotState(checkpointId: number): unknown[] {
    // Records fetched but not emitted are not in the position: they are fetched again after a restore.
    const items: PartitionItem[] = [...this.parts.values()].map((p) => ({
      topic: p.topic,
      partition: p.partition,
      offset: p.offset.toString(),
      ...(p.end !== undefined ? { end: p.end.toString() } : {}),
    }));
    if (this.o.groupId !== undefined) {
      this.snapshots.set(checkpointId, items);
      if (this.snapshots.size > 16) this.snapshots.delete(this.snapshots.keys().next().value!);
    }
    return items;
  }

  notifyCheckpointComplete(checkpointId: number): void {
    const items = this.snapshots.get(checkpointId);
    if (!items || this.o.groupId === undefined) return;
    for (const id of [...this.snapshots.keys()]) if (id <= checkpointId) this.snapshots.delete(id);
    // One commit at a time: two at once could each open a group connection and leak one.
    const groupId = this.o.groupId;
    this.commitChain = this.commitChain.then(() => this.commitToGroupWithRetry(groupId, items)).catch((err: unknown) => {
      if (this.closed) return; // closing cut it short: nothing to report
      this.log(describeKafkaError(err, `kafka source ${this.name}: committing offsets to group ${groupId} failed (monitoring only)`, this.o));
    });
  }

  /** A fresh cluster creates the offsets topic on first use (COORDINATOR_NOT_AVAILABLE meanwhile): bounded retries. */
  private async commitToGroupWithRetry(groupId: string, items: readonly PartitionItem[]): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.commitToGroup(groupId, items);
        return;
      } catch (err) {
        // Start over with a new connection; close the old one (dropped open, its socket kept
        // the process alive after the job ended).
        const conn = this.groupConn;
        this.groupConn = undefined;
        conn?.close(() => undefined);
        if (attempt >= 20 || this.closed) throw err;
        await this.ctx.clock.sleep(Math.min(2000, 100 * attempt));
      }
    }
  }

  /** OffsetCommit as a standalone (non-member) consumer: generation -1, no member id. */
  private async commitToGroup(groupId: string, items: readonly PartitionItem[]): Promise<void> {
    if (items.length === 0 || this.closed) return;
    if (!this.groupConn) {
      const coordinatorId = await this.consumer.findGroupCoordinator();
      const md = await this.consumer.metadata({ topics: [] });
      const broker = md.brokers.get(coordinatorId);
      if (!broker) throw new Error(`group coordinator ${coordinatorId} not in metadata`);
      const base = baseClientOptions(this.o, `${this.o.clientId ?? 'weir'}-${this.name}-commit`);
      const { Connection } = kafkaClient();
      const conn = new Connection(base.clientId, { ...(base.sasl ? { sasl: base.sasl } : {}), connectTimeout: base.connectTimeout, requestTimeout: base.requestTimeout });
      try {
        await conn.connect(broker.host, broker.port);
      } finally {
        // Closed meanwhile: close() did not see this connection, so it is ours to close
        // (a leaked socket kept a finished job's process alive).
        if (this.closed) await new Promise<void>((resolve) => conn.close(() => resolve()));
      }
      if (this.closed) return;
      this.groupConn = conn;
    }
    const byTopic = new Map<string, { name: string; partitions: { partitionIndex: number; committedOffset: bigint; committedLeaderEpoch: number; committedMetadata: null }[] }>();
    for (const it of items) {
      let t = byTopic.get(it.topic);
      if (!t) byTopic.set(it.topic, (t = { name: it.topic, partitions: [] }));
      t.partitions.push({ partitionIndex: it.partition, committedOffset: BigInt(it.offset), committedLeaderEpoch: -1, committedMetadata: null });
    }
    await kafkaClient().offsetCommitV9.api.async(this.groupConn, groupId, -1, '', null, [...byTopic.values()]);
  }

  /** Registers this reader's live per-partition progress (read on demand by the dashboard and /metrics). */
  private publishMetrics(): void {
    partitionProgress.set(this.metricsKey, () => {
      const list: PartitionProgress[] = [];
      for (const p of this.parts.values()) {
        list.push({ source: this.name, subtask: this.ctx.subtaskIndex, topic: p.topic, partition: p.partition, offset: Number(p.offset), logEnd: Number(p.logEnd), lag: Math.max(0, Number(p.logEnd - p.offset)) });
      }
      return list;
    });
  }

  /**
   * Closes the consumer first (a fetch or commit in flight fails at once instead of waiting
   * for its retries, as NatsSource does), then waits for them to end, then closes the
   * group connection, which a commit may have opened meanwhile.
   */
  async close(): Promise<void> {
    this.closed = true;
    partitionProgress.delete(this.metricsKey);
    await new Promise<void>((resolve) => this.consumer.close(true, () => resolve()));
    await this.fetching?.catch(() => undefined);
    await this.commitChain;
    const conn = this.groupConn;
    this.groupConn = undefined;
    if (conn) await new Promise<void>((resolve) => conn.close(() => resolve()));
  }
}

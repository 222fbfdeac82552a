/**
 * NATS JetStream sink, exactly once within the stream's duplicate window.
 *
 * JetStream has no transactions; it drops a message whose `Nats-Msg-Id` it stored within
 * the stream's `duplicate_window` (default 2 minutes). The sink therefore publishes only
 * what a completed checkpoint holds, each message with an id that names it for good:
 *
 *   write          records are serialized into this subtask's current epoch (memory).
 *   pre-commit     at the barrier of checkpoint c the epoch becomes pending and is part of
 *                  the operator state ('union'): the checkpoint holds the records themselves
 *                  (a write-ahead log, like Flink's GenericWriteAheadSink).
 *   commit         on notifyCheckpointComplete(m) every pending epoch with c <= m is
 *                  published; record i of subtask s in epoch c gets the id
 *                  `<idPrefix>-<s>-<c>-<i>`; every publish is acknowledged by the stream.
 *   re-commit      after a restore the epochs the restored checkpoint lists are published
 *                  again (each by one subtask): the ones already stored are dropped by
 *                  the stream as duplicates — as long as the first publish is younger than
 *                  the duplicate window.
 *
 * Limits: the output appears one checkpoint later (at completion), the records of one
 * checkpoint interval are in the checkpoint, and exactly-once holds only if a failed run
 * is restored within the duplicate window of its last publish (otherwise the re-publish
 * after a restore can duplicate the last completed checkpoint's records).
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { natsClient } from './nats-client.ts';
import type { Sink, SinkContext, SinkSnapshot, SinkWriter } from '../../api/index.ts';
import { ConfigError } from '../../util/errors.ts';
import { describeNatsError, natsConnect, type NatsConnectionOptions } from './nats-connection.ts';

/** One NATS message as the sink's `serialize` function makes it from a stream record. */
export interface NatsSinkRecord {
  /** Subject to publish to; default the sink's `subject`. */
  readonly subject?: string;
  /** Payload (a string is sent as UTF-8). */
  readonly data: Uint8Array | string;
  /** Message headers; `Nats-Msg-Id` is set by the sink. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** Options of {@link NatsSink}. */
export interface NatsSinkOptions<T> extends NatsConnectionOptions {
  /** Default subject (a stream must capture it). */
  readonly subject: string;
  /** Turns a stream record into a message. */
  readonly serialize: (value: T) => NatsSinkRecord;
  /** Unique per job; the start of every Nats-Msg-Id. */
  readonly idPrefix: string;
  /** Publishes awaiting their acknowledgement at once (default 256). */
  readonly maxInFlight?: number;
  /** Operator name (logs, dashboard); default "nats-sink". */
  readonly name?: string;
}

interface EpochItem {
  readonly subtask: number;
  readonly checkpointId: number;
  /** [subject, base64 data, headers JSON or ''] per record. */
  readonly records: readonly (readonly [string, string, string])[];
}

/**
 * Publishes records to NATS JetStream exactly once within the stream's duplicate window:
 * a checkpoint holds the records, which are published with stable `Nats-Msg-Id`s when it
 * completes (see the top of nats-sink.ts and docs/connectors.md). The constructor throws
 * a ConfigError for an `idPrefix` other than letters, digits, '.', '_', '-'.
 */
export class NatsSink<T> implements Sink<T> {
  /** Operator name: `options.name`, default "nats-sink". */
  readonly name: string;

  /** @param options - servers, subject, serializer and the job's message id prefix */
  constructor(readonly options: NatsSinkOptions<T>) {
    this.name = options.name ?? 'nats-sink';
    if (!/^[\w.-]+$/.test(options.idPrefix)) throw new ConfigError(`${this.name}: idPrefix must be letters, digits, '.', '_', '-' (unique per job)`);
  }

  async createWriter(ctx: SinkContext): Promise<SinkWriter<T>> {
    const what = `nats sink ${this.name}`;
    const o = this.options;
    const nc = await natsConnect(o, `weir-${this.name}-${ctx.subtaskIndex}`, what);
    try {
      const jsm = await natsClient().jetstream.jetstreamManager(nc);
      await jsm.streams.find(o.subject).catch((err: unknown) => {
        throw new ConfigError(`${what}: no stream captures subject '${o.subject}' on ${o.servers.join(',')}`, { cause: err });
      });
    } catch (err) {
      await nc.close().catch(() => undefined);
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(describeNatsError(err, what, o), { cause: err });
    }
    const w = new NatsWriter<T>(o, this.name, ctx, nc);
    const restored = (ctx.restoredState ?? []) as EpochItem[];
    const sorted = [...restored].sort((a, b) => a.checkpointId - b.checkpointId || a.subtask - b.subtask);
    for (let k = 0; k < sorted.length; k++) {
      const e = sorted[k]!;
      if (!Number.isInteger(e.subtask) || !Number.isInteger(e.checkpointId) || !Array.isArray(e.records)) throw new ConfigError(`${what}: bad epoch in restored state`);
      if (k % ctx.parallelism === ctx.subtaskIndex) await w.publishEpoch(e);
    }
    return w;
  }
}

class NatsWriter<T> implements SinkWriter<T> {
  private readonly js: JetStreamClient;
  private current: [string, string, string][] = [];
  private pending: EpochItem[] = [];

  constructor(
    private readonly o: NatsSinkOptions<T>,
    private readonly name: string,
    private readonly ctx: SinkContext,
    private readonly nc: NatsConnection,
  ) {
    this.js = natsClient().jetstream.jetstream(nc);
  }

  write(value: T): void {
    const r = this.o.serialize(value);
    const data = typeof r.data === 'string' ? Buffer.from(r.data) : Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength);
    this.current.push([r.subject ?? this.o.subject, data.toString('base64'), r.headers ? JSON.stringify(r.headers) : '']);
  }

  snapshotState(checkpointId: number): SinkSnapshot {
    if (this.current.length > 0) {
      this.pending.push({ subtask: this.ctx.subtaskIndex, checkpointId, records: this.current });
      this.current = [];
    }
    return { items: this.pending, mode: 'union' };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const due = this.pending.filter((e) => e.checkpointId <= checkpointId);
    for (const e of due) await this.publishEpoch(e);
    this.pending = this.pending.filter((e) => e.checkpointId > checkpointId);
  }

  /** Publishes every record of an epoch with its id, bounded in flight, each acknowledged (retried with backoff while the server is away). */
  async publishEpoch(e: EpochItem): Promise<void> {
    const limit = this.o.maxInFlight ?? 256;
    const inFlight = new Set<Promise<void>>();
    for (let i = 0; i < e.records.length; i++) {
      const [subject, b64, hdrs] = e.records[i]!;
      const msgID = `${this.o.idPrefix}-${e.subtask}-${e.checkpointId}-${i}`;
      const p = this.publishOne(subject, Buffer.from(b64, 'base64'), hdrs, msgID).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= limit) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  }

  private async publishOne(subject: string, data: Buffer, hdrs: string, msgID: string): Promise<void> {
    const deadline = this.ctx.clock.monotonic() + 120_000;
    for (let delay = 100; ; delay = Math.min(5000, delay * 2)) {
      try {
        let h;
        if (hdrs !== '') {
          h = natsClient().transport.headers();
          for (const [k, v] of Object.entries(JSON.parse(hdrs) as Record<string, string>)) h.set(k, v);
        }
        await this.js.publish(subject, data, { msgID, ...(h ? { headers: h } : {}), timeout: 10_000 });
        return;
      } catch (err) {
        if (this.ctx.clock.monotonic() > deadline) throw new Error(describeNatsError(err, `nats sink ${this.name}: publish of ${msgID} failed`, this.o), { cause: err });
        await this.ctx.clock.sleep(delay);
      }
    }
  }

  async finish(): Promise<void> {
    if (this.ctx.checkpointingEnabled) return;
    this.snapshotState(Number.MAX_SAFE_INTEGER);
    await this.notifyCheckpointComplete(Number.MAX_SAFE_INTEGER);
  }

  async close(): Promise<void> {
    await this.nc.close().catch(() => undefined);
  }
}

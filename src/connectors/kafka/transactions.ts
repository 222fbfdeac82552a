/**
 * Kafka transaction coordinator operations the exactly-once sink needs beyond a
 * producer's own begin/send/commit, through the client's protocol APIs:
 *
 *   commitPrepared   commit a transaction a crashed run pre-committed, knowing only its
 *                    transactional id (DescribeTransactions gives producer id and epoch,
 *                    then EndTxn(commit)); an already committed one is fine; an aborted
 *                    or expired one is an error (its records are lost: see the
 *                    transaction timeout rule in docs/connectors.md).
 *   abortLingering   abort the open transactions a crashed run left behind (ListTransactions
 *                    on every broker, then InitProducerId on each matching id, which fences
 *                    the old producer and aborts its transaction), so read_committed
 *                    consumers are not held at the last stable offset until the timeout.
 */
import type { Connection } from '@platformatic/kafka';
import { loadKafkaClient } from './kafka-client.ts';
import type { Clock } from '../../util/clock.ts';
import { ConfigError } from '../../util/errors.ts';
import { baseClientOptions, type KafkaConnectionOptions } from './client-options.ts';

/** Open connections to every broker of the cluster, by node id. */
export class BrokerConnections {
  private constructor(private readonly conns: Map<number, Connection>) {}

  static async open(o: KafkaConnectionOptions, clientId: string): Promise<BrokerConnections> {
    const { Admin, Connection } = await loadKafkaClient();
    const base = baseClientOptions(o, clientId);
    const admin = new Admin(base);
    const conns = new Map<number, Connection>();
    try {
      const md = await admin.metadata({ topics: [] });
      for (const [id, b] of md.brokers) {
        const c = new Connection(clientId, { ...(base.sasl ? { sasl: base.sasl } : {}), connectTimeout: base.connectTimeout, requestTimeout: base.requestTimeout });
        await c.connect(b.host, b.port);
        conns.set(id, c);
      }
    } catch (err) {
      await new BrokerConnections(conns).close();
      throw err;
    } finally {
      await admin.close().catch(() => undefined);
    }
    return new BrokerConnections(conns);
  }

  all(): [number, Connection][] {
    return [...this.conns];
  }

  async coordinatorOf(transactionalId: string): Promise<Connection> {
    const any = this.conns.values().next().value;
    if (!any) throw new Error('no broker connection');
    const { findCoordinatorV6 } = await loadKafkaClient();
    const r = await findCoordinatorV6.api.async(any, 1, [transactionalId]);
    const node = r.coordinators[0]?.nodeId;
    const c = node === undefined ? undefined : this.conns.get(node);
    if (!c) throw new Error(`no connection to the coordinator (node ${node}) of transaction ${transactionalId}`);
    return c;
  }

  async close(): Promise<void> {
    await Promise.all([...this.conns.values()].map((c) => new Promise<void>((resolve) => c.close(() => resolve()))));
  }
}

function apiIdOf(err: unknown): string | undefined {
  const e = err as { apiId?: string; errors?: unknown[] };
  if (e?.apiId) return e.apiId;
  for (const x of e?.errors ?? []) {
    const id = apiIdOf(x);
    if (id) return id;
  }
  return undefined;
}

const RETRIABLE = new Set(['CONCURRENT_TRANSACTIONS', 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE', 'NOT_COORDINATOR', 'REQUEST_TIMED_OUT']);

async function withRetries<R>(clock: Clock, _what: string, fn: () => Promise<R>, attempts = 100): Promise<R> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      const id = apiIdOf(err);
      if (i >= attempts || id === undefined || !RETRIABLE.has(id)) throw err;
      await clock.sleep(Math.min(1000, 20 * i));
    }
  }
}

export type CommitOutcome = 'committed' | 'already-committed';

/** Commits a pre-committed transaction by id (idempotent). */
export async function commitPrepared(conns: BrokerConnections, transactionalId: string, checkpointId: number, clock: Clock): Promise<CommitOutcome> {
  const { describeTransactionsV0, endTxnV4 } = await loadKafkaClient();
  for (let round = 0; round < 200; round++) {
    const coord = await conns.coordinatorOf(transactionalId);
    const d = await withRetries(clock, 'describe', () => describeTransactionsV0.api.async(coord, [transactionalId]));
    const s = d.transactionStates[0];
    const state = s?.transactionState ?? 'unknown';
    if (state === 'CompleteCommit') return 'already-committed';
    if (state === 'PrepareCommit') {
      await clock.sleep(50);
      continue; // markers being written: wait for CompleteCommit
    }
    if (state === 'Ongoing' && s) {
      await withRetries(clock, 'commit', () => endTxnV4.api.async(coord, transactionalId, s.producerId, s.producerEpoch, true));
      return 'committed';
    }
    throw new ConfigError(
      `kafka sink: transaction ${transactionalId} of checkpoint ${checkpointId} cannot be committed: the broker has it ${state}` +
        ' (aborted by transaction.timeout.ms before the job came back? its records are lost)',
    );
  }
  throw new ConfigError(`kafka sink: transaction ${transactionalId} of checkpoint ${checkpointId} stayed in PrepareCommit`);
}

/** Aborts every open transaction whose id `matches` (ListTransactions on each broker, then InitProducerId). Returns the ids aborted. */
export async function abortLingering(conns: BrokerConnections, matches: (transactionalId: string) => boolean, timeoutMs: number, clock: Clock): Promise<string[]> {
  const { initProducerIdV5, listTransactionsV1 } = await loadKafkaClient();
  const aborted: string[] = [];
  for (const [, conn] of conns.all()) {
    const list = await withRetries(clock, 'list', () => listTransactionsV1.api.async(conn, [], [], -1n, null));
    for (const t of list.transactionStates) {
      if (t.transactionState !== 'Ongoing' || !matches(t.transactionalId)) continue;
      const coord = await conns.coordinatorOf(t.transactionalId);
      await withRetries(clock, 'abort', () => initProducerIdV5.api.async(coord, t.transactionalId, timeoutMs, -1n, -1));
      aborted.push(t.transactionalId);
    }
  }
  return aborted;
}

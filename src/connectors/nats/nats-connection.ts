/**
 * Connecting to NATS for the JetStream source and sink, and one-line errors for a
 * server that is down, bad credentials, a missing stream.
 */
import { loadNatsClient } from './nats-client.ts';
import type { NatsConnection } from '@nats-io/transport-node';
import { ConfigError } from '../../util/errors.ts';

/** How the NATS source and sink reach the servers. Give `user` and `pass`, or `token`, or neither. */
export interface NatsConnectionOptions {
  /** "host:port" of the servers. */
  readonly servers: readonly string[];
  /** User name (with `pass`); default none. */
  readonly user?: string;
  /** Password of `user` (never logged). */
  readonly pass?: string;
  /** Authentication token instead of user and password (never logged). */
  readonly token?: string;
  /** Connect timeout, ms (default 5 s). */
  readonly timeoutMs?: number;
}

/** Connects; the client reconnects by itself afterwards (forever, every 250 ms + jitter). */
export async function natsConnect(o: NatsConnectionOptions, name: string, what: string): Promise<NatsConnection> {
  if (o.servers.length === 0) throw new ConfigError(`${what}: no servers given`);
  const { connect } = (await loadNatsClient()).transport;
  try {
    return await connect({
      servers: [...o.servers],
      name,
      ...(o.user !== undefined ? { user: o.user } : {}),
      ...(o.pass !== undefined ? { pass: o.pass } : {}),
      ...(o.token !== undefined ? { token: o.token } : {}),
      timeout: o.timeoutMs ?? 5000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
    });
  } catch (err) {
    throw new ConfigError(describeNatsError(err, what, o), { cause: err });
  }
}

function chain(err: unknown): string[] {
  const out: string[] = [];
  for (let e: unknown = err, d = 0; e instanceof Error && d < 6; e = e.cause, d++) out.push(e.message);
  return out;
}

export function describeNatsError(err: unknown, what: string, o: NatsConnectionOptions, stream?: string): string {
  const msgs = chain(err);
  const all = msgs.join(' | ');
  const where = o.servers.join(',');
  if (/authorization violation|authentication|permissions violation/i.test(all)) return `${what}: authentication failed at ${where}${o.user !== undefined ? ` (user '${o.user}')` : ''}: ${msgs[msgs.length - 1]}`;
  if (/stream not found/i.test(all)) return `${what}: stream${stream === undefined ? '' : ` '${stream}'`} does not exist on ${where}`;
  if (/ECONNREFUSED|connection refused|CONNECTION_REFUSED|timeout|TIMEOUT|closed/i.test(all)) return `${what}: cannot reach NATS at ${where}: ${msgs[msgs.length - 1]}`;
  return `${what}: ${msgs[msgs.length - 1] ?? String(err)}`;
}

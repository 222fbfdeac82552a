/**
 * Connection settings shared by the Kafka source and sink, and the mapping of the
 * client's (@platformatic/kafka) nested errors to one line a user can act on:
 * broker unreachable, authentication failed, topic missing.
 */
import type { SASLOptions } from '@platformatic/kafka';
import { ConfigError } from '../../util/errors.ts';

/** SASL authentication with the brokers (over the plain connection; TLS is not configured here). */
export interface KafkaSasl {
  /** SASL mechanism, as configured on the broker's listener. */
  readonly mechanism: 'PLAIN' | 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  /** User name. */
  readonly username: string;
  /** Password (never logged: error messages name the mechanism and user only). */
  readonly password: string;
}

/** How the Kafka source and sink reach the cluster. */
export interface KafkaConnectionOptions {
  /** Bootstrap brokers, "host:port". */
  readonly brokers: readonly string[];
  /** SASL credentials; default none (an unauthenticated listener). */
  readonly sasl?: KafkaSasl;
  /** Client id sent to the brokers (default "weir"). */
  readonly clientId?: string;
  /** Connect and request timeout, ms (default 10 s). */
  readonly requestTimeoutMs?: number;
}

export function baseClientOptions(o: KafkaConnectionOptions, clientId: string): {
  clientId: string;
  bootstrapBrokers: string[];
  sasl?: SASLOptions;
  connectTimeout: number;
  requestTimeout: number;
  retries: number;
  timeout: number;
} {
  if (o.brokers.length === 0) throw new ConfigError('kafka: no brokers given');
  const t = o.requestTimeoutMs ?? 10_000;
  return {
    clientId,
    bootstrapBrokers: [...o.brokers],
    ...(o.sasl ? { sasl: { mechanism: o.sasl.mechanism, username: o.sasl.username, password: o.sasl.password } } : {}),
    connectTimeout: t,
    requestTimeout: t,
    retries: 0,
    timeout: t,
  };
}

interface ErrorLike {
  readonly message?: string;
  readonly code?: string;
  readonly apiId?: string;
  readonly errors?: readonly unknown[];
  readonly cause?: unknown;
}

/** Every error in the client's tree (MultipleErrors.errors, cause chains), depth-first. */
function flatten(err: unknown, out: ErrorLike[] = [], depth = 0): ErrorLike[] {
  if (err === null || typeof err !== 'object' || depth > 8) return out;
  const e = err as ErrorLike;
  out.push(e);
  for (const x of e.errors ?? []) flatten(x, out, depth + 1);
  flatten(e.cause, out, depth + 1);
  return out;
}

export type KafkaFailureKind = 'auth' | 'unreachable' | 'missing-topic' | 'fenced' | 'other';

export function classifyKafkaError(err: unknown): KafkaFailureKind {
  const all = flatten(err);
  if (all.some((e) => e.code === 'PLT_KFK_AUTHENTICATION' || (e.apiId ?? '').startsWith('SASL_') || e.apiId === 'TOPIC_AUTHORIZATION_FAILED' || e.apiId === 'CLUSTER_AUTHORIZATION_FAILED')) return 'auth';
  if (all.some((e) => e.apiId === 'UNKNOWN_TOPIC_OR_PARTITION' || e.apiId === 'UNKNOWN_TOPIC_ID' || /^Unknown topic /.test(e.message ?? ''))) return 'missing-topic';
  if (all.some((e) => e.apiId === 'PRODUCER_FENCED' || e.apiId === 'INVALID_PRODUCER_EPOCH' || e.apiId === 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED')) return 'fenced';
  if (all.some((e) => e.code === 'PLT_KFK_NETWORK' || e.code === 'ECONNREFUSED' || e.code === 'ECONNRESET' || e.code === 'PLT_KFK_TIMEOUT' || e.message === 'Cannot connect to any broker.')) return 'unreachable';
  return 'other';
}

/** The innermost useful message (a broker's error id, or the socket error). */
function rootDetail(err: unknown): string {
  const all = flatten(err);
  const proto = all.find((e) => e.apiId !== undefined);
  if (proto) return `${proto.apiId}${proto.message ? `: ${proto.message}` : ''}`;
  const last = all[all.length - 1];
  return last?.message ?? String(err);
}

/** One line naming what failed, where, and the root cause. */
export function describeKafkaError(err: unknown, what: string, o: KafkaConnectionOptions, topic?: string): string {
  const where = o.brokers.join(',');
  switch (classifyKafkaError(err)) {
    case 'auth':
      return `${what}: authentication failed at ${where}${o.sasl ? ` (SASL ${o.sasl.mechanism}, user '${o.sasl.username}')` : ''}: ${rootDetail(err)}`;
    case 'missing-topic':
      return `${what}: topic${topic === undefined ? '' : ` '${topic}'`} does not exist on ${where}`;
    case 'unreachable':
      return `${what}: cannot reach Kafka brokers ${where}: ${rootDetail(err)}`;
    case 'fenced':
      return `${what}: producer fenced (another producer uses the same transactional id, or the transaction timed out): ${rootDetail(err)}`;
    default:
      return `${what}: ${rootDetail(err)}`;
  }
}

/** A ConfigError with the one-line description (for failures at start). */
export function kafkaStartError(err: unknown, what: string, o: KafkaConnectionOptions, topic?: string): ConfigError {
  return new ConfigError(describeKafkaError(err, what, o, topic), { cause: err });
}

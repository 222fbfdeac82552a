/**
 * The NATS client libraries (@nats-io/transport-node, @nats-io/jetstream), imported on
 * first use: a job without a NATS source or sink never loads them (as the Kafka client,
 * kafka/kafka-client.ts). natsConnect() awaits loadNatsClient() before it connects; the
 * code after a connection gets the modules from natsClient().
 */
import type * as TransportModule from '@nats-io/transport-node';
import type * as JetStreamModule from '@nats-io/jetstream';

export interface NatsClient {
  readonly transport: typeof TransportModule;
  readonly jetstream: typeof JetStreamModule;
}

let loaded: NatsClient | undefined;
let loading: Promise<NatsClient> | undefined;

/** Loads both libraries (once per thread). */
export async function loadNatsClient(): Promise<NatsClient> {
  loaded ??= await (loading ??= Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]).then(([transport, jetstream]) => ({ transport, jetstream })));
  return loaded;
}

/** The libraries, already loaded by loadNatsClient(). */
export function natsClient(): NatsClient {
  if (loaded === undefined) throw new Error('internal: the NATS client is used before loadNatsClient()');
  return loaded;
}

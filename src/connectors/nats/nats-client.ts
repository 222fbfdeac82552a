/**
 * The NATS client libraries (@nats-io/transport-node, @nats-io/jetstream), imported on
 * first use: a job without a NATS source or sink never loads them (as the Kafka client,
 * kafka/kafka-client.ts). natsConnect() awaits loadNatsClient() before it connects; the
 * code after a connection gets the modules from natsClient().
 */
import type * as TransportModule from '@nats-io/transport-node';
import type * as JetStreamModule from '@nats-io/jetstream';
import { lazyModule } from '../../util/lazy-module.ts';

export interface NatsClient {
  readonly transport: typeof TransportModule;
  readonly jetstream: typeof JetStreamModule;
}

const client = lazyModule<NatsClient>(
  async () => {
    const [transport, jetstream] = await Promise.all([import('@nats-io/transport-node'), import('@nats-io/jetstream')]);
    return { transport, jetstream };
  },
  'the NATS client',
);

/** Loads both libraries (once per thread). */
export const loadNatsClient = (): Promise<NatsClient> => client.load();

/** The libraries, already loaded by loadNatsClient(). */
export const natsClient = (): NatsClient => client.get();

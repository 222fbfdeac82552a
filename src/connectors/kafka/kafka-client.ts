/**
 * The Kafka client library (@platformatic/kafka), imported on first use: a job that reads
 * or writes no Kafka topic never loads it. Importing it costs ~0.6 s of CPU, paid before
 * by every `weir run`, every worker thread and every program importing 'weir'.
 * KafkaSource.createReader and KafkaSink.createWriter await loadKafkaClient() before they
 * build anything; the code after that gets the module from kafkaClient().
 */
import type * as KafkaClientModule from '@platformatic/kafka';
import { lazyModule } from '../../util/lazy-module.ts';

export type KafkaClient = typeof KafkaClientModule;

const client = lazyModule<KafkaClient>(() => import('@platformatic/kafka'), 'the Kafka client library');

/** Loads the library (once per thread). */
export const loadKafkaClient = (): Promise<KafkaClient> => client.load();

/** The library, already loaded by loadKafkaClient(). */
export const kafkaClient = (): KafkaClient => client.get();

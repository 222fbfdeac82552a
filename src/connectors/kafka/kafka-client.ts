/**
 * The Kafka client library (@platformatic/kafka), imported on first use: a job that reads
 * or writes no Kafka topic never loads it. Importing it costs ~0.6 s of CPU, paid before
 * by every `weir run`, every worker thread and every program importing 'weir'.
 * KafkaSource.createReader and KafkaSink.createWriter await loadKafkaClient() before they
 * build anything; the code after that gets the module from kafkaClient().
 */
import type * as KafkaClientModule from '@platformatic/kafka';

export type KafkaClient = typeof KafkaClientModule;

let loaded: KafkaClient | undefined;
let loading: Promise<KafkaClient> | undefined;

/** Loads the library (once per thread). */
export async function loadKafkaClient(): Promise<KafkaClient> {
  loaded ??= await (loading ??= import('@platformatic/kafka'));
  return loaded;
}

/** The library, already loaded by loadKafkaClient(). */
export function kafkaClient(): KafkaClient {
  if (loaded === undefined) throw new Error('internal: the Kafka client library is used before loadKafkaClient()');
  return loaded;
}

/** Built-in sources and sinks. */
export { GeneratorSource, type GeneratorSourceOptions } from './generator-source.ts';
export { FileSource } from './file-source.ts';
export { CollectSink, PrintSink } from './collect-sink.ts';
export { FileSink, type FileSinkOptions } from './file-sink.ts';
export * from './nexmark/index.ts';
export { KafkaSource, kafkaDeserializers, partitionOwner, type KafkaSourceOptions, type KafkaRecordView } from './kafka/kafka-source.ts';
export type { KafkaConnectionOptions, KafkaSasl } from './kafka/client-options.ts';
export { KafkaSink, type KafkaSinkOptions, type KafkaSinkRecord } from './kafka/kafka-sink.ts';
export { NatsSource, natsDeserializers, type NatsSourceOptions, type NatsMessageView } from './nats/nats-source.ts';
export { NatsSink, type NatsSinkOptions, type NatsSinkRecord } from './nats/nats-sink.ts';
export type { NatsConnectionOptions } from './nats/nats-connection.ts';

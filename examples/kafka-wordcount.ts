/**
 * Word count from Kafka to Kafka, exactly once.
 *
 *   npx weir run examples/kafka-wordcount.ts --checkpoints ckpt --checkpoint-interval 1s \
 *     --state-backend lsm -- --brokers 127.0.0.1:9092 --input lines --output counts
 *
 * Reads text lines from the input topic (every partition, offsets in the checkpoint),
 * splits them into lowercase words, keys by word, keeps the count in a ValueState
 * (countWords, shared with examples/wordcount.ts), and
 * writes {"word": w, "count": c} for every word through the exactly-once Kafka sink
 * (one transaction per subtask and checkpoint, committed when the checkpoint completes).
 * A read_committed consumer of the output topic sees, for every word, counts 1..n once.
 * With `--bounded` the job stops at the input's end offsets found at its first start.
 */
import { parseArgs } from 'node:util';
import { KafkaSink, KafkaSource, kafkaDeserializers, type StreamEnvironment } from '../src/index.ts';
import { countWords, type WordCount } from './wordcount.ts';

export default function kafkaWordcount(env: StreamEnvironment, args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      brokers: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      bounded: { type: 'boolean', default: false },
      'txn-prefix': { type: 'string', default: 'weir-kafka-wordcount' },
    },
  });
  if (!values.brokers || !values.input || !values.output) throw new Error('usage: weir run examples/kafka-wordcount.ts -- --brokers H:P --input TOPIC --output TOPIC [--bounded]');
  const brokers = values.brokers.split(',');
  const lines = env
    .fromSource(new KafkaSource({ brokers, topics: [values.input], deserialize: kafkaDeserializers.string, bounded: values.bounded, groupId: 'weir-kafka-wordcount' }))
    .uid('lines');
  countWords(lines)
    .sinkTo(new KafkaSink<WordCount>({
      brokers,
      topic: values.output,
      guarantee: 'exactly-once',
      transactionalIdPrefix: values['txn-prefix'],
      serialize: (r) => ({ key: r.word, value: JSON.stringify(r) }),
    }))
    .uid('kafka-out');
}

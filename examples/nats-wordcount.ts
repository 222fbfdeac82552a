/**
 * Word count from a NATS JetStream stream to a subject, exactly once (within the output
 * stream's duplicate window).
 *
 *   npx weir run examples/nats-wordcount.ts --checkpoints ckpt --checkpoint-interval 1s \
 *     --state-backend lsm -- --servers 127.0.0.1:4222 --input lines --output counts
 *
 * Reads the input stream in order (the stream sequence is in the checkpoint), counts
 * words as examples/wordcount.ts does (countWords: a ValueState per word),
 * and publishes {"word": w, "count": c} to the output subject
 * when the checkpoint holding the count completes, each message with a Nats-Msg-Id
 * (job prefix, subtask, checkpoint, index) so a re-publish after a restore is dropped
 * by the stream as a duplicate.
 */
import { parseArgs } from 'node:util';
import { NatsSink, NatsSource, natsDeserializers, type StreamEnvironment } from '../src/index.ts';
import { countWords, type WordCount } from './wordcount.ts';

export default function natsWordcount(env: StreamEnvironment, args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      servers: { type: 'string' },
      input: { type: 'string' },
      output: { type: 'string' },
      user: { type: 'string' },
      pass: { type: 'string' },
      bounded: { type: 'boolean', default: false },
      'id-prefix': { type: 'string', default: 'weir-nats-wordcount' },
    },
  });
  if (!values.servers || !values.input || !values.output) throw new Error('usage: weir run examples/nats-wordcount.ts -- --servers H:P --input STREAM --output SUBJECT [--bounded]');
  const conn = { servers: values.servers.split(','), ...(values.user ? { user: values.user } : {}), ...(values.pass ? { pass: values.pass } : {}) };
  const lines = env
    .fromSource(new NatsSource({ ...conn, stream: values.input, deserialize: natsDeserializers.string, bounded: values.bounded }))
    .uid('lines');
  countWords(lines)
    .sinkTo(new NatsSink<WordCount>({ ...conn, subject: values.output, idPrefix: values['id-prefix'], serialize: (r) => ({ data: JSON.stringify(r) }) }))
    .uid('nats-out');
}

/**
 * Backpressure: a slow sink slows the source. Channels are bounded, so the records
 * read by the source but not yet written by the sink never exceed the buffers between
 * them (channel capacity plus one batch on each side), however slow the sink is.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamEnvironment, GeneratorSource, type JobHandle, type Sink, type SinkWriter } from '../../src/index.ts';

test('a slow sink bounds the records in flight', async () => {
  const capacity = 100;
  const batch = 50;
  const env = new StreamEnvironment({ parallelism: 1, channelCapacity: capacity, batchSize: batch });
  const box: { handle?: JobHandle } = {};
  let maxInFlight = 0;
  let written = 0;
  let pending: Promise<void> | undefined;
  const slowSink: Sink<number> = {
    name: 'slow',
    createWriter(): SinkWriter<number> {
      return {
        write() {
          written++;
          const m = box.handle!.progress().metrics;
          maxInFlight = Math.max(maxInFlight, m.recordsIn - m.recordsOut);
          // Every 10th record the sink needs an event-loop turn (a slow write).
          if (written % 10 === 0) pending = new Promise((r) => setTimeout(r, 1)).then(() => void (pending = undefined));
        },
        backpressure: () => pending,
      };
    },
  };
  env
    .fromSource(new GeneratorSource({ generate: (i) => i, count: 3000 }))
    .keyBy((i) => i % 7) // a network edge (channel) between source and sink
    .reduce((a, b) => a + b)
    .sinkTo(slowSink);
  box.handle = await env.start('backpressure');
  await box.handle.done;
  assert.equal(written, 3000);
  // Without backpressure the fast source would read all 3000 records at once.
  assert.ok(maxInFlight <= capacity + 2 * batch, `max records in flight ${maxInFlight} > ${capacity + 2 * batch}`);
  assert.ok(maxInFlight > 0);
});

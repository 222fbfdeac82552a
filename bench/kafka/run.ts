/**
 * Kafka source → keyed count → exactly-once Kafka sink, against the same pipeline
 * written with the raw client alone (the limit: @platformatic/kafka's consumer stream,
 * a Map of counts, one transactional producer committing every checkpoint interval — no
 * state backend, no checkpoints, no recovery), on a real broker (scripts/kafka-broker.sh).
 *
 *   throughput   N records pre-produced into a 4-partition topic; each pipeline reads
 *                them all and commits its output; records/s = N / wall time, and
 *                N / time from its counting step's first record to the end (without
 *                the start: weir's job start, the raw consumer's group join).
 *   latency      records produced at a fixed rate; each output record carries its input's
 *                send time; latency = when a read_committed consumer receives the output
 *                − the send time (p50/p99). Exactly-once output is visible only after the
 *                commit, so latency ≈ the commit (checkpoint) interval for both.
 *
 * Runs alternate (weir, raw, weir, raw, …) in one process; medians and ratios reported.
 *
 *   npm run bench:kafka                       # human table
 *   npm run bench:kafka -- --json             # one JSON object
 *   npm run bench:kafka -- --records 300000 --rounds 3 --interval 1000
 *   npm run bench:kafka -- --clients [--json]  # the Kafka clients side by side (clients.ts)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { KafkaSink, KafkaSource, StreamEnvironment, kafkaDeserializers } from '../../src/index.ts';
import { startKafka, type KafkaBroker } from '../../test/connectors/support/kafka-broker.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    records: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '2' },
    interval: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '8' },
    clients: { type: 'boolean', default: false },
    'clients-dir': { type: 'string' },
  },
});
const N = Number(args.records);
const ROUNDS = Number(args.rounds);
const INTERVAL = Number(args.interval);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const PARTITIONS = 4;
const VOCAB = Array.from({ length: 1000 }, (_, i) => `w${i}`);

let topicSeq = 0;
const fresh = async (kafka: KafkaBroker, base: string): Promise<string> => {
  const t = `${base}-${topicSeq++}`;
  await kafka.createTopic(t, PARTITIONS);
  return t;
};

async function produceBacklog(kafka: KafkaBroker, topic: string, n: number): Promise<void> {
  const p = new Producer({ clientId: 'bench-in', bootstrapBrokers: kafka.brokers, serializers: stringSerializers });
  try {
    for (let i = 0; i < n; i += 5000) {
      const messages = Array.from({ length: Math.min(5000, n - i) }, (_, k) => ({ topic, value: `${VOCAB[(i + k) * 7919 % VOCAB.length]}|0`, partition: (i + k) % PARTITIONS }));
      await p.send({ messages, acks: -1 });
    }
  } finally {
    await p.close();
  }
}

interface Run { recordsPerSec: number; ms: number; steadyRecordsPerSec: number }

/** A pipeline being run: `firstRecordAt()` is when its counting step saw its first record (performance.now(), 0 before). */
interface Pipeline { stop: () => Promise<void>; done: Promise<unknown>; firstRecordAt: () => number }

/** weir: KafkaSource (bounded unless `stopAfter`) → keyBy → ValueState count → exactly-once KafkaSink. */
async function weirPipeline(kafka: KafkaBroker, input: string, output: string, bounded: boolean): Promise<Pipeline> {
  let first = 0;
  const dir = mkdtempSync(join(tmpdir(), 'weir-bench-kafka-'));
  const env = new StreamEnvironment({ checkpoints: join(dir, 'ckpt'), stateDir: join(dir, 'state'), checkpointInterval: INTERVAL, stateBackend: 'lsm', parallelism: 1 });
  env
    .fromSource(new KafkaSource({ brokers: kafka.brokers, topics: [input], deserialize: kafkaDeserializers.string, bounded, fetchMaxWaitMs: 20 }))
    .uid('in')
    .keyBy((v) => v.slice(0, v.indexOf('|')))
    .process<string>({
      processElement(v, ctx, out) {
        if (first === 0) first = performance.now();
        const c = ctx.getValueState<number>('c');
        const n = (c.value() ?? 0) + 1;
        c.update(n);
        out.collect(`${v}|${n}`);
      },
    })
    .uid('count')
    .sinkTo(new KafkaSink<string>({ brokers: kafka.brokers, topic: output, guarantee: 'exactly-once', transactionalIdPrefix: `bench-${output}`, serialize: (s) => ({ value: s }) }))
    .uid('out');
  const handle = await env.start(`bench-${output}`);
  const done = handle.done.finally(() => rmSync(dir, { recursive: true, force: true }));
  return { stop: async () => { handle.cancel(); await done.catch(() => undefined); }, done, firstRecordAt: () => first };
}

/** Raw client: consume → Map count → transactional producer, committed every INTERVAL ms (timer). Stops after `n` records (or stop()). */
async function rawPipeline(kafka: KafkaBroker, input: string, output: string, n: number | undefined): Promise<Pipeline> {
  let first = 0;
  const consumer = new Consumer({ clientId: 'bench-raw', groupId: `raw-${output}`, bootstrapBrokers: kafka.brokers, deserializers: stringDeserializers, maxWaitTime: 20 });
  const producer = new Producer({ clientId: 'bench-raw-out', bootstrapBrokers: kafka.brokers, serializers: stringSerializers, idempotent: true, transactionalId: `raw-${output}`, timeout: 60_000 });
  const counts = new Map<string, number>();
  let stopped = false;
  const stream = await consumer.consume({ topics: [input], mode: 'earliest', autocommit: false, isolationLevel: 1 } as never);
  const done = (async () => {
    let tx = await producer.beginTransaction();
    let batch: { topic: string; value: string }[] = [];
    let seen = 0;
    // Sends and commits run one at a time (one transactional producer); a timer commits
    // every INTERVAL even when no record arrives, as weir's checkpoint timer does.
    let chain: Promise<void> = Promise.resolve();
    const flush = (commit: boolean): Promise<void> => (chain = chain.then(async () => {
      const messages = batch;
      batch = [];
      if (messages.length > 0) await tx.send({ messages });
      if (commit) {
        await tx.commit();
        tx = await producer.beginTransaction();
      }
    }));
    let timerError: Error | undefined;
    const timer = setInterval(() => { flush(true).catch((err: unknown) => { timerError ??= err instanceof Error ? err : new Error(String(err)); }); }, INTERVAL);
    try {
      for await (const m of stream as AsyncIterable<{ value: string }>) {
        if (first === 0) first = performance.now();
        const v = m.value;
        const w = v.slice(0, v.indexOf('|'));
        const c = (counts.get(w) ?? 0) + 1;
        counts.set(w, c);
        batch.push({ topic: output, value: `${v}|${c}` });
        seen++;
        if (batch.length >= 1000) await flush(false);
        if (timerError !== undefined) throw timerError;
        if ((n !== undefined && seen >= n) || stopped) break;
      }
    } finally {
      clearInterval(timer);
    }
    await flush(true);
    await tx.abort().catch(() => undefined);
  })().finally(async () => {
    await stream.close().catch(() => undefined);
    await new Promise<void>((resolve) => consumer.close(true, () => resolve()));
    await producer.close().catch(() => undefined);
  });
  // Closing the stream ends the for-await loop even when no record comes any more.
  return { stop: async () => { stopped = true; await stream.close().catch(() => undefined); await done.catch(() => undefined); }, done, firstRecordAt: () => first };
}

async function throughputRun(kafka: KafkaBroker, kind: 'weir' | 'raw', input: string): Promise<Run> {
  const output = await fresh(kafka, `tp-out-${kind}`);
  const t0 = performance.now();
  const p = kind === 'weir' ? await weirPipeline(kafka, input, output, true) : await rawPipeline(kafka, input, output, N);
  await p.done;
  const end = performance.now();
  const ms = end - t0;
  return { ms, recordsPerSec: (N / ms) * 1000, steadyRecordsPerSec: (N / (end - p.firstRecordAt())) * 1000 };
}

/** Produces at RATE for SECONDS (value "word|sendTime"); returns latencies (ms) seen by a read_committed reader of `output`. */
async function latencyRun(kafka: KafkaBroker, kind: 'weir' | 'raw'): Promise<number[]> {
  const input = await fresh(kafka, `lat-in-${kind}`);
  const output = await fresh(kafka, `lat-out-${kind}`);
  const total = RATE * SECONDS;
  const lat: number[] = [];
  // read_committed (the broker serves up to the last stable offset; the bench aborts nothing).
  const reader = new Consumer({ clientId: 'bench-lat', groupId: `lat-${output}`, bootstrapBrokers: kafka.brokers, deserializers: stringDeserializers, maxWaitTime: 10, isolationLevel: 1 });
  const readStream = await reader.consume({ topics: [output], mode: 'earliest', autocommit: false } as never);
  const reading = (async () => {
    for await (const m of readStream as AsyncIterable<{ value: string }>) lat.push(Date.now() - Number(m.value.split('|')[1]));
  })().catch(() => undefined);
  const p = kind === 'weir' ? await weirPipeline(kafka, input, output, false) : await rawPipeline(kafka, input, output, undefined);
  const prod = new Producer({ clientId: 'bench-lat-in', bootstrapBrokers: kafka.brokers, serializers: stringSerializers });
  const t0 = Date.now();
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) / 1000) * RATE));
    if (due > sent) {
      const now = Date.now();
      await prod.send({ messages: Array.from({ length: due - sent }, (_, i) => ({ topic: input, value: `${VOCAB[(sent + i) % VOCAB.length]}|${now}`, partition: (sent + i) % PARTITIONS })) });
      sent = due;
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  await prod.close();
  const deadline = Date.now() + 60_000;
  while (lat.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await p.stop();
  await readStream.close().catch(() => undefined);
  await reading;
  await new Promise<void>((resolve) => reader.close(true, () => resolve()));
  if (lat.length < total) throw new Error(`${kind}: only ${lat.length}/${total} outputs within 60 s`);
  return lat;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const pct = (xs: number[], p: number): number => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(s.length * p))]!; };

async function main(): Promise<void> {
  const kafka = await startKafka();
  try {
    const input = await fresh(kafka, 'tp-in');
    await produceBacklog(kafka, input, N);
    const tp: Record<'weir' | 'raw', number[]> = { weir: [], raw: [] };
    const steady: Record<'weir' | 'raw', number[]> = { weir: [], raw: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const kind of ['weir', 'raw'] as const) {
        const run = await throughputRun(kafka, kind, input);
        tp[kind].push(run.recordsPerSec);
        steady[kind].push(run.steadyRecordsPerSec);
      }
    }
    const lat: Record<'weir' | 'raw', { p50: number; p99: number }[]> = { weir: [], raw: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const kind of ['weir', 'raw'] as const) {
        const l = await latencyRun(kafka, kind);
        lat[kind].push({ p50: pct(l, 0.5), p99: pct(l, 0.99) });
      }
    }
    const row = (kind: 'weir' | 'raw') => ({
      recordsPerSec: Math.round(median(tp[kind])),
      steadyRecordsPerSec: Math.round(median(steady[kind])),
      latencyP50Ms: median(lat[kind].map((x) => x.p50)),
      latencyP99Ms: median(lat[kind].map((x) => x.p99)),
      runs: { recordsPerSec: tp[kind].map(Math.round), steadyRecordsPerSec: steady[kind].map(Math.round), latency: lat[kind] },
    });
    const weir = row('weir');
    const raw = row('raw');
    const result = {
      records: N, rounds: ROUNDS, commitIntervalMs: INTERVAL, latencyRate: RATE, latencySeconds: SECONDS, partitions: PARTITIONS,
      weir, raw,
      ratio: { throughput: +(weir.recordsPerSec / raw.recordsPerSec).toFixed(2), steadyThroughput: +(weir.steadyRecordsPerSec / raw.steadyRecordsPerSec).toFixed(2), latencyP50: +(weir.latencyP50Ms / raw.latencyP50Ms).toFixed(2), latencyP99: +(weir.latencyP99Ms / raw.latencyP99Ms).toFixed(2) },
    };
    if (args.json) {
      console.log(JSON.stringify(result));
    } else {
      console.log(`Kafka source → keyed count → exactly-once sink; ${N} records, commit every ${INTERVAL} ms, ${ROUNDS} alternating rounds (medians)`);
      console.log('pipeline        records/s   after 1st record   latency p50   latency p99');
      for (const [name, r] of [['weir (lsm)', weir], ['raw client', raw]] as const) {
        console.log(`${name.padEnd(14)} ${String(r.recordsPerSec).padStart(10)}   ${String(r.steadyRecordsPerSec).padStart(16)}   ${String(r.latencyP50Ms).padStart(8)} ms   ${String(r.latencyP99Ms).padStart(8)} ms`);
      }
      console.log(`weir / raw: throughput ${result.ratio.throughput}x (after the first record ${result.ratio.steadyThroughput}x), latency p50 ${result.ratio.latencyP50}x, p99 ${result.ratio.latencyP99}x`);
    }
  } finally {
    await kafka.destroy();
  }
}

// `--clients`: the client comparison (bench/kafka/clients.ts) instead of the pipeline bench.
if (args.clients) await import('./clients.ts');
else await main();

/**
 * Kafka clients for Node side by side on this machine, against the project's broker
 * (scripts/kafka-broker.sh): @platformatic/kafka (weir's client), kafkajs and
 * @confluentinc/kafka-javascript (librdkafka, through its KafkaJS-compatible API).
 *
 *   produce   N small records (16-byte values, no key) into a fresh 4-partition topic,
 *             acks=all, batches of 1,000 with up to 4 batches in flight; records/s =
 *             N / time until the last batch is acknowledged.
 *   consume   the same topic from the earliest offset with a fresh consumer group;
 *             records/s = N / time from the first record to the N-th (the start
 *             before the first record — group join, first fetch — is reported apart:
 *             `firstRecordMs`, and the rate from the consumer's start:
 *             `consumeWithJoinRecordsPerSec`).
 *
 * Rounds alternate the clients (the order rotates every round); medians and the ratio
 * to @platformatic/kafka are reported. kafkajs and the Confluent client are not project
 * dependencies: `bash bench/kafka/install-clients.sh` puts them in ~/.cache/weir/kafka-clients
 * (why: see that script). A client that is not installed or fails is reported with the
 * reason, the others still run.
 *
 *   npm run bench:kafka -- --clients                    # human table
 *   npm run bench:kafka -- --clients --json             # one JSON object
 *   node --import tsx bench/kafka/clients.ts --records 200000 --rounds 3
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Consumer, Producer, stringDeserializers, stringSerializers } from '@platformatic/kafka';
import { startKafka, type KafkaBroker } from '../../test/connectors/support/kafka-broker.ts';

const { values: args } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== '--clients'),
  options: {
    json: { type: 'boolean', default: false },
    records: { type: 'string', default: '200000' },
    rounds: { type: 'string', default: '3' },
    'clients-dir': { type: 'string', default: join(homedir(), '.cache', 'weir', 'kafka-clients') },
  },
});
const N = Number(args.records);
const ROUNDS = Number(args.rounds);
const PARTITIONS = 4;
const BATCH = 1000;
const IN_FLIGHT = 4;
/** Bound of one produce or consume phase. */
const PHASE_MS = 180_000;
const value = (i: number): string => `r${String(i).padStart(15, '0')}`;

interface Client {
  readonly name: string;
  readonly version: string;
  produce(brokers: string[], topic: string): Promise<void>;
  /** Resolves with the time of the first record and of the N-th (performance.now()). */
  consume(brokers: string[], topic: string): Promise<{ first: number; last: number }>;
}

/** Sends N records in batches, at most IN_FLIGHT batches outstanding. */
async function sendAll(send: (messages: { value: string; partition: number }[]) => Promise<unknown>): Promise<void> {
  const inFlight = new Set<Promise<unknown>>();
  for (let i = 0; i < N; i += BATCH) {
    const messages = Array.from({ length: Math.min(BATCH, N - i) }, (_, k) => ({ value: value(i + k), partition: (i + k) % PARTITIONS }));
    const p: Promise<unknown> = send(messages).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
}

function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took more than ${PHASE_MS / 1000} s`)), PHASE_MS)))]).finally(() => clearTimeout(timer));
}

// ---------------------------------------------------------------- @platformatic/kafka
const platformatic: Client = {
  name: '@platformatic/kafka',
  // (its exports map hides package.json from require.resolve)
  version: (JSON.parse(readFileSync(new URL('../../node_modules/@platformatic/kafka/package.json', import.meta.url), 'utf8')) as { version: string }).version,
  async produce(brokers, topic) {
    const p = new Producer({ clientId: 'bench-clients', bootstrapBrokers: brokers, serializers: stringSerializers });
    try {
      await sendAll((messages) => p.send({ messages: messages.map((m) => ({ topic, ...m })), acks: -1 }));
    } finally {
      await p.close();
    }
  },
  async consume(brokers, topic) {
    const c = new Consumer({ clientId: 'bench-clients', groupId: `bench-${topic}`, bootstrapBrokers: brokers, deserializers: stringDeserializers, maxWaitTime: 100 });
    const stream = await c.consume({ topics: [topic], mode: 'earliest', autocommit: false } as never);
    let first = 0;
    let n = 0;
    try {
      for await (const _ of stream as AsyncIterable<unknown>) {
        if (n++ === 0) first = performance.now();
        if (n >= N) break;
      }
      return { first, last: performance.now() };
    } finally {
      await stream.close().catch(() => undefined);
      await new Promise<void>((resolve) => c.close(true, () => resolve()));
    }
  },
};

// ---------------------------------------------------------------- KafkaJS API (kafkajs, and Confluent's compatible one)
interface KjsProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(r: { topic: string; acks?: number; messages: { value: string; partition: number }[] }): Promise<unknown>;
}
interface KjsConsumer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  subscribe(s: { topics: string[]; fromBeginning?: boolean }): Promise<void>;
  run(r: { eachBatch: (p: { batch: { messages: unknown[] } }) => Promise<void> }): Promise<void>;
}
interface KjsKafka {
  producer(config?: object): KjsProducer;
  consumer(config: object): KjsConsumer;
}
type KafkaCtor = new (config: object) => KjsKafka;

/** A client with the KafkaJS API; `cfg` adapts the config shapes (Confluent nests KafkaJS options under `kafkaJS`). */
function kafkaJsClient(name: string, version: string, Kafka: KafkaCtor, confluent: boolean): Client {
  const wrap = (o: object, extra: object = {}): object => (confluent ? { kafkaJS: o, ...extra } : o);
  return {
    name,
    version,
    async produce(brokers, topic) {
      const kafka = new Kafka(wrap({ clientId: 'bench-clients', brokers, logLevel: 0 }));
      const p = kafka.producer(confluent ? wrap({ acks: -1 }) : {});
      await p.connect();
      try {
        await sendAll((messages) => p.send({ topic, messages, ...(confluent ? {} : { acks: -1 }) }));
      } finally {
        await p.disconnect();
      }
    },
    async consume(brokers, topic) {
      const kafka = new Kafka(wrap({ clientId: 'bench-clients', brokers, logLevel: 0 }));
      const c = kafka.consumer(confluent
        ? wrap({ groupId: `bench-${topic}`, fromBeginning: true, autoCommit: false }, { 'js.consumer.max.batch.size': -1 })
        : { groupId: `bench-${topic}`, maxWaitTimeInMs: 100 });
      await c.connect();
      try {
        await c.subscribe({ topics: [topic], ...(confluent ? {} : { fromBeginning: true }) });
        let first = 0;
        let n = 0;
        return await new Promise<{ first: number; last: number }>((resolve, reject) => {
          c.run({
            eachBatch: async ({ batch }) => {
              if (n === 0 && batch.messages.length > 0) first = performance.now();
              n += batch.messages.length;
              if (n >= N) resolve({ first, last: performance.now() });
              await Promise.resolve();
            },
          }).catch(reject);
        });
      } finally {
        await c.disconnect();
      }
    },
  };
}

/** Loads kafkajs and the Confluent client from the bench's own directory; what is missing becomes a reason. */
function optionalClients(dir: string): { clients: Client[]; missing: { name: string; reason: string }[] } {
  const clients: Client[] = [];
  const missing: { name: string; reason: string }[] = [];
  const req = createRequire(join(dir, 'package.json'));
  const versionOf = (pkg: string): string => (JSON.parse(readFileSync(join(dir, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  const hint = `not installed in ${dir}: run bash bench/kafka/install-clients.sh`;
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] = '1';
  for (const [name, load] of [
    ['kafkajs', () => kafkaJsClient('kafkajs', versionOf('kafkajs'), (req('kafkajs') as { Kafka: KafkaCtor }).Kafka, false)],
    ['@confluentinc/kafka-javascript', () => kafkaJsClient('@confluentinc/kafka-javascript', versionOf('@confluentinc/kafka-javascript'), (req('@confluentinc/kafka-javascript') as { KafkaJS: { Kafka: KafkaCtor } }).KafkaJS.Kafka, true)],
  ] as const) {
    if (!existsSync(join(dir, 'node_modules', name, 'package.json'))) {
      missing.push({ name, reason: hint });
      continue;
    }
    try {
      clients.push(load());
    } catch (err) {
      missing.push({ name, reason: `cannot load: ${(err as Error).message.split('\n')[0]}` });
    }
  }
  return { clients, missing };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

interface Runs { produce: number[]; consume: number[]; consumeWithJoin: number[]; firstRecordMs: number[]; errors: string[] }

async function main(): Promise<void> {
  const { clients: others, missing } = optionalClients(args['clients-dir']);
  const clients = [platformatic, ...others];
  const runs = new Map<string, Runs>(clients.map((c) => [c.name, { produce: [], consume: [], consumeWithJoin: [], firstRecordMs: [], errors: [] }]));
  const kafka: KafkaBroker = await startKafka();
  try {
    let seq = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < clients.length; k++) {
        const c = clients[(k + round) % clients.length]!;
        const r = runs.get(c.name)!;
        const topic = `clients-${seq++}`;
        await kafka.createTopic(topic, PARTITIONS);
        try {
          const t0 = performance.now();
          await withTimeout(c.produce(kafka.brokers, topic), `${c.name} produce`);
          r.produce.push((N / (performance.now() - t0)) * 1000);
          const t1 = performance.now();
          const { first, last } = await withTimeout(c.consume(kafka.brokers, topic), `${c.name} consume`);
          r.consume.push((N / Math.max(1, last - first)) * 1000);
          r.firstRecordMs.push(first - t1);
          r.consumeWithJoin.push((N / (last - t1)) * 1000);
        } catch (err) {
          r.errors.push((err as Error).message.split('\n')[0]!);
        }
        if (!args.json) process.stderr.write(`round ${round + 1}/${ROUNDS} ${c.name}: ${r.errors.length ? r.errors.at(-1) : `produce ${Math.round(r.produce.at(-1)!)} rec/s, consume ${Math.round(r.consume.at(-1)!)} rec/s`}\n`);
      }
    }
  } finally {
    await kafka.destroy();
  }
  const base = runs.get(platformatic.name)!;
  const rows = clients.map((c) => {
    const r = runs.get(c.name)!;
    const produce = Math.round(median(r.produce));
    const consume = Math.round(median(r.consume));
    return {
      client: c.name, version: c.version,
      produceRecordsPerSec: produce, consumeRecordsPerSec: consume, consumeWithJoinRecordsPerSec: Math.round(median(r.consumeWithJoin)), firstRecordMs: Math.round(median(r.firstRecordMs)),
      ratioToPlatformatic: { produce: +(produce / median(base.produce)).toFixed(2), consume: +(consume / median(base.consume)).toFixed(2), consumeWithJoin: +(median(r.consumeWithJoin) / median(base.consumeWithJoin)).toFixed(2) },
      runs: { produce: r.produce.map(Math.round), consume: r.consume.map(Math.round), consumeWithJoin: r.consumeWithJoin.map(Math.round) },
      errors: r.errors,
    };
  });
  const result = { records: N, valueBytes: 16, partitions: PARTITIONS, batch: BATCH, inFlight: IN_FLIGHT, rounds: ROUNDS, node: process.version, clients: rows, notInstalled: missing };
  if (args.json) {
    console.log(JSON.stringify(result));
    return;
  }
  console.log(`Kafka clients: ${N} records of 16 bytes, 4 partitions, acks=all, batches of ${BATCH} (${IN_FLIGHT} in flight); ${ROUNDS} alternating rounds (medians)`);
  console.log('client                                   produce rec/s   consume rec/s   first record   consume from start   vs platformatic (produce, consume, from start)');
  for (const r of rows) {
    console.log(`${`${r.client} ${r.version}`.padEnd(40)} ${String(r.produceRecordsPerSec).padStart(13)}   ${String(r.consumeRecordsPerSec).padStart(13)}   ${String(r.firstRecordMs).padStart(9)} ms   ${String(r.consumeWithJoinRecordsPerSec).padStart(12)} rec/s   ${r.ratioToPlatformatic.produce}x, ${r.ratioToPlatformatic.consume}x, ${r.ratioToPlatformatic.consumeWithJoin}x${r.errors.length ? `  errors: ${r.errors.join('; ')}` : ''}`);
  }
  for (const m of missing) console.log(`${m.name}: ${m.reason}`);
}

await main();

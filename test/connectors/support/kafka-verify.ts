/**
 * Independent checks of what a topic holds, with the Apache Kafka Java consumer
 * (support/ReadCommitted.java, compiled against the broker's kafka-clients jar): the
 * reference read_committed implementation, so the test does not trust weir's own reader.
 * (kafkajs 2.2.4 was tried first: its read_committed returned records of transactions
 * aborted by fencing, i.e. it is not a usable judge.)
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Producer } from '@platformatic/kafka';

const run = promisify(execFile);
const LIBS = join(process.env['WEIR_CACHE_DIR'] ?? join(process.env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'weir'), `kafka-${process.env['WEIR_KAFKA_VERSION'] ?? '4.4.0'}`, 'libs');
let classes: string | undefined;

async function compiled(): Promise<string> {
  if (classes) return classes;
  const dir = mkdtempSync(join(tmpdir(), 'weir-readcommitted-'));
  try {
    await run('javac', ['-cp', `${LIBS}/*`, '-d', dir, join(import.meta.dirname, 'ReadCommitted.java')], { timeout: 120_000 });
  } catch (err) {
    throw new Error(`cannot compile the Java read_committed checker (javac and ${LIBS} needed): ${(err as { stderr?: string }).stderr ?? String(err)}`);
  }
  return (classes = dir);
}

/** Every committed record of `topic` by "partition:offset" (read_committed, up to the last stable offsets). */
export async function readCommittedByOffset(brokers: string[], topic: string): Promise<Map<string, string>> {
  const cp = `${await compiled()}:${LIBS}/*`;
  const { stdout } = await run('java', ['-cp', cp, 'ReadCommitted', brokers.join(','), topic, '180000'], { timeout: 240_000, maxBuffer: 1 << 30 });
  const out = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const tab = line.indexOf('\t');
    out.set(line.slice(0, tab), line.slice(tab + 1));
  }
  return out;
}

export async function readCommitted(brokers: string[], topic: string): Promise<string[]> {
  return [...(await readCommittedByOffset(brokers, topic)).values()];
}

/** Produces `lines` to `topic` round-robin over `partitions`, acks=all, in batches. */
export async function produceLines(brokers: string[], topic: string, lines: readonly string[], partitions: number): Promise<void> {
  // Idempotent: a retried request must not write its lines twice (the expected counts assume each once).
  const p = new Producer({ clientId: 'weir-test-input', bootstrapBrokers: brokers, idempotent: true });
  try {
    for (let i = 0; i < lines.length; i += 5000) {
      const messages = lines.slice(i, i + 5000).map((l, k) => ({ topic, value: Buffer.from(l), partition: (i + k) % partitions }));
      await p.send({ messages, acks: -1 });
    }
  } finally {
    await p.close();
  }
}

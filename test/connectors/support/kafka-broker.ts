/**
 * Starts a real single-node Kafka broker for a test through scripts/kafka-broker.sh
 * (jars from Maven Central, cached). Throws with the script's reason when Java, Maven
 * or the jars are missing: Kafka tests fail, they never skip.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Admin } from '@platformatic/kafka';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', '..', '..', 'scripts', 'kafka-broker.sh');

export interface KafkaBroker {
  readonly dir: string;
  readonly port: number;
  readonly brokers: string[];
  /** The SASL_PLAINTEXT listener (PLAIN, user weir / weir-secret). */
  readonly saslBrokers: string[];
  stop(): Promise<void>;
  /** Starts it again in the same directory and on the same port (topics and data kept). */
  start(): Promise<void>;
  createTopic(name: string, partitions: number): Promise<void>;
  /** Stops the broker and deletes its directory. */
  destroy(): Promise<void>;
}

async function script(args: string[], timeoutMs: number): Promise<string> {
  try {
    const { stdout } = await run('bash', [SCRIPT, ...args], { timeout: timeoutMs, maxBuffer: 1 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`kafka broker (scripts/kafka-broker.sh ${args[0]}) failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

export async function startKafka(): Promise<KafkaBroker> {
  await script(['fetch'], 600_000);
  const dir = await mkdtemp(join(tmpdir(), 'weir-kafka-'));
  const out = await script(['start', dir], 180_000);
  const m = /port=(\d+) sasl_port=(\d+)/.exec(out);
  if (!m) throw new Error(`kafka broker: unexpected start output: ${out}`);
  const port = Number(m[1]);
  const brokers = [`127.0.0.1:${port}`];
  const broker: KafkaBroker = {
    dir,
    port,
    brokers,
    saslBrokers: [`127.0.0.1:${m[2]}`],
    stop: async () => { await script(['stop', dir], 60_000); },
    start: async () => { await script(['start', dir, String(port)], 180_000); },
    createTopic: async (name, partitions) => {
      const admin = new Admin({ clientId: 'weir-test-admin', bootstrapBrokers: brokers });
      try {
        await admin.createTopics({ topics: [name], partitions, replicas: 1 });
        // Bounded wait until every partition has a leader.
        for (let i = 0; i < 100; i++) {
          const md = await admin.metadata({ topics: [name], forceUpdate: true }).catch(() => undefined);
          const t = md?.topics.get(name);
          if (t && t.partitionsCount === partitions && t.partitions.every((p) => p.leader >= 0)) return;
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`topic ${name} has no leaders after 10 s`);
      } finally {
        await admin.close();
      }
    },
    destroy: async () => {
      await broker.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return broker;
}

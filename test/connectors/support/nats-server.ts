/**
 * Starts Debian's `nats-server -js` for a test through scripts/nats-server.sh (127.0.0.1,
 * free port, user weir / weir-secret). Throws with the script's reason when nats-server
 * is missing: NATS tests fail, they never skip.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect, type NatsConnection } from '@nats-io/transport-node';

const run = promisify(execFile);
const SCRIPT = join(import.meta.dirname, '..', '..', '..', 'scripts', 'nats-server.sh');

export interface NatsServer {
  readonly servers: string[];
  readonly auth: { user: string; pass: string };
  stop(): Promise<void>;
  /** Same directory (JetStream store kept) and port. */
  start(): Promise<void>;
  connect(): Promise<NatsConnection>;
  destroy(): Promise<void>;
}

async function script(args: string[]): Promise<string> {
  try {
    return (await run('bash', [SCRIPT, ...args], { timeout: 120_000 })).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`nats server (scripts/nats-server.sh ${args[0]}) failed: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

export async function startNats(): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'weir-nats-'));
  const out = await script(['start', dir]);
  const m = /port=(\d+)/.exec(out);
  if (!m) throw new Error(`nats server: unexpected start output: ${out}`);
  const servers = [`127.0.0.1:${m[1]}`];
  const auth = { user: 'weir', pass: 'weir-secret' };
  const s: NatsServer = {
    servers,
    auth,
    stop: async () => { await script(['stop', dir]); },
    start: async () => { await script(['start', dir, m[1]!]); },
    // waitOnFirstConnect: right after a restart the server may take a moment to accept
    // connections (CI saw 'connection refused' once); the client retries until `timeout`.
    connect: () => connect({ servers, ...auth, waitOnFirstConnect: true, timeout: 20_000 }),
    destroy: async () => {
      await s.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return s;
}

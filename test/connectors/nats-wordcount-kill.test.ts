/**
 * End to end against a real `nats-server -js`: `weir run examples/nats-wordcount.ts`
 * (JetStream source → words → keyed count in the lsm backend → de-duplicating JetStream
 * sink) SIGKILLed several times — usually mid-checkpoint — and resumed with
 * `--resume latest`, at parallelism 2 then 3. Every kill lands before the end of input
 * (the output stream is still incomplete right after it). The output stream must then
 * hold, for every word, exactly the counts 1..n, each once, and nothing else.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { rng } from '../../scripts/crash-lib.ts';
import { startNats, type NatsServer } from './support/nats-server.ts';
import { makeLines, runJob, tally } from './support/run-job.ts';

let nats: NatsServer;
before(async () => { nats = await startNats(); });
after(async () => { await nats?.destroy(); });

async function streamMessages(name: string): Promise<number> {
  const nc = await nats.connect();
  try {
    return (await (await jetstreamManager(nc)).streams.info(name)).state.messages;
  } finally {
    await nc.close();
  }
}

async function readStream(name: string): Promise<string[]> {
  const nc = await nats.connect();
  try {
    const js = jetstream(nc);
    const last = (await (await jetstreamManager(nc)).streams.info(name)).state.last_seq;
    const c = await js.consumers.get(name);
    const out: string[] = [];
    for (let guard = 0, seq = 0; seq < last && guard < 100_000; guard++) {
      for await (const m of await c.fetch({ max_messages: 2000, expires: 2000 })) {
        out.push(m.string());
        seq = m.seq;
      }
    }
    return out;
  } finally {
    await nc.close();
  }
}

test('nats wordcount: SIGKILLs mid-checkpoint, resume latest, parallelism 2 then 3: output stream exactly once', { timeout: 1_200_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-nats-e2e-'));
  try {
    const random = rng(2727);
    const nc = await nats.connect();
    const { lines, expected, totalWords } = makeLines(150_000, random);
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'lines', subjects: ['lines'] });
      await jsm.streams.add({ name: 'counts', subjects: ['counts'], duplicate_window: 10 * 60 * 1e9 });
      const js = jetstream(nc);
      for (let i = 0; i < lines.length; i += 1000) await Promise.all(lines.slice(i, i + 1000).map((l) => js.publish('lines', l)));
    } finally {
      await nc.close();
    }
    const jobDir = join(dir, 'checkpoints', 'nats-wordcount');
    const args = (parallelism: number) => [
      '--checkpoints', join(dir, 'checkpoints'), '--state-dir', join(dir, 'state'), '--checkpoint-interval', '300ms',
      '--parallelism', String(parallelism), '--no-progress', '--state-backend', 'lsm', '--incremental', 'true', '--resume', 'latest',
      '--', '--servers', nats.servers.join(','), '--user', nats.auth.user, '--pass', nats.auth.pass, '--input', 'lines', '--output', 'counts', '--bounded',
    ];
    let kills = 0;
    for (const p of [2, 2, 2, 3]) {
      const r = await runJob('examples/nats-wordcount.ts', args(p), jobDir, { checkpoints: 1 + Math.floor(random() * 2), extraMs: Math.floor(random() * 150) });
      assert.equal(r.signal, 'SIGKILL', `run at parallelism ${p} was to be killed but ended by itself:\n${r.stderr}`);
      kills++;
      const stored = await streamMessages('counts');
      assert.ok(stored < totalWords, `kill ${kills} landed after the end of input (${stored}/${totalWords} published)`);
    }
    const final = await runJob('examples/nats-wordcount.ts', args(3), jobDir, undefined);
    assert.equal(final.code, 0, `final run failed:\n${final.stderr}`);
    const values = await readStream('counts');
    assert.equal(values.length, totalWords, 'messages in the output stream = words in the input');
    const got = tally(values);
    assert.deepEqual([...got.keys()].sort(), [...expected.keys()].sort());
    for (const [word, n] of expected) assert.deepEqual(got.get(word), Array.from({ length: n }, (_, i) => i + 1), `word ${word}: counts are not exactly 1..${n}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

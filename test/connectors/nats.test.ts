/**
 * NATS JetStream source and sink against a real `nats-server -js` (scripts/nats-server.sh):
 * the stream sequence in state and an exact resume, one-line start errors, a server
 * stopped and restarted under a running reader, and the sink's de-duplication of a
 * re-published checkpoint epoch (Nats-Msg-Id).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { NatsSink, NatsSource, natsDeserializers, partitionProgress, type SourceReader } from '../../src/index.ts';
import { systemClock } from '../../src/util/clock.ts';
import { ConfigError, UserFunctionError } from '../../src/util/errors.ts';
import { startNats, type NatsServer } from './support/nats-server.ts';

let nats: NatsServer;
before(async () => { nats = await startNats(); });
after(async () => { await nats?.destroy(); });

async function createStream(name: string, subjects: string[]): Promise<void> {
  const nc = await nats.connect();
  try {
    await (await jetstreamManager(nc)).streams.add({ name, subjects });
  } finally {
    await nc.close();
  }
}

async function publish(subject: string, values: string[]): Promise<void> {
  const nc = await nats.connect();
  try {
    const js = jetstream(nc);
    for (const v of values) await js.publish(subject, v);
  } finally {
    await nc.close();
  }
}

export async function streamValues(name: string): Promise<string[]> {
  const nc = await nats.connect();
  try {
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const last = (await jsm.streams.info(name)).state.last_seq;
    const out: string[] = [];
    if (last === 0) return out;
    const c = await js.consumers.get(name);
    for (let guard = 0; guard < 100_000; guard++) {
      const msgs = await c.fetch({ max_messages: 1000, expires: 1000 });
      let lastSeq = 0;
      for await (const m of msgs) {
        out.push(m.string());
        lastSeq = m.seq;
      }
      if (lastSeq >= last) break;
    }
    return out;
  } finally {
    await nc.close();
  }
}

const ctx = (restoredState?: unknown[]) => ({ subtaskIndex: 0, parallelism: 1, clock: systemClock, restoredState });

async function pollUntil<T>(r: SourceReader<T>, out: T[], count: number, timeoutMs = 60_000): Promise<'end' | 'count'> {
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    if (Date.now() > deadline) throw new Error(`timed out with ${out.length}/${count}`);
    const res = r.poll({ collect: (v) => out.push(v) }, 100);
    if (res === 'end') return 'end';
    if (res !== 'more') await res;
  }
  return 'count';
}

test('nats source: stream sequence in state, restore resumes exactly; bounded mode ends', async () => {
  await createStream('src1', ['src1.>']);
  await publish('src1.a', Array.from({ length: 300 }, (_, i) => `m${i}`));
  const src = new NatsSource({ servers: nats.servers, ...nats.auth, stream: 'src1', deserialize: natsDeserializers.string, bounded: true });
  const r1 = await src.createReader(ctx());
  const first: string[] = [];
  let state: unknown[];
  try {
    await pollUntil(r1, first, 120);
    state = r1.snapshotState(1);
  } finally {
    await r1.close?.();
  }
  const rest: string[] = [];
  const r2 = await src.createReader(ctx(state));
  try {
    assert.equal(await pollUntil(r2, rest, 10_000), 'end');
  } finally {
    await r2.close?.();
  }
  const cut = (state[0] as { next: number }).next - 1;
  assert.deepEqual([...first.slice(0, cut), ...rest], Array.from({ length: 300 }, (_, i) => `m${i}`));
});

test('nats source: its progress row (stream sequence, pending) for the dashboard and /metrics; lag 0 once read', async () => {
  await createStream('prog', ['prog.>']);
  await publish('prog.a', Array.from({ length: 1000 }, (_, i) => `m${i}`));
  const src = new NatsSource({ servers: nats.servers, ...nats.auth, stream: 'prog', deserialize: natsDeserializers.string, name: 'prog-src', batch: 500 });
  const r = await src.createReader(ctx());
  const got: string[] = [];
  const row = () => partitionProgress.rows().filter((x) => x.source === 'prog-src');
  try {
    await pollUntil(r, got, 100);
    // One fetch of 500 so far: 100 emitted, 400 queued, 500 pending on the server.
    assert.deepEqual(row(), [{ source: 'prog-src', subtask: 0, topic: 'prog', partition: 0, offset: 101, logEnd: 1001, lag: 900 }]);
    await pollUntil(r, got, 1000);
    assert.equal(got.length, 1000);
    assert.deepEqual(row(), [{ source: 'prog-src', subtask: 0, topic: 'prog', partition: 0, offset: 1001, logEnd: 1001, lag: 0 }]);
  } finally {
    await r.close?.();
  }
  assert.deepEqual(row(), [], 'a closed reader removes its row');
});

test('nats: one-line errors at start for a server that is down, a missing stream, bad credentials', async () => {
  const cases: [object, RegExp][] = [
    [{ servers: ['127.0.0.1:1'], ...nats.auth, stream: 'src1' }, /^nats source nats-source: cannot reach NATS at 127\.0\.0\.1:1: /],
    [{ servers: nats.servers, ...nats.auth, stream: 'nope' }, /^nats source nats-source: stream 'nope' does not exist on 127\.0\.0\.1:\d+$/],
    [{ servers: nats.servers, user: 'weir', pass: 'wrong', stream: 'src1' }, /^nats source nats-source: authentication failed at 127\.0\.0\.1:\d+ \(user 'weir'\): /],
  ];
  for (const [opts, re] of cases) {
    const err = await new NatsSource({ ...opts, deserialize: natsDeserializers.string, timeoutMs: 3000 } as never).createReader(ctx()).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ConfigError, `ConfigError for ${JSON.stringify(opts)}: ${String(err)}`);
    assert.match(err.message, re);
    assert.ok(!err.message.includes('\n'));
  }
  const sinkErr = await new NatsSink({ servers: nats.servers, ...nats.auth, subject: 'nobody.listens', idPrefix: 'x', serialize: (v: string) => ({ data: v }) })
    .createWriter({ subtaskIndex: 0, parallelism: 1, clock: systemClock, checkpointingEnabled: true, restoredState: undefined })
    .then(() => undefined, (e: unknown) => e);
  assert.ok(sinkErr instanceof ConfigError);
  assert.match(sinkErr.message, /^nats sink nats-sink: no stream captures subject 'nobody\.listens'/);
});

test('nats source: the server stopped and restarted under a running reader: retries, then every message once', async () => {
  await createStream('out1', ['out1']);
  await publish('out1', Array.from({ length: 50 }, (_, i) => `o${i}`));
  const logs: string[] = [];
  const r = await new NatsSource({ servers: nats.servers, ...nats.auth, stream: 'out1', deserialize: natsDeserializers.string, log: (l) => logs.push(l) }).createReader(ctx());
  const got: string[] = [];
  try {
    await pollUntil(r, got, 50);
    await nats.stop();
    const downUntil = Date.now() + 3000;
    while (Date.now() < downUntil) {
      const res = r.poll({ collect: (v) => got.push(v) }, 100);
      if (res !== 'more' && res !== 'end') await Promise.race([res, new Promise((ok) => setTimeout(ok, 1500))]);
    }
    await nats.start();
    await publish('out1', Array.from({ length: 50 }, (_, i) => `o${50 + i}`));
    await pollUntil(r, got, 100, 120_000);
  } finally {
    // Also when the test fails: a reader left open reconnects forever and keeps this file's
    // process alive after its last test (the runner then waits for it until its timeout).
    await r.close?.();
  }
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => `o${i}`));
});

test('nats sink: records are published when their checkpoint completes; a restore re-publishes them and the stream drops the duplicates', async () => {
  await createStream('sinkout', ['sinkout']);
  const sink = new NatsSink({ servers: nats.servers, ...nats.auth, subject: 'sinkout', idPrefix: 'job1', serialize: (v: string) => ({ data: v }) });
  const sctx = (restoredState?: unknown[]) => ({ subtaskIndex: 0, parallelism: 1, clock: systemClock, checkpointingEnabled: true, restoredState });
  const w = await sink.createWriter(sctx());
  for (let i = 0; i < 100; i++) w.write(`r${i}`, undefined);
  const snap = w.snapshotState!(5);
  assert.deepEqual(await streamValues('sinkout'), [], 'nothing published before the checkpoint completes');
  await w.notifyCheckpointComplete!(5);
  await w.close?.();
  // A crash after the commit: the restore of checkpoint 5 publishes its epoch again.
  const w2 = await sink.createWriter(sctx(snap.items));
  await w2.close?.();
  assert.deepEqual(await streamValues('sinkout'), Array.from({ length: 100 }, (_, i) => `r${i}`));
});

test('nats source: close() with a fetch in flight while the server is away returns at once (it waited for the reconnect, forever)', async () => {
  const own = await startNats();
  try {
    const nc = await own.connect();
    await (await jetstreamManager(nc)).streams.add({ name: 'away', subjects: ['away'] });
    await nc.close();
    const r = await new NatsSource({ servers: own.servers, ...own.auth, stream: 'away', deserialize: natsDeserializers.string }).createReader(ctx());
    const res = r.poll({ collect: () => undefined }, 100);
    assert.ok(res !== 'more' && res !== 'end', 'a fetch is in flight (nothing to emit yet)');
    await own.stop();
    const t0 = Date.now();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      r.close!(),
      new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('close() still waiting after 20 s')), 20_000); }),
    ]).finally(() => clearTimeout(timer));
    assert.ok(Date.now() - t0 < 5000, `close() took ${Date.now() - t0} ms`);
  } finally {
    await own.destroy();
  }
});

test('nats source: a deserializer that throws fails with a UserFunctionError naming the source, subtask, stream sequence and payload', async () => {
  await createStream('bad', ['bad.>']);
  await publish('bad.x', ['{"ok":1}', '{"ok":']);
  const src = new NatsSource({ name: 'events', servers: nats.servers, ...nats.auth, stream: 'bad', deserialize: natsDeserializers.json, bounded: true });
  const r = await src.createReader(ctx());
  const out: unknown[] = [];
  try {
    const err = await pollUntil(r, out, 1_000_000).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof UserFunctionError, `expected a UserFunctionError, got ${String(err)}`);
    assert.deepEqual(out, [{ ok: 1 }], 'the message before the malformed one was emitted');
    assert.equal(err.operator, 'events');
    assert.equal(err.fn, 'deserialize function');
    assert.match(err.error, /^SyntaxError: /);
    assert.equal(err.record, 'stream bad sequence 2 (subject bad.x), value "{\\"ok\\":" (6 bytes)');
  } finally {
    await r.close?.();
  }
});

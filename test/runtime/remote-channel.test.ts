/**
 * The cross-thread channel's two halves (src/runtime/slots/remote-channel.ts) over a real
 * MessagePort pair: elements arrive in order with their timestamps (batches with and
 * without timestamps, control elements between them), a drain stops where the sink says
 * and where `max` says and the next drain goes on from there, and credit-based flow
 * control stops the producer at `capacity` records in flight until the consumer drains
 * (control elements neither wait for credit nor return any).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MessageChannel } from 'node:worker_threads';
import { PeerLink } from '../../src/runtime/slots/remote-channel.ts';
import { Barrier, ControlElement, END, Watermark } from '../../src/runtime/elements.ts';
import { Signal } from '../../src/runtime/signal.ts';

function pair(capacity: number) {
  const { port1, port2 } = new MessageChannel();
  const a = new PeerLink(port1);
  const b = new PeerLink(port2);
  const out = a.producer(3, 'ch', capacity);
  const input = b.consumer(3, 'ch', capacity);
  const signal = new Signal();
  input.setConsumerSignal(signal);
  return { out, input, signal, a, close: () => (a.close(), b.close()) };
}

type Got = [unknown, number | undefined];

/** Drains until `n` elements arrived (bounded), `max` at a time. */
async function take(input: ReturnType<typeof pair>['input'], signal: Signal, n: number, max = 1000): Promise<Got[]> {
  const got: Got[] = [];
  const deadline = Date.now() + 10_000;
  while (got.length < n) {
    if (Date.now() > deadline) throw new Error(`got ${got.length} of ${n} elements`);
    if (input.size() === 0) {
      await Promise.race([signal.wait(), new Promise((r) => setTimeout(r, 50))]);
      continue;
    }
    input.drain((v, t) => (got.push([v, t]), true), Math.min(max, n - got.length));
  }
  return got;
}

test('records in order with their timestamps, batches with and without timestamps, control elements between', async (t) => {
  const { out, input, signal, close } = pair(64); // batches of 16
  t.after(close);
  const sent: Got[] = [];
  for (let i = 0; i < 40; i++) {
    // records 0..19 without timestamps; 20..39 every third with one (a batch mixing both)
    const t = i >= 20 && i % 3 === 0 ? 1000 + i : undefined;
    out.pushRecord({ i }, t);
    sent.push([{ i }, t]);
    if (i === 9) {
      const b = new Barrier(7, 99, 'checkpoint');
      out.pushControl(b);
      sent.push([b, undefined]);
    }
  }
  out.flush();
  out.pushControl(new Watermark(5));
  out.pushControl(END);
  const got = await take(input, signal, sent.length + 2, 7);
  for (let k = 0; k < sent.length; k++) {
    const [v, t] = got[k]!;
    if (sent[k]![0] instanceof ControlElement) {
      assert.ok(v instanceof Barrier && v.checkpointId === 7, `element ${k}: ${String(v)}`);
    } else assert.deepEqual(v, sent[k]![0], `element ${k}`);
    assert.equal(t, sent[k]![1], `timestamp of element ${k}`);
  }
  assert.ok(got[sent.length]![0] instanceof Watermark);
  assert.equal(got[sent.length + 1]![0], END);
  assert.equal(input.size(), 0);
});

test('a drain stops after the element the sink refused; the next drain goes on from the next one', async (t) => {
  const { out, input, signal, close } = pair(64);
  t.after(close);
  for (let i = 0; i < 30; i++) out.pushRecord(i, i % 2 === 0 ? i : undefined);
  out.flush();
  while (input.size() < 30) await Promise.race([signal.wait(), new Promise((r) => setTimeout(r, 20))]);
  const first: Got[] = [];
  assert.equal(input.drain((v, t) => (first.push([v, t]), first.length < 20), 100), 20, 'stops after the 20th (crossing batches of 16)');
  assert.equal(input.size(), 10);
  const rest: Got[] = [];
  assert.equal(input.drain((v, t) => (rest.push([v, t]), true), 100), 10);
  assert.deepEqual([...first, ...rest], Array.from({ length: 30 }, (_, i) => [i, i % 2 === 0 ? i : undefined]));
});

test('credit: the producer stops at capacity records in flight and goes on as the consumer drains', async (t) => {
  const capacity = 32;
  const { out, input, signal, close } = pair(capacity);
  t.after(close);
  let pushed = 0;
  const total = 500;
  const producer = (async () => {
    while (pushed < total) {
      if (!out.hasCapacity()) {
        await out.waitCapacity();
        continue;
      }
      out.pushRecord(pushed++, undefined);
    }
    out.flush();
  })();
  // Nothing drained: the producer must stop at `capacity`.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(pushed, capacity, 'records pushed before any credit came back');
  const got = await take(input, signal, total, 10);
  await producer;
  assert.deepEqual(got.map((g) => g[0]), Array.from({ length: total }, (_, i) => i));
});

test('control elements take no credit and return none: after draining records and barriers the producer again has exactly capacity', async (t) => {
  const capacity = 32;
  const { out, input, signal, close } = pair(capacity);
  t.after(close);
  for (let i = 0; i < capacity; i++) out.pushRecord(i, undefined);
  assert.equal(out.hasCapacity(), false);
  for (let k = 0; k < 10; k++) out.pushControl(new Barrier(k + 1, 0, 'checkpoint')); // never waits for credit
  await take(input, signal, capacity + 10);
  // Credit arrives in messages: push as it comes (bounded), then give any excess credit time to show.
  let pushed = 0;
  const deadline = Date.now() + 10_000;
  while (pushed < capacity && Date.now() < deadline) {
    while (out.hasCapacity() && pushed < 1000) out.pushRecord(pushed++, undefined);
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 200));
  while (out.hasCapacity() && pushed < 1000) out.pushRecord(pushed++, undefined);
  assert.equal(pushed, capacity, 'records the producer may send again');
});

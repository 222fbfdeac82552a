import { test } from 'node:test';
import assert from 'node:assert/strict';
import { limitConcurrency } from '../../src/storage/concurrency.ts';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

test('never more than n tasks in flight; queued tasks start in FIFO order as slots free', async () => {
  const limit = limitConcurrency(2);
  const gates = Array.from({ length: 5 }, () => deferred());
  const started: number[] = [];
  let active = 0;
  let maxActive = 0;
  const results = gates.map((g, i) =>
    limit(async () => {
      started.push(i);
      active++;
      maxActive = Math.max(maxActive, active);
      await g.promise;
      active--;
      return i * 10;
    }),
  );
  await tick();
  assert.deepEqual(started, [0, 1]);
  assert.deepEqual(limit.stats(), { active: 2, pending: 3 });
  gates[1]!.resolve();
  await tick();
  assert.deepEqual(started, [0, 1, 2]);
  gates[0]!.resolve();
  await tick();
  assert.deepEqual(started, [0, 1, 2, 3]);
  for (const g of gates) g.resolve();
  assert.deepEqual(await Promise.all(results), [0, 10, 20, 30, 40]);
  assert.equal(maxActive, 2);
  assert.deepEqual(limit.stats(), { active: 0, pending: 0 });
});

test('a rejected or synchronously throwing task frees its slot and rejects only its own promise', async () => {
  const limit = limitConcurrency(1);
  const a = limit(async () => {
    throw new Error('async boom');
  });
  const b = limit((): Promise<number> => {
    throw new Error('sync boom');
  });
  const c = limit(async () => 'ok');
  await assert.rejects(a, /async boom/);
  await assert.rejects(b, /sync boom/);
  assert.equal(await c, 'ok');
  assert.deepEqual(limit.stats(), { active: 0, pending: 0 });
});

test('the limit must be a positive integer', () => {
  assert.throws(() => limitConcurrency(0));
  assert.throws(() => limitConcurrency(1.5));
});

import { test } from 'node:test';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { FaultInjectingStorage, seededRandom } from '../../src/storage/fault-injecting-storage.ts';
import type { StorageOp } from '../../src/storage/fault-injecting-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { ManualClock } from '../../src/util/clock.ts';
import { ConfigError, CorruptionError, NotFoundError, PermanentStorageError, TransientStorageError } from '../../src/util/errors.ts';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

async function outcomes(seed: number, n: number): Promise<string> {
  const s = new FaultInjectingStorage(new MemoryStorage(), { seed, failureRate: 0.3 });
  let out = '';
  for (let i = 0; i < n; i++) {
    try {
      await s.write(`k/${i}`, bytes('v'));
      out += '.';
    } catch (err) {
      assert.ok(err instanceof TransientStorageError);
      out += 'x';
    }
  }
  return out;
}

test('random failures: deterministic per seed, about the configured rate, counted', async () => {
  const a = await outcomes(7, 200);
  assert.equal(await outcomes(7, 200), a, 'same seed, same schedule');
  assert.notEqual(await outcomes(8, 200), a, 'another seed, another schedule');
  const failures = [...a].filter((c) => c === 'x').length;
  assert.ok(failures > 30 && failures < 90, `~30% of 200, got ${failures}`);

  const s = new FaultInjectingStorage(new MemoryStorage(), { seed: 7, failureRate: 0.3 });
  for (let i = 0; i < 200; i++) await s.write(`k/${i}`, bytes('v')).catch(() => undefined);
  const c = s.counters();
  assert.equal(c.calls, 200);
  assert.equal(c.errors, failures);
  assert.equal(c.byOp.write, failures);
  assert.equal((await s.list('k/')).length, 200 - failures, 'failed writes left nothing');
});

test('only the selected ops fail; setEnabled(false) stops random faults', async () => {
  const s = new FaultInjectingStorage(new MemoryStorage(), { failureRate: 1, ops: ['read'] });
  await s.write('a', bytes('1'));
  await assert.rejects(s.read('a'), TransientStorageError);
  s.setEnabled(false);
  assert.deepEqual(await s.read('a'), bytes('1'));
  s.setEnabled(true);
  s.configure({ failureRate: 0 });
  assert.deepEqual(await s.read('a'), bytes('1'));
});

test('invalid paths are ConfigErrors even when every call would fail', async () => {
  const s = new FaultInjectingStorage(new MemoryStorage(), { failureRate: 1 });
  await assert.rejects(s.write('../x', bytes('1')), ConfigError);
  await assert.rejects(s.deletePrefix('a'), ConfigError);
  assert.equal(s.counters().errors, 0);
});

test('failNext: before (nothing happens), after (it happened, the ack is lost), partial (nothing visible)', async () => {
  const inner = new MemoryStorage();
  const s = new FaultInjectingStorage(inner);
  s.failNext('write', (p) => p.endsWith('_metadata'));
  await s.write('job/chk-1/data', bytes('d')); // does not match: goes through
  await assert.rejects(s.write('job/chk-1/_metadata', bytes('m')), TransientStorageError);
  assert.equal(await inner.stat('job/chk-1/_metadata'), undefined);

  const lost = new PermanentStorageError('ack lost');
  s.failNext('write', 'job/chk-2/_metadata', lost, 'after');
  await assert.rejects(s.write('job/chk-2/_metadata', bytes('m2')), (e: unknown) => e === lost);
  assert.deepEqual(await inner.read('job/chk-2/_metadata'), bytes('m2'), 'the write did happen');

  s.failNext('write', /chk-3/, undefined, 'partial');
  await assert.rejects(s.write('job/chk-3/_metadata', bytes('0123456789')), TransientStorageError);
  await assert.rejects(inner.read('job/chk-3/_metadata'), NotFoundError);

  s.failNext('delete');
  await assert.rejects(s.delete('job/chk-1/data'), TransientStorageError);
  assert.ok(await inner.stat('job/chk-1/data'));
  assert.equal(s.pendingFaults(), 0);
  assert.equal(s.counters().programmed, 4);
  assert.throws(() => s.failNext('read', () => true, undefined, 'partial'), /only applies to writes/);
});

test('latency and timeouts wait on the injected clock', async () => {
  const clock = new ManualClock(0);
  const inner = new MemoryStorage();
  const s = new FaultInjectingStorage(inner, { clock, latencyMs: 50 });
  let done = false;
  const p = s.write('a', bytes('1')).then(() => {
    done = true;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'still sleeping');
  clock.advance(49);
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false);
  clock.advance(1);
  await p;
  assert.equal(s.counters().delays, 1);

  // A timeout: with rng values chosen so the op is attempted underneath (< 0.5), the caller
  // still gets an error after timeoutMs: the ambiguous outcome of a real timeout.
  const values = [0.9, 0.1, 0.2]; // failure? no (0.9 >= 0); timeout? yes (0.1 < 0.5); happened? yes (0.2 < 0.5)
  const t = new FaultInjectingStorage(inner, { clock, timeoutRate: 0.5, timeoutMs: 1000, failureRate: 0.05, rng: () => values.shift() ?? 0.99 });
  const box: { settled?: unknown } = {};
  const q = t.write('b', bytes('2')).catch((e: unknown) => {
    box.settled = e;
  });
  await new Promise((r) => setImmediate(r));
  assert.equal('settled' in box, false, 'not settled before the timeout');
  clock.advance(1000);
  await q;
  assert.ok(box.settled instanceof TransientStorageError && /timeout/.test(box.settled.message));
  assert.deepEqual(await inner.read('b'), bytes('2'), 'the timed-out write happened underneath');
  assert.equal(t.counters().timeouts, 1);
});

test('seededRandom is uniform enough and reproducible', () => {
  const r1 = seededRandom(123);
  const r2 = seededRandom(123);
  const xs = Array.from({ length: 10_000 }, () => r1());
  assert.deepEqual(Array.from({ length: 10_000 }, () => r2()), xs);
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.02, `mean ${mean}`);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
});

test('counts faults per op across a mixed workload', async () => {
  const s = new FaultInjectingStorage(new MemoryStorage(), { seed: 3, failureRate: 0.5 });
  const ops: StorageOp[] = [];
  for (let i = 0; i < 50; i++) {
    await s.write(`x/${i}`, bytes('1')).catch(() => ops.push('write'));
    await s.stat(`x/${i}`).catch(() => ops.push('stat'));
  }
  const c = s.counters();
  assert.equal(c.byOp.write, ops.filter((o) => o === 'write').length);
  assert.equal(c.byOp.stat, ops.filter((o) => o === 'stat').length);
  assert.equal(c.errors, ops.length);
});

test('corruptNext: the next matching download gets one flipped byte; verification catches it; the stored object is intact', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weir-corrupt-'));
  try {
    const inner = new MemoryStorage({ name: 'c' });
    const s = new FaultInjectingStorage(inner);
    const data = bytes('0123456789');
    const written = await s.write('job/shared/x.sst', data);

    s.corruptNext('read', /x\.sst$/, 0);
    const bad = await s.read('job/shared/x.sst');
    assert.equal(bad[0], data[0]! ^ 0xff);
    assert.deepEqual(bad.subarray(1), data.subarray(1));
    assert.deepEqual(await s.read('job/shared/x.sst'), data, 'only the next read');

    s.corruptNext('readToFile', 'job/shared/x.sst');
    await assert.rejects(s.readToFile('job/shared/x.sst', join(dir, 'out'), written), (err: unknown) => {
      assert.ok(err instanceof CorruptionError);
      assert.equal(err.file, 'memory://c/job/shared/x.sst');
      return true;
    });
    await s.readToFile('job/shared/x.sst', join(dir, 'out'), written);
    assert.deepEqual(new Uint8Array(await readFile(join(dir, 'out'))), data);
    assert.equal(s.counters().corruptions, 2);
    assert.equal(s.pendingFaults(), 0);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

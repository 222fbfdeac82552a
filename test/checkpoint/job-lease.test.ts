/**
 * The job lease (src/checkpoint/job-lease.ts, issue 9 defect 3): one writer per job
 * directory. Against memory storage with an injected clock and pid liveness, and against
 * s3rver behind the fault proxy (s3rver ignores If-None-Match on PutObject: the lease
 * must still refuse a second holder, and it must send the header for stores that honour it).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { JobLease, JobLeaseError } from '../../src/checkpoint/job-lease.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { S3Storage } from '../../src/storage/s3-storage.ts';
import { ManualClock, systemClock } from '../../src/util/clock.ts';
import { AlreadyExistsError } from '../../src/util/errors.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';
import { FaultProxy } from '../storage/fault-proxy.ts';

const lease = (o: Partial<Parameters<typeof JobLease.acquire>[0]> & { storage: MemoryStorage | S3Storage; runId: string }) =>
  JobLease.acquire({ job: 'wc', clock: systemClock, host: 'h1', pid: 100, isAlive: () => true, ...o });

test('a second run on a held job directory fails in one line naming the holder; nothing of the holder changes', async () => {
  const storage = new MemoryStorage();
  const clock = new ManualClock(1_700_000_000_000);
  const a = await lease({ storage, clock, runId: 'aaaa0001' });
  const before = await storage.read('wc/_lease');
  await assert.rejects(lease({ storage, clock, runId: 'bbbb0002', pid: 200 }), (e: unknown) => {
    assert.ok(e instanceof JobLeaseError);
    assert.match(e.message, /job "wc" in memory:\/\/\S+ is in use by run aaaa0001 \(pid 100 on h1, started /);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
  assert.deepEqual(await storage.read('wc/_lease'), before);
  await a.verify();
  await a.release();
  assert.equal(await storage.stat('wc/_lease'), undefined, 'released: the lease is gone');
  const b = await lease({ storage, clock, runId: 'bbbb0002', pid: 200 });
  await b.release();
});

test('a lease whose pid is gone (same host) or whose heartbeat is older than its ttl is taken over; the old holder is fenced', async () => {
  const storage = new MemoryStorage();
  const clock = new ManualClock(1_700_000_000_000);
  const alive = new Set([100]);
  const a = await lease({ storage, clock, runId: 'aaaa0001', ttlMs: 30_000, isAlive: (p) => alive.has(p) });
  alive.delete(100); // process 100 was SIGKILLed
  const warnings: string[] = [];
  const b = await lease({ storage, clock, runId: 'bbbb0002', pid: 200, isAlive: (p) => alive.has(p) || p === 200, onWarning: (m) => warnings.push(m) });
  assert.match(warnings.join('\n'), /taking over the lease of run aaaa0001 \(pid 100 is not running\)/);
  await assert.rejects(a.verify(), /run aaaa0001 lost the lease of job "wc" to run bbbb0002/);
  await a.release(); // must not delete b's lease
  await b.verify();
  // another host: only the heartbeat tells; b renews every ttl/3 while it lives
  clock.advance(25_000);
  await new Promise((r) => setImmediate(r));
  await assert.rejects(lease({ storage, clock, runId: 'cccc0003', host: 'h2', pid: 300 }), JobLeaseError);
  await b.release();
  const c = await lease({ storage, clock, runId: 'cccc0003', host: 'h2', pid: 300 });
  // c on host h2 stops heart-beating (its clock is frozen for the holder: simulate by not advancing its timers)
  const d = lease({ storage, clock: new ManualClock(clock.now() + 31_000), runId: 'dddd0004', host: 'h1', pid: 400 });
  const taken = await d;
  await assert.rejects(c.verify(), /lost the lease/);
  await c.release();
  await taken.release();
});

let server: S3TestServer;
let proxy: FaultProxy;
let endpoint: string;
const storages: S3Storage[] = [];
before(async () => {
  server = await startS3Server();
  proxy = new FaultProxy(server.endpoint);
  endpoint = await proxy.start();
});
after(async () => {
  for (const s of storages) await s.close();
  await proxy?.stop();
  await server?.stop();
});

function s3(prefix: string): S3Storage {
  const s = new S3Storage({
    bucket: server.bucket, prefix, endpoint, region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey }, baseDelayMs: 5,
  });
  storages.push(s);
  return s;
}

test('S3 (s3rver): create sends If-None-Match: *, a 412 is AlreadyExistsError, and a second run is refused although s3rver ignores the header', async () => {
  const prefix = `lease/${randomBytes(4).toString('hex')}`;
  const a = await lease({ storage: s3(prefix), runId: 'aaaa0001' });
  const put = proxy.seen.find((r) => r.method === 'PUT' && /wc\/_lease/.test(r.url));
  assert.equal(put?.headers['if-none-match'], '*', 'the lease is created with If-None-Match: *');
  // A second process (its own S3 client) on the same prefix: refused, naming a.
  await assert.rejects(lease({ storage: s3(prefix), runId: 'bbbb0002', pid: 200 }), /is in use by run aaaa0001/);
  await a.verify();
  // A store that honours the header answers 412: that is AlreadyExistsError (emulated by the proxy).
  proxy.inject({ kind: 'status', status: 412, code: 'PreconditionFailed' }, { method: 'PUT', match: /other\/_lease/ });
  await assert.rejects(s3(prefix).create('other/_lease', new Uint8Array(3)), (e: unknown) => e instanceof AlreadyExistsError);
  await a.release();
  const b = await lease({ storage: s3(prefix), runId: 'bbbb0002', pid: 200 });
  await b.release();
});

/**
 * Issue 9, defect 6: integrity into S3. Against real s3rver behind the fault proxy:
 *  - on the wire, every PutObject and UploadPart carries x-amz-checksum-crc32c (base64 of
 *    the big-endian CRC-32C of exactly that body) as a plain header (no aws-chunked
 *    trailer), and CreateMultipartUpload declares CRC32C;
 *  - a byte flipped in flight (s3rver does not check checksums) is caught from the answer
 *    and the request is sent again; if every attempt is corrupted the write fails and no
 *    corrupted object stays under the name;
 *  - an lsm checkpoint whose upload is corrupted in flight is never reported complete
 *    with a corrupted object: it retries to an intact copy, or it is declined.
 */
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Storage } from '../../src/storage/s3-storage.ts';
import type { S3StorageOptions } from '../../src/storage/s3-storage.ts';
import { crc32cBase64 } from '../../src/storage/s3-integrity.ts';
import { createLsmBackend } from '../../src/state/lsm-backend.ts';
import type { Clock, TimerHandle } from '../../src/util/clock.ts';
import { crc32c, crc32cHex } from '../../src/util/crc32c.ts';
import { CheckpointDeclinedError, TransientStorageError } from '../../src/util/errors.ts';
import { startS3Server } from '../support/s3-server.ts';
import type { S3TestServer } from '../support/s3-server.ts';
import { makeEnv, writeKey } from '../state/keyed-state-contract.ts';
import { testBytes } from './contract.ts';
import { FaultProxy } from './fault-proxy.ts';

/** Backoff sleeps return at once. */
const noSleep: Clock = {
  now: () => 0,
  monotonic: () => 0,
  setTimeout: (fn: () => void): TimerHandle => {
    queueMicrotask(fn);
    return { cancel: () => undefined };
  },
  sleep: async () => undefined,
};

const PART = 5 * 1024 * 1024;
let server: S3TestServer;
let proxy: FaultProxy;
let endpoint: string;
let dir: string;
const storages: S3Storage[] = [];
let seq = 0;

before(async () => {
  server = await startS3Server();
  proxy = new FaultProxy(server.endpoint);
  endpoint = await proxy.start();
  dir = await mkdtemp(join(tmpdir(), 'weir-s3-integrity-'));
});
after(async () => {
  for (const s of storages) await s.close();
  await proxy?.stop();
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});
beforeEach(() => {
  proxy.clear();
  proxy.seen.length = 0;
});

function storage(extra: Partial<S3StorageOptions> = {}): S3Storage {
  const s = new S3Storage({
    bucket: server.bucket, prefix: `integrity-${++seq}`, endpoint, region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    partSize: PART, maxAttempts: 4, clock: noSleep, ...extra,
  });
  storages.push(s);
  return s;
}

const header = (h: Readonly<Record<string, string | string[] | undefined>>, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v.join(',') : v;
};

test('on the wire: PutObject and every UploadPart carry the CRC-32C of their body as a plain header; the multipart upload declares CRC32C', async () => {
  const s = storage();
  const small = testBytes(100_000, 3);
  await s.write('job/small', small);
  const big = testBytes(2 * PART + 12345, 4);
  const file = join(dir, 'big');
  await writeFile(file, big);
  const r = await s.writeFile('job/big', file);
  assert.equal(r.checksum, crc32cHex(crc32c(big)));

  const puts = proxy.seen.filter((q) => q.method === 'PUT');
  const single = puts.find((q) => q.url.includes('/job/small') && !q.url.includes('partNumber'));
  assert.ok(single, 'a PutObject for job/small');
  assert.equal(header(single.headers, 'x-amz-checksum-crc32c'), crc32cBase64(crc32c(small)));
  const parts = puts.filter((q) => q.url.includes('/job/big') && q.url.includes('partNumber='));
  assert.equal(parts.length, 3);
  for (const q of parts) {
    const n = Number(/partNumber=(\d+)/.exec(q.url)![1]);
    const body = big.subarray((n - 1) * PART, Math.min(big.length, n * PART));
    assert.equal(header(q.headers, 'x-amz-checksum-crc32c'), crc32cBase64(crc32c(body)), `part ${n}`);
  }
  for (const q of [single, ...parts]) {
    assert.doesNotMatch(header(q.headers, 'content-encoding') ?? '', /aws-chunked/, 'no aws-chunked body');
    assert.equal(header(q.headers, 'x-amz-trailer'), undefined, 'no trailing checksum');
    assert.equal(header(q.headers, 'x-amz-decoded-content-length'), undefined);
  }
  const create = proxy.seen.find((q) => q.method === 'POST' && q.url.includes('/job/big') && q.url.includes('uploads'));
  assert.ok(create, 'a CreateMultipartUpload');
  assert.equal(header(create.headers, 'x-amz-checksum-algorithm'), 'CRC32C');
  assert.deepEqual(new Uint8Array(await s.read('job/big')), big);
  assert.deepEqual(new Uint8Array(await s.read('job/small')), small);
  assert.ok(s.stats().verifiedByEtag >= 4, `s3rver answers are checked by their MD5 ETags: ${JSON.stringify(s.stats())}`);
});

test('a byte flipped in flight in a PutObject is caught and the object sent again; corrupted on every attempt, the write fails and leaves no object', async () => {
  const s = storage();
  const data = testBytes(300_000, 5);
  proxy.inject({ kind: 'flip-request-byte' }, { method: 'PUT', match: /\/job\/once/ });
  await s.write('job/once', data);
  assert.equal(proxy.seen.filter((q) => q.fault === 'flip-request-byte').length, 1, 'the flip happened');
  assert.equal(s.stats().corruptedUploads, 1);
  assert.deepEqual(new Uint8Array(await s.read('job/once')), data, 'the stored object is the intact retry');

  proxy.inject({ kind: 'flip-request-byte' }, { method: 'PUT', match: /\/job\/always/, times: 4 });
  await assert.rejects(s.write('job/always', data), (e: unknown) => e instanceof TransientStorageError && /MD5|corrupted/i.test(e.message));
  assert.equal(await s.stat('job/always'), undefined, 'no corrupted object stays under the name');
});

test('a byte flipped in flight in one UploadPart: that part is sent again and the object is intact', async () => {
  const s = storage();
  const big = testBytes(2 * PART + 999, 6);
  const file = join(dir, 'big2');
  await writeFile(file, big);
  proxy.inject({ kind: 'flip-request-byte' }, { method: 'PUT', match: /\/job\/mp.*partNumber=2/ });
  const r = await s.writeFile('job/mp', file);
  assert.equal(proxy.seen.filter((q) => q.fault === 'flip-request-byte').length, 1);
  assert.equal(proxy.seen.filter((q) => q.method === 'PUT' && /partNumber=2/.test(q.url)).length, 2, 'part 2 was sent twice');
  assert.equal(r.checksum, crc32cHex(crc32c(big)));
  assert.deepEqual(new Uint8Array(await s.read('job/mp')), big);
});

test('an lsm checkpoint whose sstable upload is corrupted in flight: completes only with intact objects, else is declined', async () => {
  const s = storage();
  const env = await makeEnv((o) => createLsmBackend({ ...o, storage: s, lsmOptions: { useWorker: false } }));
  try {
    const b = await env.open({ storage: s });
    for (let k = 0; k < 3000; k++) writeKey(b, k);
    proxy.inject({ kind: 'flip-request-byte' }, { method: 'PUT', match: /\/job\/shared\// });
    const h1 = await b.snapshot({ jobPath: 'job', checkpointId: 1, kind: 'checkpoint' }).done;
    assert.equal(proxy.seen.filter((q) => q.fault === 'flip-request-byte').length, 1, 'an sstable upload was corrupted in flight');
    assert.ok(h1.sharedFiles.length >= 1);
    for (const f of [...h1.sharedFiles, ...h1.privateFiles]) {
      assert.equal(crc32cHex(crc32c(await s.read(f.path))), f.checksum, `${f.path} in S3 is what the checkpoint says`);
    }
    b.notifyCheckpointComplete(1);
    for (let k = 3000; k < 6000; k++) writeKey(b, k);
    const before = (await s.list('job/')).map((o) => o.path).sort();
    proxy.inject({ kind: 'flip-request-byte' }, { method: 'PUT', match: /\/job\/shared\//, times: 4 });
    await assert.rejects(b.snapshot({ jobPath: 'job', checkpointId: 2, kind: 'checkpoint' }).done, CheckpointDeclinedError);
    assert.equal(proxy.seen.filter((q) => q.fault === 'flip-request-byte').length, 5, 'every attempt of checkpoint 2 was corrupted');
    assert.deepEqual((await s.list('job/')).map((o) => o.path).sort(), before, 'nothing of the declined checkpoint stays');
  } finally {
    await env.cleanup();
  }
});

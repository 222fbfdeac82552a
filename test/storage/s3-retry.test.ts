/**
 * S3Storage against real s3rver behind a fault-injecting proxy: transient failures are
 * retried with exponential backoff on the injected clock; permanent ones fail at once
 * with a clear message and no credentials in it.
 */
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Storage } from '../../src/storage/s3-storage.ts';
import type { S3StorageOptions } from '../../src/storage/s3-storage.ts';
import type { Clock, TimerHandle } from '../../src/util/clock.ts';
import { NotFoundError, PermanentStorageError, TransientStorageError } from '../../src/util/errors.ts';
import { startS3Server } from '../support/s3-server.ts';
import type { S3TestServer } from '../support/s3-server.ts';
import { testBytes } from './contract.ts';
import { FaultProxy } from './fault-proxy.ts';

/** Sleeps return at once and are recorded, so backoff is asserted without waiting. */
class RecordingClock implements Clock {
  readonly sleeps: number[] = [];
  now(): number {
    return 0;
  }
  monotonic(): number {
    return 0;
  }
  setTimeout(fn: () => void): TimerHandle {
    queueMicrotask(fn);
    return { cancel: () => undefined };
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
  }
}

let server: S3TestServer;
let proxy: FaultProxy;
let endpoint: string;
let clock: RecordingClock;
let dir: string;
const storages: S3Storage[] = [];
let seq = 0;

before(async () => {
  server = await startS3Server();
  proxy = new FaultProxy(server.endpoint);
  endpoint = await proxy.start();
  dir = await mkdtemp(join(tmpdir(), 'weir-s3-retry-'));
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
  clock = new RecordingClock();
});

function storage(options: Partial<S3StorageOptions> = {}): S3Storage {
  const s = new S3Storage({
    bucket: server.bucket,
    prefix: `retry/${++seq}`,
    endpoint,
    region: server.region,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
    partSize: 5 * 1024 * 1024,
    maxAttempts: 4,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    clock,
    random: () => 0.5,
    ...options,
  });
  storages.push(s);
  return s;
}

const requests = (method: string, match: RegExp = /./): number =>
  proxy.seen.filter((r) => r.method === method && match.test(r.url)).length;

describe('S3Storage retries transient failures', () => {
  test('500 InternalError twice on PutObject, then success: 3 attempts, exponential backoff with jitter', async () => {
    const s = storage();
    proxy.inject({ kind: 'status', status: 500, code: 'InternalError' }, { method: 'PUT', times: 2 });
    const data = testBytes(1000, 3);
    await s.write('a/b', data);
    assert.equal(requests('PUT'), 3);
    assert.deepEqual(s.stats(), { attempts: 3, retries: 2, corruptedUploads: 0, verifiedByChecksum: 0, verifiedByEtag: 1, unverified: 0 });
    // equal jitter with random() = 0.5: ceiling/2 + ceiling/4, ceilings 100, 200
    assert.deepEqual(clock.sleeps, [75, 150]);
    assert.deepEqual(await s.read('a/b'), data);
  });

  test('503 SlowDown on GetObject three times, then success', async () => {
    const s = storage();
    await s.write('x', testBytes(10, 1));
    proxy.inject({ kind: 'status', status: 503, code: 'SlowDown' }, { method: 'GET', times: 3 });
    assert.deepEqual(await s.read('x'), testBytes(10, 1));
    assert.deepEqual(clock.sleeps, [75, 150, 300]);
  });

  test('backoff is capped at maxDelayMs', async () => {
    const s = storage({ maxAttempts: 6, baseDelayMs: 400, maxDelayMs: 1000 });
    await s.write('x', testBytes(10, 1));
    proxy.inject({ kind: 'status', status: 500, code: 'InternalError' }, { method: 'GET', times: 5 });
    await s.read('x');
    assert.deepEqual(clock.sleeps, [300, 600, 750, 750, 750]);
  });

  test('connection reset on ListObjectsV2 and on DeleteObjects is retried', async () => {
    const s = storage();
    for (let i = 0; i < 3; i++) await s.write(`d/${i}`, Uint8Array.of(i));
    proxy.inject({ kind: 'reset' }, { method: 'GET', match: /list-type=2/, times: 2 });
    assert.equal((await s.list('d/')).length, 3);
    proxy.inject({ kind: 'reset' }, { method: 'POST', match: /delete/, times: 1 });
    await s.deletePrefix('d/');
    assert.deepEqual(await s.list(''), []);
    assert.equal(proxy.pending(), 0, 'all three resets were injected');
    // >= rather than ===: s3rver's DeleteObjects deletes keys concurrently and sometimes
    // races with itself (ENOENT → 500 InternalError), which is retried like any 500.
    assert.ok(s.stats().retries >= 3, JSON.stringify(proxy.seen));
  });

  test('a request that gets no answer times out and is retried', async () => {
    const s = storage({ requestTimeoutMs: 1000 });
    await s.write('t', Uint8Array.of(7));
    proxy.inject({ kind: 'hang' }, { method: 'GET', times: 1 });
    assert.deepEqual(await s.read('t'), Uint8Array.of(7));
    assert.equal(proxy.pending(), 0, 'the hang was injected');
    // >= : on a loaded machine a retry can itself exceed the timeout and be retried again;
    // without a working timeout the read above never returns and the test fails.
    assert.ok(s.stats().retries >= 1);
    assert.ok(requests('GET') >= 2);
  });

  test('a response body that stalls half way times out and the read is retried', async () => {
    const s = storage({ requestTimeoutMs: 300 });
    const data = testBytes(200_000, 5);
    await s.write('stall', data);
    proxy.inject({ kind: 'stall-body' }, { method: 'GET', times: 1 });
    assert.ok(Buffer.from(await s.read('stall')).equals(Buffer.from(data)));
    assert.equal(s.stats().retries, 1);
  });

  test('a response body cut half way is retried: read and readToFile get every byte', async () => {
    const s = storage();
    const data = testBytes(300_000, 9);
    const written = await s.write('big', data);
    proxy.inject({ kind: 'cut-body' }, { method: 'GET', times: 1 });
    assert.ok(Buffer.from(await s.read('big')).equals(Buffer.from(data)));
    proxy.inject({ kind: 'cut-body' }, { method: 'GET', times: 1 });
    const out = join(dir, 'big.out');
    await s.readToFile('big', out, written);
    assert.ok((await readFile(out)).equals(Buffer.from(data)));
    assert.equal(proxy.pending(), 0, 'both cuts were injected');
    assert.equal(s.stats().retries, 2);
  });

  test('a failed part of a multipart upload: only that part is sent again, and the object is complete', async () => {
    const s = storage();
    const data = testBytes(11 * 1024 * 1024 + 5, 4);
    const src = join(dir, 'multi.sst');
    await writeFile(src, data);
    proxy.inject({ kind: 'status', status: 500, code: 'InternalError' }, { method: 'PUT', match: /partNumber=2/, times: 1 });
    const result = await s.writeFile('shared/multi.sst', src);
    assert.equal(result.size, data.length);
    assert.equal(requests('PUT', /partNumber=2/), 2);
    assert.equal(requests('PUT', /partNumber=1/), 1);
    assert.equal(requests('POST', /uploads/), 1, 'one multipart upload');
    assert.equal(s.stats().retries, 1);
    const out = join(dir, 'multi.out');
    await s.readToFile('shared/multi.sst', out, result);
    assert.ok((await readFile(out)).equals(Buffer.from(data)));
  });

  test('after maxAttempts a TransientStorageError says how many attempts were made', async () => {
    const s = storage();
    proxy.inject({ kind: 'status', status: 500, code: 'InternalError' }, { method: 'PUT', times: 10 });
    await assert.rejects(s.write('p', Uint8Array.of(1)), (err: unknown) => {
      assert.ok(err instanceof TransientStorageError, String(err));
      assert.match(err.message, /after 4 attempt\(s\)/);
      assert.match(err.message, /InternalError/);
      assert.ok(err.cause, 'keeps the cause');
      return true;
    });
    assert.equal(requests('PUT'), 4);
    assert.equal(clock.sleeps.length, 3);
  });

  test('CompleteMultipartUpload failing with 503 is retried', async () => {
    const s = storage();
    const data = testBytes(6 * 1024 * 1024, 8);
    proxy.inject({ kind: 'status', status: 503, code: 'ServiceUnavailable' }, { method: 'POST', match: /uploadId=/, times: 1 });
    await s.write('m', data);
    assert.equal(requests('POST', /uploadId=/), 2);
    assert.ok(Buffer.from(await s.read('m')).equals(Buffer.from(data)));
  });

  test('a CompleteMultipartUpload that succeeded but whose answer was lost: the retry sees NoSuchUpload and accepts the object', async () => {
    const s = storage();
    const data = testBytes(6 * 1024 * 1024, 12);
    proxy.inject({ kind: 'lose-response' }, { method: 'POST', match: /uploadId=/, times: 1 });
    // S3 answers a second Complete of a finished upload with 404 NoSuchUpload; s3rver says
    // 500 InternalError instead, so the proxy plays S3's part for the retry.
    proxy.inject({ kind: 'status', status: 404, code: 'NoSuchUpload' }, { method: 'POST', match: /uploadId=/, times: 1 });
    const result = await s.write('lost-ack', data);
    assert.equal(result.size, data.length);
    assert.equal(requests('POST', /uploadId=/), 2);
    assert.equal(requests('HEAD'), 1, 'checked that the object is there');
    assert.ok(Buffer.from(await s.read('lost-ack')).equals(Buffer.from(data)));
  });

  test('a PutObject whose answer was lost is simply sent again', async () => {
    const s = storage();
    proxy.inject({ kind: 'lose-response' }, { method: 'PUT', times: 1 });
    await s.write('lost-put', Uint8Array.of(4, 5));
    assert.equal(requests('PUT'), 2);
    assert.deepEqual(await s.read('lost-put'), Uint8Array.of(4, 5));
  });

  test('writeStream: each request is retried from its buffer; a source failing mid multipart leaves nothing, with the source error', async () => {
    const s = storage();
    proxy.inject({ kind: 'status', status: 500, code: 'InternalError' }, { method: 'PUT', times: 1 });
    async function* small(): AsyncGenerator<Uint8Array> {
      yield Uint8Array.of(1, 2);
      yield Uint8Array.of(3);
    }
    assert.equal((await s.writeStream('w', small())).size, 3);
    assert.deepEqual(await s.read('w'), Uint8Array.of(1, 2, 3));
    assert.equal(requests('PUT'), 2);

    const boom = new Error('source broke');
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield testBytes(6 * 1024 * 1024, 2); // one full part and a bit: a multipart upload starts
      yield testBytes(5 * 1024 * 1024, 3);
      throw boom;
    }
    await assert.rejects(s.writeStream('broken', broken()), (err: unknown) => err === boom);
    assert.equal(await s.stat('broken'), undefined);
    assert.ok(requests('DELETE', /uploadId=/) >= 1, 'the multipart upload was aborted');
  });
});

describe('S3Storage fails fast on permanent errors', () => {
  test('bad credentials (403): no retry, clear message, no secret in it or in the uri', async () => {
    const secret = 'TOPSECRETvalue1234567890';
    const s = storage({ credentials: { accessKeyId: 'AKIAWEIRTESTKEY', secretAccessKey: secret } });
    assert.ok(!s.uri.includes(secret) && !s.uri.includes('AKIA'));
    await assert.rejects(s.write('a', Uint8Array.of(1)), (err: unknown) => {
      assert.ok(err instanceof PermanentStorageError, String(err));
      assert.ok(!(err instanceof NotFoundError));
      assert.match(err.message, /access denied/);
      assert.match(err.message, /credentials/);
      assert.ok(!err.message.includes(secret), err.message);
      assert.ok(!err.message.includes('AKIAWEIRTESTKEY'), err.message);
      return true;
    });
    assert.equal(requests('PUT'), 1);
    assert.deepEqual(clock.sleeps, []);
    await assert.rejects(s.list(''), PermanentStorageError);
    assert.equal(requests('GET'), 1);
  });

  test('NoSuchBucket: no retry, the message names the bucket', async () => {
    const s = storage({ bucket: 'no-such-bucket' });
    await assert.rejects(s.write('a', Uint8Array.of(1)), (err: unknown) => {
      assert.ok(err instanceof PermanentStorageError, String(err));
      assert.match(err.message, /bucket "no-such-bucket" does not exist/);
      assert.match(err.message, /NoSuchBucket/);
      return true;
    });
    await assert.rejects(s.list('x/'), /bucket "no-such-bucket" does not exist/);
    await assert.rejects(s.read('x'), PermanentStorageError);
    assert.deepEqual(clock.sleeps, []);
    assert.equal(proxy.seen.length, 3);
  });

  test('reading a missing object is a NotFoundError after one request', async () => {
    const s = storage();
    await assert.rejects(s.read('missing/obj'), (err: unknown) => {
      assert.ok(err instanceof NotFoundError, String(err));
      assert.match(err.path, /^s3:\/\/weir-test\/retry\/\d+\/missing\/obj$/);
      return true;
    });
    assert.equal(await s.stat('missing/obj'), undefined);
    assert.equal(proxy.seen.length, 2);
    assert.deepEqual(clock.sleeps, []);
  });

  test('an unreachable endpoint is transient and retried, then reported with the endpoint', async () => {
    const s = storage({ endpoint: 'http://127.0.0.1:9', maxAttempts: 2, connectionTimeoutMs: 2000 });
    await assert.rejects(s.read('x'), (err: unknown) => {
      assert.ok(err instanceof TransientStorageError, String(err));
      assert.match(err.message, /127\.0\.0\.1:9/);
      return true;
    });
    assert.equal(clock.sleeps.length, 1);
  });

  test('options are checked: part size below the S3 minimum, bad bucket name, credentials in the endpoint', () => {
    assert.throws(() => storage({ partSize: 1024 }), /partSize/);
    assert.throws(() => storage({ bucket: 'Bad_Bucket' }), /bucket name/);
    assert.throws(() => storage({ endpoint: 'http://user:pw@127.0.0.1:1' }), /must not contain credentials/);
  });
});

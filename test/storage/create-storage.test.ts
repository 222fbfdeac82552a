import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createStorage } from '../../src/storage/create-storage.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { S3Storage } from '../../src/storage/s3-storage.ts';
import { ConfigError } from '../../src/util/errors.ts';
import { startS3Server } from '../support/s3-server.ts';
import type { S3TestServer } from '../support/s3-server.ts';

let dir: string;
let server: S3TestServer;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weir-create-'));
  server = await startS3Server();
});
after(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('a plain path (absolute or relative to cwd) and a file:// URI are local storage', async () => {
  const abs = createStorage(join(dir, 'abs'));
  assert.ok(abs instanceof LocalStorage);
  assert.equal(abs.root, join(dir, 'abs'));
  assert.equal(abs.uri, pathToFileURL(join(dir, 'abs')).href);

  const rel = createStorage('weir-data/checkpoints', { cwd: dir });
  assert.ok(rel instanceof LocalStorage);
  assert.equal(rel.root, join(dir, 'weir-data', 'checkpoints'));
  await rel.write('job/chk-1/_metadata', new TextEncoder().encode('m'));
  assert.equal(await readFile(join(dir, 'weir-data', 'checkpoints', 'job', 'chk-1', '_metadata'), 'utf8'), 'm');

  const home = createStorage('~/weir-data', { homeDir: join(dir, 'home') });
  assert.ok(home instanceof LocalStorage);
  assert.equal(home.root, join(dir, 'home', 'weir-data'));

  const url = createStorage(pathToFileURL(join(dir, 'with space')).href);
  assert.ok(url instanceof LocalStorage);
  assert.equal(url.root, join(dir, 'with space'));
  const localhost = createStorage(`file://localhost${join(dir, 'lh')}`);
  assert.ok(localhost instanceof LocalStorage);
  assert.equal(localhost.root, join(dir, 'lh'));
});

test('s3:// takes endpoint, region and credentials from the environment and works end to end', async () => {
  const storage = createStorage(`s3://${server.bucket}/team/weir/`, {
    env: {
      AWS_ENDPOINT_URL: server.endpoint,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_REGION: server.region,
    },
  });
  assert.ok(storage instanceof S3Storage);
  assert.equal(storage.uri, `s3://${server.bucket}/team/weir`);
  assert.equal(storage.keyPrefix, 'team/weir/');
  await storage.write('job/x', Uint8Array.of(1, 2, 3));
  assert.deepEqual(await storage.list('job/'), [{ path: 'job/x', size: 3 }]);
  await storage.close();

  // Options override the environment.
  const overridden = createStorage(`s3://${server.bucket}`, {
    env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y' },
    s3: { endpoint: server.endpoint, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } },
  });
  assert.equal(overridden.uri, `s3://${server.bucket}`);
  assert.deepEqual(await overridden.read('team/weir/job/x'), Uint8Array.of(1, 2, 3));
  await overridden.close();
});

test('memory:// is in-memory storage', () => {
  const m = createStorage('memory://demo');
  assert.ok(m instanceof MemoryStorage);
  assert.equal(m.uri, 'memory://demo');
});

test('bad locations are one-line ConfigErrors that never echo credentials', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['gs://bucket/x', /unsupported checkpoint storage scheme "gs:"/],
    ['hdfs://nn:8020/x', /unsupported/],
    ['s3://', /no bucket/],
    ['s3://AKIA:hunter2@bucket/x', /must not contain credentials/],
    ['s3://Bad_Bucket/x', /bucket name/],
    ['s3://bucket/../x', /invalid storage path/],
    ['file://otherhost/x', /names host "otherhost"/],
  ];
  for (const [uri, message] of cases) {
    assert.throws(
      () => createStorage(uri, { env: {} }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError, `${uri}: ${String(err)}`);
        assert.match(err.message, message, uri);
        assert.ok(!err.message.includes('hunter2'), err.message);
        assert.ok(!err.message.includes('\n'), 'one line');
        return true;
      },
    );
  }
  assert.throws(() => createStorage('s3://bucket/x', { env: { AWS_ACCESS_KEY_ID: 'only-the-id' } }), /both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  assert.throws(() => createStorage('gs://user:hunter2@bucket', { env: {} }), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.ok(!err.message.includes('hunter2'), err.message);
    return true;
  });
});

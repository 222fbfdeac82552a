import { after, before } from 'node:test';
import { randomBytes } from 'node:crypto';
import { S3Storage } from '../../src/storage/s3-storage.ts';
import { startS3Server } from '../support/s3-server.ts';
import type { S3TestServer } from '../support/s3-server.ts';
import { runCheckpointStorageContract } from './contract.ts';

let server: S3TestServer | undefined;
before(async () => {
  server = await startS3Server();
});
after(async () => {
  await server?.stop();
});

runCheckpointStorageContract('s3 (s3rver)', {
  exclusiveCreate: false, // s3rver ignores If-None-Match on PutObject (see contract.ts)
  create: async () => {
    if (!server) throw new Error('s3rver did not start');
    return new S3Storage({
      bucket: server.bucket,
      prefix: `contract/${randomBytes(6).toString('hex')}`,
      endpoint: server.endpoint,
      region: server.region,
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      partSize: 5 * 1024 * 1024,
      listPageSize: 7,
      deleteBatchSize: 10,
      baseDelayMs: 5,
    });
  },
  largeObjectSize: 11 * 1024 * 1024 + 3,
});

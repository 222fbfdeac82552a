/**
 * End to end with checkpoints in S3 (s3rver): wordcount with `--checkpoints s3://…`,
 * killed twice mid-run and resumed with `--resume latest`; the committed output is
 * exactly counts 1..n for every word, and the checkpoints are in the bucket.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Storage } from '../../src/storage/s3-storage.ts';
import { startS3Server, type S3TestServer } from '../support/s3-server.ts';
import { checkWordCounts, makeInput, rng, runWithKills } from './wordcount-harness.ts';

let server: S3TestServer | undefined;
before(async () => {
  server = await startS3Server();
});
after(async () => {
  await server?.stop();
});

test('wordcount with S3 checkpoints survives SIGKILLs (lsm incremental)', { timeout: 600_000 }, async () => {
  const s3 = server!;
  const dir = mkdtempSync(join(tmpdir(), 'weir-e2e-s3-'));
  try {
    const random = rng(44);
    const input = join(dir, 'input.txt');
    // Large enough that the time-based kills (1.5–3 s into a run) land before the end of input on an idle machine.
    const expected = makeInput(input, 800_000, random);
    const output = join(dir, 'out');
    const env = {
      AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
    };
    const args = [
      '--checkpoints', `s3://${s3.bucket}/e2e`, '--state-dir', join(dir, 'state'), '--checkpoint-interval', '100ms',
      '--parallelism', '2', '--no-progress', '--state-backend', 'lsm', '--resume', 'latest', '--', '--input', input, '--output', output,
    ];
    // Kills on a timer (1.5–3 s after start: after the first checkpoints, before the end).
    const { kills } = await runWithKills(args, null, 2, random, env);
    assert.ok(kills >= 1, 'no run was killed');
    checkWordCounts(output, expected);
    const storage = new S3Storage({
      bucket: s3.bucket, prefix: 'e2e', endpoint: s3.endpoint, region: s3.region,
      credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    });
    const objects = await storage.list('wordcount/');
    await storage.close();
    assert.ok(objects.some((o) => /^wordcount\/chk-\d+\/_metadata$/.test(o.path)), 'a completed checkpoint is in the bucket');
    assert.ok(objects.some((o) => o.path.startsWith('wordcount/shared/')), 'sstables are in shared/');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

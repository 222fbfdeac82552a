/**
 * `weir checkpoints` against a real S3-compatible server (s3rver): the same commands on
 * s3://bucket/prefix, credentials and endpoint from the environment as a user would set them.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { createStorage } from '../../src/storage/index.ts';
import type { CheckpointStorage } from '../../src/storage/index.ts';
import { runIncrementalTrace } from '../checkpoint/support/seed-trace-runner.ts';
import { SyntheticIncrementalSubtask } from '../checkpoint/support/synthetic-incremental-subtask.ts';
import { startS3Server } from '../support/s3-server.ts';
import type { S3TestServer } from '../support/s3-server.ts';

const BIN = fileURLToPath(new URL('../../bin/weir.js', import.meta.url));
let server: S3TestServer;
let storage: CheckpointStorage;
let uri: string;
let env: NodeJS.ProcessEnv;

function weir(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

before(async () => {
  server = await startS3Server();
  uri = `s3://${server.bucket}/team/checkpoints`;
  env = {
    ...process.env,
    AWS_ENDPOINT_URL_S3: server.endpoint,
    AWS_ACCESS_KEY_ID: server.accessKeyId,
    AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
    AWS_REGION: server.region,
  };
  storage = createStorage(uri, { env });
  const trace = await readFile(new URL('../checkpoint/testdata/seed-example.trace', import.meta.url), 'utf8');
  const run = await runIncrementalTrace({ trace, storage, job: 'seed', makeSubtask: (o, i) => new SyntheticIncrementalSubtask(storage, o, i) });
  await run.coordinator.stop();
});

after(async () => {
  await storage?.close();
  await server?.stop();
});

test('list, inspect, verify and gc work on s3://bucket/prefix', async () => {
  const list = await weir('checkpoints', 'list', uri, '--json');
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual(JSON.parse(list.stdout).jobs[0].checkpoints.map((c: { id: number }) => c.id), [3, 4]);
  const ins = JSON.parse((await weir('checkpoints', 'inspect', uri, '--json')).stdout);
  assert.deepEqual(ins.registry.map((e: { key: string; refCount: number }) => `${e.key}:${e.refCount}`).sort(),
    ['op-2-1-sstable-(1,2,3):2', 'op-2-1-sstable-(4):1', 'op-2-1-sstable-(4,5,6):1', 'op-2-1-sstable-(5):1']);
  assert.equal((await weir('checkpoints', 'verify', uri)).code, 0);
  await storage.write('seed/shared/leaked.sst', new Uint8Array(10));
  const victim = ins.checkpoints[1].subtasks[0].sharedFiles[0].path as string;
  await storage.write(victim, new Uint8Array(3));
  const bad = await weir('checkpoints', 'verify', uri, '--json');
  assert.equal(bad.code, 1);
  assert.deepEqual(JSON.parse(bad.stdout).problems.map((p: { path: string; problem: string }) => `${p.path}:${p.problem}`), [`${victim}:size`]);
  const gc = await weir('checkpoints', 'gc', uri, '--json');
  assert.equal(gc.code, 0, gc.stderr);
  assert.deepEqual(JSON.parse(gc.stdout).deleted, ['seed/shared/leaked.sst']);
  assert.equal(await storage.stat('seed/shared/leaked.sst'), undefined);
  assert.ok(await storage.stat(victim), 'a referenced (even damaged) file is never collected');
});

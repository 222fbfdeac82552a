/**
 * The CLI's fast paths (issue 10): `weir --help` and `weir checkpoints list|inspect` on a
 * local directory never load the AWS SDK (S3Storage imports it on first use, so only an
 * s3:// location does). Each command runs with an import hook that throws on any
 * @aws-sdk/* or @smithy/* module; the s3:// control shows the hook catches a load.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { runIncrementalTrace } from '../checkpoint/support/seed-trace-runner.ts';
import { SyntheticIncrementalSubtask } from '../checkpoint/support/synthetic-incremental-subtask.ts';

const BIN = fileURLToPath(new URL('../../bin/weir.js', import.meta.url));
const FORBID_SDK = fileURLToPath(new URL('./support/forbid-aws-sdk.mjs', import.meta.url));
let work: string;
let root: string;

function weirWithoutSdk(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test-secret' };
    execFile(process.execPath, ['--import', FORBID_SDK, BIN, ...args], { cwd: work, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'weir-fast-cli-'));
  root = join(work, 'checkpoints');
  const storage = new LocalStorage({ root });
  const trace = await readFile(new URL('../checkpoint/testdata/seed-example.trace', import.meta.url), 'utf8');
  const run = await runIncrementalTrace({ trace, storage, job: 'seed', makeSubtask: (o, i) => new SyntheticIncrementalSubtask(storage, o, i) });
  await run.coordinator.stop();
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

test('weir --help, checkpoints list and inspect on a directory: the AWS SDK is never loaded', async () => {
  const help = await weirWithoutSdk('--help');
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /checkpoints/);
  const list = await weirWithoutSdk('checkpoints', 'list', root, '--json');
  assert.equal(list.code, 0, list.stderr);
  assert.deepEqual((JSON.parse(list.stdout) as { jobs: { job: string }[] }).jobs.map((j) => j.job), ['seed']);
  const inspect = await weirWithoutSdk('checkpoints', 'inspect', root);
  assert.equal(inspect.code, 0, inspect.stderr);
  assert.match(inspect.stdout, /chk-4|checkpoint 4/);
});

test('control: an s3:// location does load the SDK, and the hook stops it', async () => {
  const r = await weirWithoutSdk('checkpoints', 'list', 's3://weir-test-bucket/x');
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /AWS SDK loaded: @aws-sdk\/client-s3 imported by .*s3-storage/);
});

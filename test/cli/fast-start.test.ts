/**
 * The CLI's fast paths (issue 10): `weir --help` and `weir checkpoints list|inspect` on a
 * local directory never load the AWS SDK (S3Storage imports it on first use, so only an
 * s3:// location does). Each command runs with an import hook that throws on any
 * @aws-sdk/* or @smithy/* module; the s3:// control shows the hook catches a load.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { runIncrementalTrace } from '../checkpoint/support/seed-trace-runner.ts';
import { SyntheticIncrementalSubtask } from '../checkpoint/support/synthetic-incremental-subtask.ts';

const BIN = fileURLToPath(new URL('../../bin/weir.js', import.meta.url));
const FORBID_SDK = fileURLToPath(new URL('./support/forbid-aws-sdk.mjs', import.meta.url));
const FORBID_PACKAGES = fileURLToPath(new URL('./support/forbid-packages.mjs', import.meta.url));
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

/** `weir …` with an import hook that throws on any module of these packages. */
function weirForbidding(prefixes: string[], ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const env = { ...process.env, WEIR_FORBID: prefixes.join(',') };
    execFile(process.execPath, ['--import', FORBID_PACKAGES, BIN, ...args], { cwd: work, env, timeout: 180_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

test('weir run of a job without Kafka or NATS never loads their clients (0.6 s and 0.1 s per process and per worker); a Kafka or NATS job does', async () => {
  const input = join(work, 'words.txt');
  await writeFile(input, 'a b a\nc a b\n');
  const ok = await weirForbidding(['@platformatic/kafka', '@nats-io/', '@aws-sdk/'], 'run', fileURLToPath(new URL('../../examples/wordcount.ts', import.meta.url)),
    '--checkpoints', join(work, 'wc-checkpoints'), '--ui-port', '0', '--no-progress', '--', '--input', input, '--output', join(work, 'wc-out'));
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stderr, /job finished: 2 records in, 6 out/);
  // Control: the hook does stop a job that builds a Kafka source (the broker address is never reached).
  const kafka = await weirForbidding(['@platformatic/kafka'], 'run', fileURLToPath(new URL('../../examples/kafka-wordcount.ts', import.meta.url)),
    '--checkpoints', join(work, 'kafka-checkpoints'), '--ui-port', '0', '--no-progress', '--restart-attempts', '0', '--', '--brokers', '127.0.0.1:9', '--input', 'in', '--output', 'out');
  assert.notEqual(kafka.code, 0);
  assert.match(kafka.stderr, /forbidden package loaded: @platformatic\/kafka imported by .*kafka-client/);
  const nats = await weirForbidding(['@nats-io/'], 'run', fileURLToPath(new URL('../../examples/nats-wordcount.ts', import.meta.url)),
    '--checkpoints', join(work, 'nats-checkpoints'), '--ui-port', '0', '--no-progress', '--restart-attempts', '0', '--', '--servers', '127.0.0.1:9', '--input', 'in', '--output', 'out');
  assert.notEqual(nats.code, 0);
  assert.match(nats.stderr, /forbidden package loaded: @nats-io\/\S+ imported by .*nats-client/);
});

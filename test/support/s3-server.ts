/**
 * A real S3-compatible server for tests: s3rver on 127.0.0.1, a free port, a temp
 * directory, with one bucket created. If it cannot start, startS3Server() rejects with
 * the reason — tests that need S3 fail, they never skip silently.
 *
 * s3rver runs in a child process started with --openssl-legacy-provider: it encrypts
 * ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17+) refuses
 * otherwise, so every paginated listing would fail with HTTP 500. A separate process
 * also means the server can be stopped (or killed) like a real one. The child exits
 * when its stdin closes, so it never outlives the test process.
 *
 * Clients must use forcePathStyle: true and requestChecksumCalculation /
 * responseChecksumValidation 'WHEN_REQUIRED' (see environment notes); S3Storage does.
 * Set WEIR_S3RVER_LOG=1 to see s3rver's request log on stderr.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export interface S3TestServer {
  /** e.g. "http://127.0.0.1:41234" */
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** Stops the server and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const CHILD = `
const S3rver = require(process.env.WEIR_S3RVER_MODULE);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: process.env.WEIR_S3RVER_LOG !== '1',
  directory: process.env.WEIR_S3RVER_DIR,
  configureBuckets: [{ name: process.env.WEIR_S3RVER_BUCKET }],
});
server.run().then(
  (addr) => process.stdout.write(JSON.stringify({ port: addr.port }) + '\\n'),
  (err) => { process.stderr.write(String(err && err.stack || err) + '\\n'); process.exit(1); },
);
const shutdown = () => server.close().then(() => process.exit(0), () => process.exit(0));
process.on('SIGTERM', shutdown);
process.stdin.on('end', shutdown);
process.stdin.resume();
`;

const START_TIMEOUT_MS = 20_000;

export async function startS3Server(options: { bucket?: string } = {}): Promise<S3TestServer> {
  const bucket = options.bucket ?? 'weir-test';
  const directory = await mkdtemp(join(tmpdir(), 'weir-s3rver-'));
  const s3rverModule = createRequire(import.meta.url).resolve('s3rver');
  const child = spawn(process.execPath, ['--openssl-legacy-provider', '-e', CHILD], {
    stdio: ['pipe', 'pipe', process.env.WEIR_S3RVER_LOG === '1' ? 'inherit' : 'pipe'],
    env: {
      ...process.env,
      NODE_OPTIONS: '',
      WEIR_S3RVER_MODULE: s3rverModule,
      WEIR_S3RVER_DIR: directory,
      WEIR_S3RVER_BUCKET: bucket,
    },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 10_000) stderr += d.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  let port: number;
  try {
    const stdout = child.stdout;
    if (!stdout) throw new Error('no stdout pipe to the child');
    port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
      const lines = createInterface({ input: stdout });
      lines.once('line', (line) => {
        clearTimeout(timer);
        try {
          resolve((JSON.parse(line) as { port: number }).port);
        } catch (err) {
          reject(new Error(`unexpected output ${JSON.stringify(line)}`, { cause: err }));
        }
      });
      child.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`s3rver exited with code ${code}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
    throw new Error(`could not start s3rver on 127.0.0.1: ${err instanceof Error ? err.message : String(err)}${stderr ? `\n${stderr}` : ''}`, {
      cause: err,
    });
  }

  let stopping: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    bucket,
    // s3rver's built-in account; it verifies request signatures against it.
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    region: 'us-east-1',
    stop() {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
          await exited;
          clearTimeout(timer);
        }
        await rm(directory, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
}

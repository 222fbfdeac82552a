/** Shared by the web tests: a real `weir run` of the counter job with its web server, and polling. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
export const bin = join(root, 'bin/weir.js');
export const counterJob = join(root, 'test/web/fixtures/counter-job.ts');
export const JOB = 'counter-job';

/** A port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

export interface RunningJob {
  readonly url: string;
  readonly dir: string;
  readonly child: ChildProcess;
  stderr(): string;
  /** SIGINT, wait for exit (bounded), remove the temp dir unless keepDir. */
  stop(opts?: { keepDir?: boolean }): Promise<number | null>;
}

/** Starts `weir run` on the counter job (lsm state, checkpoints every 300 ms, parallelism 2, 2 retained). */
export async function startCounterJob(extra: string[] = [], dir?: string): Promise<RunningJob> {
  const workDir = dir ?? mkdtempSync(join(tmpdir(), 'weir-web-'));
  const port = await freePort();
  const args = [
    bin, 'run', counterJob, '--checkpoints', join(workDir, 'checkpoints'), '--state-dir', join(workDir, 'state'), '--state-backend', 'lsm',
    '--checkpoint-interval', '300ms', '--parallelism', '2', '--retained', '2', '--ui-port', String(port), '--no-progress', ...extra, '--', '--rate', '4000',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const job: RunningJob = {
    url,
    dir: workDir,
    child,
    stderr: () => stderr,
    async stop(opts) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(guard);
      if (!opts?.keepDir) rmSync(workDir, { recursive: true, force: true });
      return code;
    },
  };
  try {
    await waitFor(async () => (await fetch(`${url}/api/jobs`)).ok, 30_000, 'the web server to answer');
  } catch (err) {
    await job.stop();
    throw new Error(`${(err as Error).message}\nstderr:\n${stderr}`, { cause: err });
  }
  return job;
}

export async function getJson<T = any>(url: string): Promise<T> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** Polls `check` every 100 ms until it returns true (errors count as false), at most `timeoutMs`. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown;
  for (let i = 0; i < 10_000; i++) {
    try {
      if (await check()) return;
    } catch (err) {
      last = err;
    }
    if (performance.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ''}`);
}

/** Waits until the job has at least `n` completed checkpoints. */
export function waitForCheckpoints(url: string, n: number): Promise<void> {
  return waitFor(async () => (await getJson(`${url}/api/jobs/${JOB}/checkpoints`)).counts.completed >= n, 60_000, `${n} completed checkpoints`);
}

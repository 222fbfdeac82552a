/**
 * A clean stop (issue 9, defect 7): SIGTERM or SIGINT to `weir run` while a checkpoint is
 * in flight aborts it, deletes what it uploaded, releases the job's lease, exits and
 * frees the dashboard port — also when the signal goes to `npx weir` (npm puts a shell
 * between itself and node that does not pass SIGTERM on).
 *
 * Checked from outside: no object under the job directory that no `_metadata` references
 * (`findOrphans`), no `.weir-tmp-` file, no `_lease`, the port refuses connections.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeInput, rng } from '../../scripts/crash-lib.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { findOrphans, scanJob } from '../../src/checkpoint/job-scan.ts';

const root = new URL('../../', import.meta.url).pathname;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

interface Checkpoints {
  counts: { completed: number; inProgress: number };
  history: { id: number; status: string; ackedSubtasks: number }[];
}

async function checkpoints(port: number, job: string): Promise<Checkpoints | undefined> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/api/jobs/${job}/checkpoints`);
    return r.ok ? ((await r.json()) as Checkpoints) : undefined;
  } catch {
    return undefined;
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function tempFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('.weir-tmp-'));
}

// The demo (sessions: millions of users, MiBs per checkpoint) is what left uploads behind.
for (const { via, signal, job } of [
  { via: 'node bin/weir.js', signal: 'SIGTERM', job: 'sessions' },
  { via: 'node bin/weir.js', signal: 'SIGINT', job: 'sessions' },
  { via: 'node bin/weir.js', signal: 'SIGTERM', job: 'wordcount' },
  { via: 'npx weir', signal: 'SIGTERM', job: 'wordcount' },
] as const) {
  test(`${signal} to \`${via}\` during a checkpoint of ${job}: aborted uploads deleted, lease released, process gone, port free`, { timeout: 240_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'weir-stop-'));
    const port = await freePort();
    let child: ChildProcess | undefined;
    try {
      const input = join(dir, 'input.txt');
      if (job === 'wordcount') makeInput(input, 400_000, 200_000, rng(21));
      const cp = join(dir, 'checkpoints');
      const args = [
        'run', join(root, `examples/${job}.ts`), '--checkpoints', cp, '--state-dir', join(dir, 'state'),
        '--checkpoint-interval', job === 'wordcount' ? '100ms' : '1s',
        '--parallelism', '2', '--no-progress', '--ui-port', String(port), '--state-backend', 'lsm',
        ...(job === 'wordcount' ? ['--', '--input', input, '--output', join(dir, 'out')] : []),
      ];
      child = via === 'npx weir'
        ? spawn('npx', ['weir', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
        : spawn(process.execPath, [join(root, 'bin/weir.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const exit = exited(child);
      // Wait (bounded) until a checkpoint completed and the one in flight has already
      // uploaded files that no _metadata names yet: the signal must land while there is
      // something to leak, else the test could pass with nothing to clean up.
      const watch = new LocalStorage({ root: cp });
      const deadline = Date.now() + 150_000;
      let uploadsInFlight: string[] = [];
      while (uploadsInFlight.length === 0 && Date.now() < deadline) {
        const c = await checkpoints(port, job);
        if (c !== undefined && c.counts.completed >= 1 && c.history.some((h) => h.status === 'in_progress')) {
          try {
            uploadsInFlight = findOrphans(await scanJob(watch, job)).map((o) => o.path).filter((p) => !p.endsWith('/_lease'));
          } catch {
            // a file vanished between list and read (subsumed): look again
          }
        }
        if (uploadsInFlight.length === 0) await new Promise((r) => setTimeout(r, 5));
      }
      await watch.close();
      assert.ok(uploadsInFlight.length > 0, `no checkpoint with uploads in flight before the deadline:\n${stderr.slice(-2000)}`);
      child.kill(signal);
      const guard = setTimeout(() => child?.kill('SIGKILL'), 60_000);
      const { code } = await exit;
      clearTimeout(guard);
      if (via !== 'npx weir') {
        // (npm itself answers the signal with its own exit status; what matters is the node below it)
        assert.equal(code, 0, `weir run did not stop cleanly (code ${code}):\n${stderr.slice(-2000)}`);
        assert.match(stderr, /stopping/);
      }
      // npx: the node process below the shell must be gone too; its port tells.
      const until = Date.now() + 20_000;
      while ((await portOpen(port)) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      assert.equal(await portOpen(port), false, `port ${port} is still served: the weir process outlived its launcher`);
      const storage = new LocalStorage({ root: cp });
      const scan = await scanJob(storage, job);
      assert.ok(scan.metadata.length >= 1, 'a completed checkpoint must remain');
      assert.ok(scan.objects.length > scan.metadata.length, 'nothing to check: no data files');
      assert.deepEqual(findOrphans(scan).map((o) => o.path), [], 'uploads of the aborted checkpoint were left behind');
      assert.deepEqual(tempFiles(cp), [], 'half-written temp files were left behind');
      assert.equal(await storage.stat(`${job}/_lease`), undefined, 'the lease was not released');
      await storage.close();
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * `weir run`'s --ui-port / --ui-host behaviour: off with 0, a taken port does not stop
 * the job (it warns), and a job that fails to start does not hang on its open server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bin, counterJob, freePort } from './helpers.ts';

/**
 * Runs the counter job; with `stopWhen`, sends SIGINT once stderr matches it (the job is
 * up and its signal handler installed: a fixed delay raced the start on a busy machine).
 */
function run(args: string[], stopWhen: RegExp | undefined): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, 'run', counterJob, '--no-progress', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let stopped = false;
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stopWhen !== undefined && !stopped && stopWhen.test(stderr)) {
        stopped = true;
        child.kill('SIGINT');
      }
    });
    const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('exit', (code) => {
      clearTimeout(guard);
      resolve({ code, stderr });
    });
  });
}

test('a job that cannot start exits 2 with one clear line, although its server was listening', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-ui-'));
  try {
    const port = await freePort();
    const r = await run(['--checkpoints', dir, '--resume', 'chk-999', '--ui-port', String(port)], undefined);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /checkpoint 999 of job "counter-job" not found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a taken port: the job runs without the dashboard and says why; --ui-port 0: no server at all', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-ui-'));
  const blocker = createServer();
  try {
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const addr = blocker.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    const taken = await run(['--checkpoints', join(dir, 'a'), '--checkpoint-interval', '200ms', '--ui-port', String(port)], /checkpoint \d+ completed/);
    assert.equal(taken.code, 0, taken.stderr);
    assert.match(taken.stderr, /dashboard not started: .*address in use/);
    assert.match(taken.stderr, /checkpoint \d+ completed/, 'the job ran and checkpointed');
    const off = await run(['--checkpoints', join(dir, 'b'), '--checkpoint-interval', '200ms', '--ui-port', '0'], /checkpoint \d+ completed/);
    assert.equal(off.code, 0, off.stderr);
    assert.doesNotMatch(off.stderr, /dashboard/);
    const bad = await run(['--checkpoints', join(dir, 'c'), '--ui-port', 'x'], undefined);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--ui-port: expected an integer >= 0, got "x"/);
  } finally {
    blocker.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

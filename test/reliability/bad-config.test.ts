/**
 * Bad configuration and misuse fail at start with ONE clear line on stderr and a
 * non-zero exit (bin/weir.js in a child process): unknown option, negative interval,
 * `--resume` at another job's checkpoint, a checkpoint of a newer format, a `_metadata`
 * naming paths outside the job's directory. The dashboard binds to 127.0.0.1 unless told
 * otherwise, and a secret in the environment never shows up in logs or the REST API.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeInput, rng, runWeir, weirCli } from '../../scripts/crash-lib.ts';
import { sealMetadataJson } from '../../src/checkpoint/metadata.ts';

const root = new URL('../../', import.meta.url).pathname;
const job = join(root, 'examples/wordcount.ts');

function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('weir:') || /^error:/.test(l));
}

async function fails(args: string[], pattern: RegExp, env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await weirCli(args, env);
  assert.notEqual(r.code, 0, `expected failure for ${args.join(' ')}`);
  const lines = errorLines(r.stderr);
  assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
  assert.match(lines[0]!, pattern);
  assert.ok(!/\n\s+at /.test(r.stderr), `a stack trace was printed:\n${r.stderr}`);
  return r.stderr + r.stdout;
}

/** A directory with one completed wordcount checkpoint (job "wordcount"). */
async function withCheckpoint(): Promise<{ dir: string; checkpoints: string; input: string; meta: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-badcfg-'));
  const input = join(dir, 'input.txt');
  makeInput(input, 2000, 100, rng(3));
  const checkpoints = join(dir, 'checkpoints');
  const r = await runWeir(['run', job, '--checkpoints', checkpoints, '--state-dir', join(dir, 'state'), '--no-progress', '--ui-port', '0', '--state-backend', 'lsm', '--', '--input', input, '--output', join(dir, 'out')], {}, {}, join(checkpoints, 'wordcount'));
  assert.equal(r.code, 0, r.stderr);
  const chk = readFileSync(join(checkpoints, 'wordcount', 'chk-1', '_metadata'), 'utf8');
  return { dir, checkpoints, input, meta: chk };
}

test('unknown option and negative interval fail with one line', { timeout: 60_000 }, async () => {
  await fails(['run', job, '--no-such-option'], /unknown option/);
  await fails(['run', job, '--checkpoint-interval', '-5s', '--', '--input', 'x', '--output', 'y'], /interval|option/);
  await fails(['run', job, '--parallelism', '0'], /parallelism/);
});

test('unreachable checkpoint storage fails at start with one line naming it (and no secret)', { timeout: 60_000 }, async () => {
  const marker = 'SECRETMARKER-unreachable';
  const out = await fails(['run', job, '--checkpoints', 's3://nobucket/p', '--no-progress', '--ui-port', '0', '--resume', 'latest', '--', '--input', 'x', '--output', 'y'],
    /127\.0\.0\.1:9.*(ECONNREFUSED|failed)/,
    { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: marker, AWS_REGION: 'us-east-1' });
  assert.ok(!out.includes(marker), 'the secret appears in the output');
});

test('--resume at another job\'s checkpoint, a newer format, or paths outside the job directory: refused with one line', { timeout: 90_000 }, async () => {
  const c = await withCheckpoint();
  try {
    const base = ['run', job, '--checkpoints', c.checkpoints, '--state-dir', join(c.dir, 'state2'), '--no-progress', '--ui-port', '0'];
    const tail = ['--', '--input', c.input, '--output', join(c.dir, 'out2')];
    // Another job's checkpoint (this run is job "other").
    await fails([...base, '--job-name', 'other', '--resume', join(c.checkpoints, 'wordcount', 'chk-1'), ...tail], /job "wordcount", not of this job "other"/);
    // A newer metadata format.
    const newer = c.meta.replace(/"formatVersion": \d+/, '"formatVersion": 99').replace(/,\n "checksum": "[0-9a-f]{8}"\n\}\n$/, '\n}\n');
    mkdirSync(join(c.checkpoints, 'wordcount', 'chk-5'), { recursive: true });
    writeFileSync(join(c.checkpoints, 'wordcount', 'chk-5', '_metadata'), newer);
    await fails([...base, '--resume', 'latest', ...tail], /format version 99, newer/);
    // Paths outside the job directory (a crafted _metadata whose checksum is recomputed, so it is refused for what it says).
    const escaping = c.meta.replace(/"wordcount\/(shared|taskowned)\//, '"wordcount/../elsewhere/').replace(/,\n "checksum": "[0-9a-f]{8}"\n\}\n$/, '\n}\n');
    assert.notEqual(escaping, c.meta);
    writeFileSync(join(c.checkpoints, 'wordcount', 'chk-5', '_metadata'), sealMetadataJson(escaping));
    await fails([...base, '--resume', 'latest', ...tail], /outside|\.\./);
  } finally {
    rmSync(c.dir, { recursive: true, force: true });
  }
});

test('the dashboard binds to 127.0.0.1 by default; secrets never reach logs or the REST API', { timeout: 90_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-secret-'));
  const marker = 'SECRETMARKER-4f1c9e';
  try {
    const input = join(dir, 'input.txt');
    makeInput(input, 200_000, 3000, rng(9));
    const port = 20000 + Math.floor(Math.random() * 20000);
    const child = spawn(process.execPath, [join(root, 'bin/weir.js'), 'run', job, '--checkpoints', join(dir, 'cp'), '--state-dir', join(dir, 'state'), '--checkpoint-interval', '100ms',
      '--ui-port', String(port), '--state-backend', 'lsm', '--', '--input', input, '--output', join(dir, 'out')], {
      stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, AWS_SECRET_ACCESS_KEY: marker, AWS_ACCESS_KEY_ID: `${marker}-id`, WEIR_DEBUG: '1' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let api = '';
    let listen = '';
    for (let i = 0; i < 100 && api === ''; i++) {
      await new Promise((r) => setTimeout(r, 100));
      try {
        const base = `http://127.0.0.1:${port}`;
        for (const p of ['/api/jobs', '/api/jobs/wordcount', '/api/jobs/wordcount/checkpoints', '/api/jobs/wordcount/state', '/metrics']) {
          api += await (await fetch(base + p)).text();
        }
        listen = readFileSync('/proc/net/tcp', 'utf8') + readFileSync('/proc/net/tcp6', 'utf8');
      } catch {
        api = '';
      }
    }
    assert.notEqual(api, '', 'the REST API never answered on 127.0.0.1');
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    const sockets = listen.split('\n').filter((l) => l.includes(`:${hexPort} `) && / 0A /.test(l));
    assert.ok(sockets.length >= 1, 'no listening socket found');
    for (const s of sockets) assert.match(s, /^\s*\d+: (0100007F|00000000000000000000000001000000):/, `listening on something other than loopback: ${s}`);
    child.kill('SIGTERM');
    await exited;
    assert.ok(!api.includes(marker), 'the secret appears in the REST API');
    assert.ok(!out.includes(marker), 'the secret appears in the logs');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

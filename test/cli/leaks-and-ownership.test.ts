/**
 * Issue 9, defect 9 (process tests on real and crafted directories):
 *  - the temp file of an upload SIGKILLed half way (a real kill, test/storage/crash-writer.ts)
 *    is seen by `inspect` and `gc`, deleted by `gc`, and swept by the next start of the job;
 *  - a directory that only looks like a job (a `shared/` folder, no weir marker, no
 *    `_metadata`) is refused by `gc` and by `weir run`, and none of its files is deleted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { makeInput, rng, runWeir, weirCli } from '../../scripts/crash-lib.ts';
import { testBytes } from '../storage/contract.ts';

const root = new URL('../../', import.meta.url).pathname;
const wordcount = join(root, 'examples/wordcount.ts');
const WRITER = fileURLToPath(new URL('../storage/crash-writer.ts', import.meta.url));
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'weir-leaks-'));
});
after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** An upload into `<root>/<path>` SIGKILLed with half of its bytes written (leaves a temp file). */
async function killedUpload(storageRoot: string, path: string): Promise<void> {
  const files = [join(work, 'a.bin'), join(work, 'b.bin')];
  await writeFile(files[0]!, testBytes(64 * 1024, 1));
  await writeFile(files[1]!, testBytes(6 * 1024 * 1024, 2));
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, WEIR_CRASH_KIND: 'local', WEIR_CRASH_ROOT: storageRoot, WEIR_CRASH_MODE: 'pause', WEIR_CRASH_PATH: path, WEIR_CRASH_FILES: files.join(':') },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  let mid = false;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'mid') {
      mid = true;
      child.kill('SIGKILL');
      break;
    }
  }
  await exited;
  clearTimeout(guard);
  assert.ok(mid, 'the writer was killed half way through the upload');
}

async function tempFilesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile() && e.name.includes('.weir-tmp-')) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  }
  return out.sort();
}

test('the temp file of a SIGKILLed upload: inspect counts it, gc lists and deletes it, the next start of the job sweeps it', { timeout: 240_000 }, async () => {
  const dir = join(work, 'temps');
  await mkdir(dir);
  const input = join(dir, 'input.txt');
  const checkpoints = join(dir, 'checkpoints');
  makeInput(input, 3000, 200, rng(5));
  const run = (state: string, ...extra: string[]) => runWeir(['run', wordcount, '--checkpoints', checkpoints, '--state-dir', join(dir, state), '--no-progress',
    '--ui-port', '0', '--state-backend', 'lsm', ...extra, '--', '--input', input, '--output', join(dir, 'out')], {}, {}, join(checkpoints, 'wordcount'));
  const first = await run('state1');
  assert.equal(first.code, 0, first.stderr);

  await killedUpload(checkpoints, 'wordcount/shared/killed-upload.sst');
  const temps = await tempFilesUnder(checkpoints);
  assert.equal(temps.length, 1, `one temp file on disk: ${temps.join(', ')}`);
  assert.match(temps[0]!, /^wordcount\/shared\/killed-upload\.sst\.weir-tmp-[0-9a-f]{12}$/);

  const inspect = await weirCli(['checkpoints', 'inspect', checkpoints, '--job', 'wordcount', '--json']);
  assert.equal(inspect.code, 0, inspect.stderr);
  const ins = JSON.parse(inspect.stdout);
  assert.ok(ins.orphans.some((o: { path: string }) => o.path === temps[0]), `inspect lists the temp file as an orphan: ${inspect.stdout.slice(0, 2000)}`);
  assert.equal(ins.totals.tempFiles, 1);

  const dry = await weirCli(['checkpoints', 'gc', checkpoints, '--job', 'wordcount', '--dry-run', '--json']);
  assert.equal(dry.code, 0, dry.stderr);
  assert.ok(JSON.parse(dry.stdout).orphans.some((o: { path: string }) => o.path === temps[0]), `gc --dry-run lists it: ${dry.stdout}`);
  assert.deepEqual(await tempFilesUnder(checkpoints), temps, 'a dry run deletes nothing');

  // The next start of the job removes it (with the job's other orphans).
  const second = await run('state2', '--resume', 'latest');
  assert.equal(second.code, 0, second.stderr);
  assert.deepEqual(await tempFilesUnder(checkpoints), [], 'the start of the job swept the temp file');

  // And gc removes one left after that.
  await killedUpload(checkpoints, 'wordcount/taskowned/killed-upload-MANIFEST');
  assert.equal((await tempFilesUnder(checkpoints)).length, 1);
  const gc = await weirCli(['checkpoints', 'gc', checkpoints, '--job', 'wordcount']);
  assert.equal(gc.code, 0, gc.stderr);
  assert.deepEqual(await tempFilesUnder(checkpoints), [], `gc deleted the temp file:\n${gc.stdout}`);
  const verify = await weirCli(['checkpoints', 'verify', checkpoints, '--job', 'wordcount']);
  assert.equal(verify.code, 0, verify.stdout + verify.stderr);
});

test('a directory weir did not create (shared/ folder, no marker, no _metadata): gc and run refuse, nothing is deleted', { timeout: 120_000 }, async () => {
  const dir = join(work, 'foreign');
  const checkpoints = join(dir, 'checkpoints');
  const mine = [join(checkpoints, 'wordcount', 'shared', 'thesis.tex'), join(checkpoints, 'wordcount', 'taskowned', 'notes.txt'), join(checkpoints, 'wordcount', 'chk-7', 'photo.jpg')];
  for (const f of mine) {
    await mkdir(join(f, '..'), { recursive: true });
    await writeFile(f, 'not weir\'s');
  }
  const gc = await weirCli(['checkpoints', 'gc', checkpoints, '--job', 'wordcount']);
  for (const f of mine) assert.ok(existsSync(f), `gc deleted ${f}:\n${gc.stdout}${gc.stderr}`);
  assert.notEqual(gc.code, 0, gc.stdout);
  assert.match(gc.stderr, /weir did not create it/);

  const input = join(dir, 'input.txt');
  makeInput(input, 500, 50, rng(6));
  const r = await runWeir(['run', wordcount, '--checkpoints', checkpoints, '--state-dir', join(dir, 'state'), '--no-progress', '--ui-port', '0',
    '--state-backend', 'lsm', '--', '--input', input, '--output', join(dir, 'out')], {}, {}, join(checkpoints, 'wordcount'));
  for (const f of mine) assert.ok(existsSync(f), `weir run deleted ${f}:\n${r.stderr}`);
  assert.notEqual(r.code, 0, r.stderr);
  assert.match(r.stderr, /weir did not create it/);
});

/**
 * Issue 9, defect 8: nothing weir reads, writes or deletes may resolve outside the
 * checkpoint root. Crafted checkpoint directories whose `shared/` (or whole job
 * directory) is a symbolic link to a directory outside the root: `verify`, `inspect`,
 * `gc`, and a `weir run --resume latest --retained 1` (restore, then retention) must
 * refuse, naming the link, and leave every file outside exactly as it was.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, readdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeInput, rng, runWeir, weirCli } from '../../scripts/crash-lib.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { runIncrementalTrace } from '../checkpoint/support/seed-trace-runner.ts';
import { SyntheticIncrementalSubtask } from '../checkpoint/support/synthetic-incremental-subtask.ts';

const root = new URL('../../', import.meta.url).pathname;
const wordcount = join(root, 'examples/wordcount.ts');
let work: string;
let seed: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'weir-symlink-'));
  seed = join(work, 'seed-checkpoints');
  const storage = new LocalStorage({ root: seed });
  const trace = await readFile(new URL('../checkpoint/testdata/seed-example.trace', import.meta.url), 'utf8');
  const run = await runIncrementalTrace({ trace, storage, job: 'seed', makeSubtask: (o, i) => new SyntheticIncrementalSubtask(storage, o, i) });
  await run.coordinator.stop();
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** Every file under `dir` with its bytes (the witness that nothing outside changed). */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) {
      const full = join(e.parentPath, e.name);
      out.set(full.slice(dir.length), (await readFile(full)).toString('base64'));
    }
  }
  return out;
}

/** Moves `<root>/<rel>` to `outside` and leaves a symlink to it in its place. */
async function linkOut(rootDir: string, rel: string, outside: string): Promise<void> {
  await rename(join(rootDir, rel), outside);
  await symlink(outside, join(rootDir, rel), 'dir');
}

function refused(r: { code: number | null; stdout: string; stderr: string }, link: string): void {
  assert.notEqual(r.code, 0, `accepted:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout + r.stderr, new RegExp(`${link}.*symbolic link`), r.stdout + r.stderr);
}

test('verify, inspect and gc refuse a shared/ that links outside the root; nothing outside is read as valid or deleted', async () => {
  const dir = join(work, 'shared-link');
  const outside = join(work, 'outside-shared');
  await cp(seed, dir, { recursive: true });
  await linkOut(dir, 'seed/shared', outside);
  await writeFile(join(outside, 'not-referenced.sst'), 'looks like an orphan to a gc that follows the link');
  const witness = await snapshot(outside);
  assert.ok(witness.size >= 5, 'the outside directory holds the shared files');
  refused(await weirCli(['checkpoints', 'verify', dir]), 'seed/shared');
  refused(await weirCli(['checkpoints', 'inspect', dir, '--job', 'seed']), 'seed/shared');
  refused(await weirCli(['checkpoints', 'gc', dir, '--job', 'seed']), 'seed/shared');
  assert.deepEqual(await snapshot(outside), witness, 'files outside the root changed');
});

test('gc refuses a job directory that links outside the root (its orphans there are not deleted)', async () => {
  const dir = join(work, 'job-link');
  const outside = join(work, 'outside-job');
  await cp(seed, dir, { recursive: true });
  await linkOut(dir, 'seed', outside);
  await writeFile(join(outside, 'shared', 'not-referenced.sst'), 'an orphan outside the root');
  const witness = await snapshot(outside);
  refused(await weirCli(['checkpoints', 'gc', dir, '--job', 'seed']), 'seed');
  refused(await weirCli(['checkpoints', 'verify', dir, '--job', 'seed']), 'seed');
  assert.deepEqual(await snapshot(outside), witness, 'files outside the root changed');
});

test('a run resuming from a checkpoint whose shared/ and taskowned/ link outside refuses at start, reads and deletes nothing there', { timeout: 180_000 }, async () => {
  const dir = join(work, 'run');
  const input = join(dir, 'input.txt');
  const checkpoints = join(dir, 'checkpoints');
  await mkdir(dir, { recursive: true });
  makeInput(input, 3000, 200, rng(11));
  const args = (state: string, out: string, ...extra: string[]): string[] => [
    'run', wordcount, '--checkpoints', checkpoints, '--state-dir', join(dir, state), '--no-progress', '--ui-port', '0', '--state-backend', 'lsm',
    ...extra, '--', '--input', input, '--output', join(dir, out)];
  const first = await runWeir(args('state1', 'out', '--retained', '3'), {}, {}, join(checkpoints, 'wordcount'));
  assert.equal(first.code, 0, first.stderr);
  const outside = join(dir, 'outside');
  await mkdir(outside);
  await linkOut(checkpoints, 'wordcount/shared', join(outside, 'shared'));
  await linkOut(checkpoints, 'wordcount/taskowned', join(outside, 'taskowned'));
  const witness = await snapshot(outside);
  assert.ok(witness.size >= 2, `the outside directory holds the job's files (${witness.size})`);
  const second = await runWeir(args('state2', 'out', '--resume', 'latest', '--retained', '1'), {}, {}, join(checkpoints, 'wordcount'));
  const after = await snapshot(outside);
  const deleted = [...witness.keys()].filter((f) => !after.has(f));
  assert.deepEqual(deleted, [], 'files outside the root were deleted');
  assert.deepEqual(after, witness, 'files outside the root changed');
  refused({ code: second.code, stdout: '', stderr: second.stderr }, 'wordcount/(shared|taskowned)');
});

/**
 * Runs the real `bin/weir.js` (a child process, from another working directory) on a
 * checkpoint directory produced by the seed CP1–CP4 scenario.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, mkdtemp, readFile, readdir, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { runIncrementalTrace } from '../checkpoint/support/seed-trace-runner.ts';
import { SyntheticIncrementalSubtask } from '../checkpoint/support/synthetic-incremental-subtask.ts';

const BIN = fileURLToPath(new URL('../../bin/weir.js', import.meta.url));
let work: string;
let scenario: string;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function weir(...args: string[]): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: work, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'weir-cli-'));
  scenario = join(work, 'checkpoints');
  const storage = new LocalStorage({ root: scenario });
  const trace = await readFile(new URL('../checkpoint/testdata/seed-example.trace', import.meta.url), 'utf8');
  const run = await runIncrementalTrace({ trace, storage, job: 'seed', makeSubtask: (o, i) => new SyntheticIncrementalSubtask(storage, o, i) });
  await run.coordinator.stop();
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

async function copyOfScenario(name: string): Promise<string> {
  const dir = join(work, name);
  await cp(scenario, dir, { recursive: true });
  return dir;
}

test('list --json: the retained checkpoints 3 and 4 of job seed, with sizes', async () => {
  const r = await weir('checkpoints', 'list', scenario, '--json');
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.jobs.length, 1);
  assert.equal(doc.jobs[0].job, 'seed');
  assert.deepEqual(doc.jobs[0].checkpoints.map((c: { id: number }) => c.id), [3, 4]);
  for (const c of doc.jobs[0].checkpoints) assert.ok(c.fullSize > c.checkpointedSize && c.checkpointedSize > 0);
  const human = await weir('checkpoints', 'list', `file://${scenario}`);
  assert.equal(human.code, 0);
  assert.match(human.stdout, /seed\s+4\s+checkpoint/);
});

test('inspect --json: shared files per subtask with new/reused, registry counts as in the seed figure, no orphans', async () => {
  const r = await weir('checkpoints', 'inspect', scenario, '--json');
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout);
  assert.deepEqual(doc.checkpoints.map((c: { id: number }) => c.id), [3, 4]);
  const cp4 = doc.checkpoints[1];
  const files = cp4.subtasks[0].sharedFiles.map((f: { key: string; reused: boolean; uploadedBy: number; size: number; path: string }) => {
    assert.ok(f.size > 0 && f.path.startsWith('seed/shared/'));
    return `${f.key}:${f.reused ? 'reused' : 'new'}:${f.uploadedBy}`;
  });
  assert.deepEqual(files.sort(), ['op-2-1-sstable-(1,2,3):reused:3', 'op-2-1-sstable-(4,5,6):new:4']);
  const counts = doc.registry.map((e: { key: string; refCount: number; path: string; size: number }) => `${e.key}:${e.refCount}`);
  assert.deepEqual(counts.sort(), ['op-2-1-sstable-(1,2,3):2', 'op-2-1-sstable-(4):1', 'op-2-1-sstable-(4,5,6):1', 'op-2-1-sstable-(5):1']);
  assert.deepEqual(doc.orphans, []);
  const one = JSON.parse((await weir('checkpoints', 'inspect', scenario, '--checkpoint', '3', '--json')).stdout);
  assert.deepEqual(one.checkpoints.map((c: { id: number }) => c.id), [3]);
  const human = await weir('checkpoints', 'inspect', scenario);
  assert.match(human.stdout, /op-2-1-sstable-\(1,2,3\)\s+seed\/shared\/\S+\s+\d+ B\s+2\s+3\s+4/);
});

test('verify: OK on the intact directory; exit 1 naming a missing and a corrupted file', async () => {
  const ok = await weir('checkpoints', 'verify', scenario);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^OK: verified 6 file/);
  const dir = await copyOfScenario('damaged');
  const shared = (await readdir(join(dir, 'seed/shared'))).sort();
  const missing = shared.find((n) => n.endsWith('sstable-(4)'))!;
  const corrupted = shared.find((n) => n.endsWith('sstable-(4,5,6)'))!;
  await unlink(join(dir, 'seed/shared', missing));
  const bytes = await readFile(join(dir, 'seed/shared', corrupted));
  bytes[5] = bytes[5]! ^ 0x01;
  await writeFile(join(dir, 'seed/shared', corrupted), bytes);
  const bad = await weir('checkpoints', 'verify', dir, '--json');
  assert.equal(bad.code, 1);
  const doc = JSON.parse(bad.stdout);
  assert.equal(doc.ok, false);
  assert.deepEqual(doc.problems.map((p: { path: string; problem: string }) => `${p.path}:${p.problem}`).sort(), [
    `seed/shared/${missing}:missing`,
    `seed/shared/${corrupted}:checksum`,
  ]);
  const human = await weir('checkpoints', 'verify', dir);
  assert.equal(human.code, 1);
  assert.match(human.stdout, /FAILED: 2 problem/);
});

test('gc --dry-run lists the orphans and deletes nothing; gc deletes only the orphans', async () => {
  const dir = await copyOfScenario('with-orphans');
  await writeFile(join(dir, 'seed/shared/leaked-upload.sst'), 'x'.repeat(100));
  await writeFile(join(dir, 'seed/taskowned/leaked-MANIFEST'), 'y');
  await cp(join(dir, 'seed/taskowned'), join(dir, 'seed/chk-5'), { recursive: true }); // a checkpoint that never published _metadata
  const before = await listAll(dir);
  const dry = await weir('checkpoints', 'gc', dir, '--dry-run', '--json');
  assert.equal(dry.code, 0, dry.stderr);
  const orphans = JSON.parse(dry.stdout).orphans.map((o: { path: string }) => o.path).sort();
  assert.deepEqual(orphans.filter((p: string) => !p.startsWith('seed/chk-5/')), ['seed/shared/leaked-upload.sst', 'seed/taskowned/leaked-MANIFEST']);
  assert.ok(orphans.some((p: string) => p.startsWith('seed/chk-5/')));
  assert.deepEqual(await listAll(dir), before, 'dry run deleted nothing');
  const real = await weir('checkpoints', 'gc', dir);
  assert.equal(real.code, 0, real.stderr);
  const afterGc = await listAll(dir);
  assert.deepEqual(afterGc, before.filter((p) => !orphans.includes(p)));
  assert.equal((await weir('checkpoints', 'verify', dir)).code, 0, 'every referenced file is still there');
  assert.match((await weir('checkpoints', 'gc', dir)).stdout, /no orphans/);
});

test('usage and configuration errors: one line on stderr, exit 2', async () => {
  for (const args of [
    ['checkpoints', 'list', join(work, 'does-not-exist')],
    ['checkpoints', 'inspect', scenario, '--job', 'other'],
    ['checkpoints', 'inspect', 'ftp://host/x'],
    ['checkpoints', 'inspect', scenario, '--checkpoint', '1'],
    ['checkpoints', 'frobnicate'],
  ]) {
    const r = await weir(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stdout, '');
  }
});

async function listAll(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name).slice(dir.length + 1));
  }
  return out.sort();
}

/** LocalStorage specifics beyond the contract: what a user sees in the directory, and crash leftovers. */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultInjectingStorage } from '../../src/storage/fault-injecting-storage.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { ConfigError, PermanentStorageError } from '../../src/util/errors.ts';

let base: string;
let root: string;
let storage: LocalStorage;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'weir-localfs-'));
  root = join(base, 'root');
  storage = new LocalStorage({ root });
});
afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const rel = join(e.parentPath, e.name).slice(dir.length + 1);
    out.push(e.isDirectory() ? `${rel}/` : rel);
  }
  return out.sort();
}

test('objects are plain files a user can inspect, at <root>/<path>', async () => {
  await storage.write('job/chk-1/_metadata', enc('meta'));
  await storage.write('job/shared/a.sst', enc('sst'));
  assert.equal(await readFile(join(root, 'job', 'chk-1', '_metadata'), 'utf8'), 'meta');
  assert.deepEqual(await tree(root), ['job/', 'job/chk-1/', 'job/chk-1/_metadata', 'job/shared/', 'job/shared/a.sst']);
});

test('deleting objects removes directories left empty, but never the root', async () => {
  await storage.write('job/chk-1/sub/x', enc('1'));
  await storage.write('job/shared/a.sst', enc('2'));
  await storage.delete('job/chk-1/sub/x');
  assert.deepEqual(await tree(root), ['job/', 'job/shared/', 'job/shared/a.sst']);
  await storage.write('job/chk-2/_metadata', enc('3'));
  await storage.deletePrefix('job/chk-2/');
  assert.deepEqual(await tree(root), ['job/', 'job/shared/', 'job/shared/a.sst']);
  await storage.deletePrefix('');
  assert.deepEqual(await tree(root), []);
  assert.ok((await stat(root)).isDirectory());
});

test('a write that fails half way leaves no file at all on disk (not even a temp file)', async () => {
  const s = new FaultInjectingStorage(storage);
  await s.write('job/keep', enc('k'));
  s.failNext('write', 'job/chk-1/_metadata', undefined, 'partial');
  await assert.rejects(s.write('job/chk-1/_metadata', new Uint8Array(10_000)));
  const src = join(base, 'src');
  await writeFile(src, new Uint8Array(50_000));
  s.failNext('writeFile', 'job/shared/x.sst', undefined, 'partial');
  await assert.rejects(s.writeFile('job/shared/x.sst', src));
  const files = (await tree(root)).filter((f) => !f.endsWith('/'));
  assert.deepEqual(files, ['job/keep']);
});

test('temp files orphaned by a crash are invisible to list() and removed by sweepTempFiles()', async () => {
  await storage.write('job/shared/a.sst', enc('a'));
  // What a crash between write and rename leaves behind:
  await writeFile(join(root, 'job', 'shared', 'b.sst.weir-tmp-0123456789ab'), 'partial');
  await mkdir(join(root, 'job', 'chk-9'), { recursive: true });
  await writeFile(join(root, 'job', 'chk-9', '_metadata.weir-tmp-aaaaaaaaaaaa'), 'partial');
  assert.deepEqual(await storage.list(''), [{ path: 'job/shared/a.sst', size: 1 }]);
  assert.equal(await storage.stat('job/shared/b.sst'), undefined);
  // listTempFiles() shows them (what the job scan counts as orphans), delete() takes their paths
  assert.deepEqual(await storage.listTempFiles('job/'), [
    { path: 'job/chk-9/_metadata.weir-tmp-aaaaaaaaaaaa', size: 7 },
    { path: 'job/shared/b.sst.weir-tmp-0123456789ab', size: 7 },
  ]);
  assert.deepEqual(await storage.listTempFiles('job/shared/'), [{ path: 'job/shared/b.sst.weir-tmp-0123456789ab', size: 7 }]);
  for (const bad of ['job/shared/b.sst.weir-tmp-', 'job/shared/b.sst.weir-tmp-XYZ', 'job/x.weir-tmp-0123456789ab/y', '../b.sst.weir-tmp-0123456789ab']) {
    await assert.rejects(storage.delete(bad), ConfigError, bad);
  }
  await assert.rejects(storage.write('job/shared/c.weir-tmp-0123456789ab', enc('c')), ConfigError, 'an object may not carry the marker');
  await storage.delete('job/shared/b.sst.weir-tmp-0123456789ab');
  assert.equal(await storage.sweepTempFiles(), 1);
  assert.deepEqual((await tree(root)).filter((f) => !f.endsWith('/')), ['job/shared/a.sst']);
});

test('hostile paths never reach files outside the root', async () => {
  await mkdir(join(base, 'outside'), { recursive: true });
  await writeFile(join(base, 'outside', 'secret'), 'secret');
  await storage.write('x', enc('x'));
  for (const p of ['../outside/secret', 'a/../../outside/secret', `${base}/outside/secret`, '..\\outside\\secret']) {
    await assert.rejects(storage.read(p), ConfigError);
    await assert.rejects(storage.delete(p), ConfigError);
    await assert.rejects(storage.write(p, enc('pwned')), ConfigError);
  }
  await assert.rejects(storage.deletePrefix('../'), ConfigError);
  assert.equal(await readFile(join(base, 'outside', 'secret'), 'utf8'), 'secret');
});

test('an object and a "directory" of the same name: a clear PermanentStorageError', async () => {
  await storage.write('a/b', enc('file'));
  await assert.rejects(storage.write('a/b/c', enc('x')), (err: unknown) => {
    assert.ok(err instanceof PermanentStorageError);
    assert.match(err.message, /conflicts with an existing object/);
    return true;
  });
  await storage.write('d/e/f', enc('x'));
  await assert.rejects(storage.write('d/e', enc('x')), /conflicts/);
});

test('a closed storage refuses work', async () => {
  await storage.close();
  await assert.rejects(storage.write('a', enc('x')), /closed/);
  await assert.rejects(storage.list(''), /closed/);
});

/** LocalStorage specifics beyond the contract: what a user sees in the directory, and crash leftovers. */
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultInjectingStorage } from '../../src/storage/fault-injecting-storage.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { ConfigError, NotFoundError, PermanentStorageError } from '../../src/util/errors.ts';

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

/** Blocks this thread (no event loop turn) until `done()` or `ms` elapse; returns whether `done()` became true. */
function blockUntil(done: () => boolean, ms: number): boolean {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (done()) return true;
    Atomics.wait(cell, 0, 0, 5);
  }
  return done();
}

test('write and writeFile publish on the storage I/O thread: the object appears while the calling thread is blocked', async () => {
  // A task thread at full speed turns its event loop every few ms; a publication that
  // needed a turn per step (stat, open, copy, each read of the checksum, fsync, rename…)
  // would not move at all here, where this thread never turns.
  const src = join(base, 'table.sst');
  const bytes = new Uint8Array(3 << 20).map((_, i) => (i * 31) & 0xff);
  await writeFile(src, bytes);
  await storage.write('job/warm-up', enc('x')); // the thread's start (a module load) is not what is measured
  const uploaded = storage.writeFile('job/shared/table.sst', src);
  const written = storage.write('job/taskowned/meta', enc('meta'));
  const dest = join(root, 'job', 'shared', 'table.sst');
  const meta = join(root, 'job', 'taskowned', 'meta');
  const exists = (p: string): boolean => {
    try {
      return statSync(p).isFile();
    } catch {
      return false;
    }
  };
  assert.ok(blockUntil(() => exists(dest) && exists(meta), 20_000), 'both objects were published while this thread was blocked');
  const r = await uploaded;
  assert.equal(r.size, bytes.length);
  assert.deepEqual(new Uint8Array(await readFile(dest)), bytes);
  assert.equal((await written).size, 4);
  assert.equal(await readFile(meta, 'utf8'), 'meta');
  assert.deepEqual((await tree(root)).filter((p) => p.includes('.weir-tmp')), [], 'no temp file left');
});

test('writeFile of a missing or non-regular local file is the caller\'s error (PermanentStorageError), not an object NotFound', async () => {
  await assert.rejects(storage.writeFile('job/shared/x', join(base, 'missing.sst')), (err: unknown) =>
    err instanceof PermanentStorageError && !(err instanceof NotFoundError) && /cannot upload .*missing\.sst/.test(err.message));
  await mkdir(join(base, 'a-dir'));
  await assert.rejects(storage.writeFile('job/shared/x', join(base, 'a-dir')), (err: unknown) =>
    err instanceof PermanentStorageError && /not a regular file/.test(err.message));
  assert.equal(existsSync(root), false, 'nothing created: the source is checked before any directory is made');
});

test('a write that conflicts with a directory fails as PermanentStorageError and leaves no temp file', async () => {
  await storage.write('job/a/b', enc('inner'));
  await assert.rejects(storage.write('job/a', enc('outer')), (err: unknown) => err instanceof PermanentStorageError && /conflicts/.test(err.message));
  assert.deepEqual(await tree(root), ['job/', 'job/a/', 'job/a/b']);
});

test('write copies the bytes it sends to the I/O thread: the caller\'s Buffer (and the pool slab it views) stays usable', async () => {
  const pooled = Buffer.from('small pooled bytes'); // a view into Node's shared 8 KiB pool
  const neighbour = Buffer.from('another view of the pool');
  const big = Buffer.alloc(1 << 16, 7);
  const view = big.subarray(100, 200);
  await storage.write('job/a', pooled);
  await storage.write('job/b', view);
  assert.equal(pooled.toString(), 'small pooled bytes');
  assert.equal(neighbour.toString(), 'another view of the pool');
  assert.equal(big.buffer.byteLength, 1 << 16, 'not detached');
  assert.equal(view[0], 7);
  assert.equal(await readFile(join(root, 'job', 'a'), 'utf8'), 'small pooled bytes');
  assert.deepEqual(new Uint8Array(await readFile(join(root, 'job', 'b'))), new Uint8Array(100).fill(7));
});

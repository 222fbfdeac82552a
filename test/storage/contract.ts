/**
 * The CheckpointStorage contract (DESIGN.md §3.4): one suite, run against every
 * implementation (memory, local, S3). Each test gets a fresh, empty storage from
 * `create()` and hands it to `cleanup()` afterwards.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CheckpointStorage } from '../../src/storage/checkpoint-storage.ts';
import { limitConcurrency } from '../../src/storage/concurrency.ts';
import { FaultInjectingStorage } from '../../src/storage/fault-injecting-storage.ts';
import { supportsStreamingWrite } from '../../src/storage/streaming-write.ts';
import { crc32c, crc32cHex } from '../../src/util/crc32c.ts';
import {
  AlreadyExistsError,
  ConfigError,
  CorruptionError,
  NotFoundError,
  PermanentStorageError,
  TransientStorageError,
} from '../../src/util/errors.ts';

export interface ContractOptions {
  create: () => Promise<CheckpointStorage>;
  cleanup?: (storage: CheckpointStorage) => Promise<void>;
  /** Size of the "large" object: above the implementation's multipart/streaming threshold. Default 3 MiB + 17. */
  largeObjectSize?: number;
  /**
   * Whether the store honours an exclusive create. Default true. s3rver ignores
   * `If-None-Match: *` on PutObject (it implements the header for GET only), so against it
   * the contract checks only that create() writes; the lease's read-back covers the rest.
   */
  exclusiveCreate?: boolean;
}

export const HOSTILE_PATHS: readonly string[] = [
  '../x',
  'a/../../b',
  '/etc/passwd',
  'a//b',
  'a/./b',
  '.',
  '..',
  'a/',
  '',
  'a\\b',
  '..\\..\\x',
  'a\u0000b',
  'a/b\n',
  `a/${'x'.repeat(1000)}`,
  'a/b.weir-tmp-123456',
];

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function checksum(data: Uint8Array): string {
  return crc32cHex(crc32c(data));
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

export function runCheckpointStorageContract(name: string, options: ContractOptions): void {
  const large = options.largeObjectSize ?? 3 * 1024 * 1024 + 17;

  async function withStorage(fn: (storage: CheckpointStorage, dir: string) => Promise<void>): Promise<void> {
    const storage = await options.create();
    const dir = await mkdtemp(join(tmpdir(), 'weir-contract-'));
    try {
      await fn(storage, dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
      if (options.cleanup) await options.cleanup(storage);
      else await storage.close();
    }
  }

  describe(`CheckpointStorage contract: ${name}`, () => {
    test('uri names the storage and carries no credentials', () =>
      withStorage(async (s) => {
        assert.match(s.uri, /^[a-z0-9+]+:\/\//);
        assert.doesNotMatch(s.uri, /@|secret|password|S3RVER/i);
      }));

    test('create() writes an absent object; a second create of the same path is AlreadyExistsError and keeps the first', () =>
      withStorage(async (s) => {
        assert.ok(s.create !== undefined, `${name} has no create()`);
        const first = utf8('{"runId":"a"}');
        const r = await s.create('job/_lease', first);
        assert.deepEqual(r, { size: first.length, checksum: checksum(first) });
        assert.deepEqual(await s.read('job/_lease'), first);
        if (options.exclusiveCreate === false) return;
        await assert.rejects(s.create('job/_lease', utf8('{"runId":"b"}')), (e: unknown) => e instanceof AlreadyExistsError);
        assert.deepEqual(await s.read('job/_lease'), first);
        // two at once: exactly one wins
        const both = await Promise.allSettled([s.create('job/x', utf8('1')), s.create('job/x', utf8('2'))]);
        assert.equal(both.filter((b) => b.status === 'fulfilled').length, 1, JSON.stringify(both));
        await s.delete('job/_lease');
        await s.create('job/_lease', utf8('again'));
        assert.deepEqual(await s.list('job/'), [{ path: 'job/_lease', size: 5 }, { path: 'job/x', size: 1 }]);
      }));

    test('write/read round trip: empty, small, all byte values; checksum is CRC-32C of the bytes', () =>
      withStorage(async (s) => {
        const cases: Array<[string, Uint8Array]> = [
          ['job/empty', new Uint8Array(0)],
          ['job/one', Uint8Array.of(0)],
          ['job/all-bytes', Uint8Array.from({ length: 256 }, (_, i) => i)],
          ['job/chk-1/_metadata', bytes(10_000, 7)],
          ['job/ünïcode ✓/file name', utf8('hello')],
        ];
        for (const [path, data] of cases) {
          const result = await s.write(path, data);
          assert.equal(result.size, data.length, path);
          assert.equal(result.checksum, checksum(data), path);
          assert.match(result.checksum, /^[0-9a-f]{8}$/);
        }
        for (const [path, data] of cases) {
          assert.deepEqual(await s.read(path), data, path);
          assert.deepEqual(await s.stat(path), { path, size: data.length });
        }
      }));

    test('a stored object does not change when the caller mutates its buffers', () =>
      withStorage(async (s) => {
        const data = bytes(64, 3);
        const original = Uint8Array.from(data);
        await s.write('a/b', data);
        data.fill(0);
        const read1 = await s.read('a/b');
        assert.deepEqual(read1, original);
        read1.fill(9);
        assert.deepEqual(await s.read('a/b'), original);
      }));

    test('overwriting a path replaces the whole object', () =>
      withStorage(async (s) => {
        await s.write('x/y', bytes(5000, 1));
        await s.write('x/y', utf8('short'));
        assert.deepEqual(await s.read('x/y'), utf8('short'));
        assert.equal((await s.stat('x/y'))?.size, 5);
      }));

    test(`large object (${large} bytes, above the multipart threshold) via writeFile and write`, () =>
      withStorage(async (s, dir) => {
        const data = bytes(large, 11);
        const src = join(dir, 'big.sst');
        await writeFile(src, data);
        const viaFile = await s.writeFile('job/shared/big.sst', src);
        assert.deepEqual(viaFile, { size: large, checksum: checksum(data) });
        const viaWrite = await s.write('job/shared/big2.sst', data);
        assert.deepEqual(viaWrite, viaFile);
        assert.equal((await s.stat('job/shared/big.sst'))?.size, large);
        const out = join(dir, 'restored', 'big.sst');
        await s.readToFile('job/shared/big.sst', out, viaFile);
        assert.ok(Buffer.from(await readFile(out)).equals(Buffer.from(data)), 'downloaded bytes differ');
        assert.ok(Buffer.from(await s.read('job/shared/big2.sst')).equals(Buffer.from(data)), 'read bytes differ');
      }));

    test('writeFile of an empty file, readToFile creates missing directories', () =>
      withStorage(async (s, dir) => {
        const src = join(dir, 'empty');
        await writeFile(src, new Uint8Array(0));
        assert.deepEqual(await s.writeFile('e/mpty', src), { size: 0, checksum: checksum(new Uint8Array(0)) });
        const out = join(dir, 'deep', 'er', 'out');
        await s.readToFile('e/mpty', out, { size: 0 });
        assert.equal((await readFile(out)).length, 0);
      }));

    test('readToFile verifies size and CRC-32C: a mismatch is a CorruptionError naming the path, and the local file is untouched', () =>
      withStorage(async (s, dir) => {
        const data = bytes(4096, 5);
        const src = join(dir, 'src');
        await writeFile(src, data);
        const result = await s.writeFile('job/shared/f.sst', src);
        const out = join(dir, 'out');
        await writeFile(out, 'previous');

        const wrongSum = result.checksum === '00000000' ? '00000001' : '00000000';
        await assert.rejects(s.readToFile('job/shared/f.sst', out, { checksum: wrongSum }), (err: unknown) => {
          assert.ok(err instanceof CorruptionError, `expected CorruptionError, got ${String(err)}`);
          assert.ok(err.file.includes('job/shared/f.sst'), err.file);
          return true;
        });
        await assert.rejects(s.readToFile('job/shared/f.sst', out, { size: 4095 }), CorruptionError);
        await assert.rejects(s.readToFile('job/shared/f.sst', out, { size: 4096, checksum: wrongSum }), CorruptionError);
        assert.equal(await readFile(out, 'utf8'), 'previous');
        assert.deepEqual((await readdir(dir)).sort(), ['out', 'src'], 'temp files left behind');

        await s.readToFile('job/shared/f.sst', out, { size: 4096, checksum: result.checksum.toUpperCase() });
        assert.ok((await readFile(out)).equals(Buffer.from(data)));
        await s.readToFile('job/shared/f.sst', join(dir, 'unchecked'));
        assert.ok((await readFile(join(dir, 'unchecked'))).equals(Buffer.from(data)));
      }));

    test('read, readToFile of a missing object: NotFoundError, no local file created; stat: undefined', () =>
      withStorage(async (s, dir) => {
        await s.write('present/x', utf8('x'));
        await assert.rejects(s.read('missing/x'), NotFoundError);
        await assert.rejects(s.read('present'), NotFoundError); // a "directory" is not an object
        await assert.rejects(s.readToFile('missing/x', join(dir, 'out')), NotFoundError);
        assert.deepEqual(await readdir(dir), []);
        assert.equal(await s.stat('missing/x'), undefined);
        assert.equal(await s.stat('present'), undefined);
      }));

    test('writeFile of a missing local file is a PermanentStorageError and writes nothing', () =>
      withStorage(async (s, dir) => {
        await assert.rejects(s.writeFile('a/b', join(dir, 'no-such-file')), PermanentStorageError);
        assert.equal(await s.stat('a/b'), undefined);
      }));

    test('list: recursive, sorted by path, string-prefix semantics ("a/" does not match "ab/")', () =>
      withStorage(async (s) => {
        const paths = ['ab/x', 'a/z', 'a/b/c/d', 'a/b/c2', 'a/a', 'a-b/x', 'b', 'a/b/c.2', 'abc'];
        for (const [i, p] of paths.entries()) await s.write(p, bytes(i, i + 1));
        const all = await s.list('');
        assert.deepEqual(all.map((o) => o.path), ['a-b/x', 'a/a', 'a/b/c.2', 'a/b/c/d', 'a/b/c2', 'a/z', 'ab/x', 'abc', 'b']);
        for (const o of all) assert.equal(o.size, paths.indexOf(o.path), o.path);
        assert.deepEqual((await s.list('a/')).map((o) => o.path), ['a/a', 'a/b/c.2', 'a/b/c/d', 'a/b/c2', 'a/z']);
        assert.deepEqual((await s.list('a/b/')).map((o) => o.path), ['a/b/c.2', 'a/b/c/d', 'a/b/c2']);
        assert.deepEqual((await s.list('a/b/c')).map((o) => o.path), ['a/b/c.2', 'a/b/c/d', 'a/b/c2']);
        assert.deepEqual((await s.list('a/b/c/')).map((o) => o.path), ['a/b/c/d']);
        assert.deepEqual((await s.list('ab/')).map((o) => o.path), ['ab/x']);
        assert.deepEqual((await s.list('ab')).map((o) => o.path), ['ab/x', 'abc']);
        assert.deepEqual(await s.list('zzz/'), []);
        assert.deepEqual(await s.list('a/zz'), []);
      }));

    test('an object path that is also a prefix of another: either both exist, or a PermanentStorageError and the first is intact', () =>
      withStorage(async (s) => {
        await s.write('x/obj', utf8('first'));
        try {
          await s.write('x/obj/child', utf8('second'));
          assert.deepEqual(await s.read('x/obj/child'), utf8('second'));
        } catch (err) {
          assert.ok(err instanceof PermanentStorageError, `expected PermanentStorageError, got ${String(err)}`);
          assert.match(err.message, /conflict/);
          assert.equal(await s.stat('x/obj/child'), undefined);
        }
        assert.deepEqual(await s.read('x/obj'), utf8('first'));
      }));

    test('list is ordered like S3 (by UTF-8 bytes) for many objects', () =>
      withStorage(async (s) => {
        const names = Array.from({ length: 40 }, (_, i) => `job/shared/${(i * 7919) % 1000}-${i % 3 === 0 ? 'é' : 'e'}.sst`);
        const limit = limitConcurrency(8);
        await Promise.all(names.map((n) => limit(() => s.write(n, utf8(n)))));
        const listed = (await s.list('job/shared/')).map((o) => o.path);
        const expected = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
        assert.deepEqual(listed, expected);
      }));

    test('delete: removes one object, is idempotent, never removes objects below a same-named prefix', () =>
      withStorage(async (s) => {
        await s.write('d/one', utf8('1'));
        await s.write('d/one-more', utf8('2'));
        await s.write('d/sub/x', utf8('3'));
        await s.delete('d/one');
        await s.delete('d/one');
        await s.delete('never/existed');
        await s.delete('d/sub'); // not an object
        assert.equal(await s.stat('d/one'), undefined);
        await assert.rejects(s.read('d/one'), NotFoundError);
        assert.deepEqual((await s.list('')).map((o) => o.path), ['d/one-more', 'd/sub/x']);
        await s.delete('d/sub/x');
        await s.delete('d/one-more');
        assert.deepEqual(await s.list(''), []);
        await s.write('d/sub/x', utf8('again')); // the emptied "directories" can be written again
        assert.deepEqual(await s.read('d/sub/x'), utf8('again'));
      }));

    test('deletePrefix: recursive, leaves siblings with a longer name alone, absent prefix is fine', () =>
      withStorage(async (s) => {
        for (const p of ['job/chk-1/_metadata', 'job/chk-1/sub/deep/x', 'job/chk-10/_metadata', 'job/chk-1x', 'job/shared/a.sst', 'other/y']) {
          await s.write(p, utf8(p));
        }
        await s.deletePrefix('job/chk-1/');
        assert.deepEqual((await s.list('')).map((o) => o.path), ['job/chk-10/_metadata', 'job/chk-1x', 'job/shared/a.sst', 'other/y']);
        await s.deletePrefix('job/chk-1/');
        await s.deletePrefix('no/such/prefix/');
        await assert.rejects(s.deletePrefix('job/chk-1'), ConfigError, 'a prefix without "/" would also delete chk-10');
        await s.deletePrefix('job/');
        assert.deepEqual((await s.list('')).map((o) => o.path), ['other/y']);
        await s.deletePrefix('');
        assert.deepEqual(await s.list(''), []);
      }));

    test('deletePrefix removes more objects than one listing page / delete batch', () =>
      withStorage(async (s) => {
        const limit = limitConcurrency(8);
        const n = 45;
        await Promise.all(Array.from({ length: n }, (_, i) => limit(() => s.write(`job/chk-7/f-${String(i).padStart(3, '0')}`, Uint8Array.of(i)))));
        await s.write('job/keep', Uint8Array.of(1));
        assert.equal((await s.list('job/chk-7/')).length, n);
        await s.deletePrefix('job/chk-7/');
        assert.deepEqual((await s.list('')).map((o) => o.path), ['job/keep']);
      }));

    test('hostile paths are ConfigErrors on every method, and nothing is written', () =>
      withStorage(async (s, dir) => {
        const src = join(dir, 'f');
        await writeFile(src, 'x');
        for (const p of HOSTILE_PATHS) {
          const calls: Array<[string, () => Promise<unknown>]> = [
            ['write', () => s.write(p, utf8('x'))],
            ['writeFile', () => s.writeFile(p, src)],
            ['read', () => s.read(p)],
            ['readToFile', () => s.readToFile(p, join(dir, 'out'))],
            ['stat', () => s.stat(p)],
            ['delete', () => s.delete(p)],
          ];
          for (const [method, call] of calls) {
            await assert.rejects(call(), ConfigError, `${method}(${JSON.stringify(p)}) should be a ConfigError`);
          }
        }
        // Errors come as rejections, never as synchronous throws.
        for (const call of [() => s.read('../x'), () => s.write('/abs', utf8('x')), () => s.list('../'), () => s.deletePrefix('a')]) {
          let promise: Promise<unknown> | undefined;
          assert.doesNotThrow(() => {
            promise = call();
          });
          await assert.rejects(promise!, ConfigError);
        }
        for (const prefix of ['../', 'a/../', '/etc/', 'a//', '..', 'a\\', '\u0000']) {
          await assert.rejects(s.list(prefix), ConfigError, `list(${JSON.stringify(prefix)})`);
          await assert.rejects(s.deletePrefix(prefix), ConfigError, `deletePrefix(${JSON.stringify(prefix)})`);
        }
        assert.deepEqual(await s.list(''), []);
      }));

    test('atomicity: a write that fails half way leaves nothing visible (and an old object intact)', () =>
      withStorage(async (inner, dir) => {
        assert.ok(supportsStreamingWrite(inner), 'implementation must support writeStream so faults can reach inside it');
        const s = new FaultInjectingStorage(inner);
        const data = bytes(100_000, 9);
        const src = join(dir, 'src');
        await writeFile(src, data);

        s.failNext('write', 'p/new', undefined, 'partial');
        await assert.rejects(s.write('p/new', data), TransientStorageError);
        s.failNext('writeFile', 'p/new-file', undefined, 'partial');
        await assert.rejects(s.writeFile('p/new-file', src), TransientStorageError);
        assert.equal(await s.stat('p/new'), undefined);
        assert.equal(await s.stat('p/new-file'), undefined);
        await assert.rejects(s.read('p/new'), NotFoundError);
        assert.deepEqual(await s.list(''), []);

        await s.write('p/old', utf8('old contents'));
        s.failNext('write', 'p/old', undefined, 'partial');
        await assert.rejects(s.write('p/old', data), TransientStorageError);
        s.failNext('writeFile', 'p/old', undefined, 'partial');
        await assert.rejects(s.writeFile('p/old', src), TransientStorageError);
        assert.deepEqual(await s.read('p/old'), utf8('old contents'));
        assert.deepEqual(await s.list(''), [{ path: 'p/old', size: 12 }]);
        assert.equal(s.counters().programmed, 4);

        // Random partial writes, every time: still nothing visible.
        s.configure({ partialWriteRate: 1 });
        for (let i = 0; i < 5; i++) await assert.rejects(s.write(`r/${i}`, data), TransientStorageError);
        assert.equal(s.counters().partialWrites, 5);
        assert.deepEqual(await s.list('r/'), []);
      }));

    test('concurrent writes to different paths all land', () =>
      withStorage(async (s) => {
        const n = 24;
        const limit = limitConcurrency(6);
        const results = await Promise.all(
          Array.from({ length: n }, (_, i) => limit(() => s.write(`c/${i % 4}/obj-${i}`, bytes(1000 + i, i + 1)))),
        );
        assert.equal(results.length, n);
        const listed = await s.list('c/');
        assert.equal(listed.length, n);
        await Promise.all(
          Array.from({ length: n }, (_, i) =>
            limit(async () => assert.deepEqual(await s.read(`c/${i % 4}/obj-${i}`), bytes(1000 + i, i + 1))),
          ),
        );
      }));

    test('concurrent writes and deletes in the same directory do not fail each other', () =>
      withStorage(async (s) => {
        const limit = limitConcurrency(8);
        const ops: Array<Promise<unknown>> = [];
        for (let i = 0; i < 30; i++) {
          const path = `dir/sub/o${i}`;
          ops.push(limit(async () => {
            await s.write(path, Uint8Array.of(i));
            if (i % 2 === 0) await s.delete(path);
          }));
        }
        await Promise.all(ops);
        const listed = (await s.list('dir/')).map((o) => o.path);
        assert.deepEqual(listed, Array.from({ length: 15 }, (_, k) => `dir/sub/o${2 * k + 1}`).sort());
      }));
  });
}

export { bytes as testBytes };

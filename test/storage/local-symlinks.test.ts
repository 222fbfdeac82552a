/**
 * LocalStorage never resolves outside its root (issue 9, defect 8): every operation on a
 * path below a symlinked directory, or on an object that is itself a symlink, is refused
 * with a PermanentStorageError naming the link, and the files outside stay untouched.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { PermanentStorageError } from '../../src/util/errors.ts';

const isLinkError = (link: string) => (e: unknown): boolean =>
  e instanceof PermanentStorageError && new RegExp(`${link} is a symbolic link`).test(e.message);

test('every operation through a symlinked directory or on a symlinked object is refused; outside is untouched', async () => {
  const base = await mkdtemp(join(tmpdir(), 'weir-links-'));
  try {
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    await mkdir(join(root, 'job'), { recursive: true });
    await mkdir(outside);
    await writeFile(join(outside, 'victim'), 'outside');
    await symlink(outside, join(root, 'job', 'shared'), 'dir');
    await symlink(join(outside, 'victim'), join(root, 'job', 'leaf'));
    const s = new LocalStorage({ root });
    const tmp = join(base, 'local');
    await writeFile(tmp, 'upload');

    const viaDir: Array<[string, () => Promise<unknown>]> = [
      ['read', () => s.read('job/shared/victim')],
      ['readToFile', () => s.readToFile('job/shared/victim', join(base, 'copy'))],
      ['stat', () => s.stat('job/shared/victim')],
      ['write', () => s.write('job/shared/new', new Uint8Array([1]))],
      ['writeFile', () => s.writeFile('job/shared/new', tmp)],
      ['writeStream', () => s.writeStream('job/shared/new', [new Uint8Array([1])])],
      ['delete', () => s.delete('job/shared/victim')],
      ['deletePrefix', () => s.deletePrefix('job/shared/')],
      ['list(dir)', () => s.list('job/shared/')],
    ];
    for (const [what, op] of viaDir) await assert.rejects(op(), isLinkError('job/shared'), what);
    // a listing above the links meets one of them first
    await assert.rejects(s.list('job/'), isLinkError('job/(shared|leaf)'), 'list(job)');
    await assert.rejects(s.list(''), isLinkError('job/(shared|leaf)'), 'list(all)');
    for (const [what, op] of [
      ['read', () => s.read('job/leaf')],
      ['readToFile', () => s.readToFile('job/leaf', join(base, 'copy'))],
      ['stat', () => s.stat('job/leaf')],
    ] as Array<[string, () => Promise<unknown>]>) {
      await assert.rejects(op(), isLinkError('job/leaf'), what);
    }
    // unlink of a link removes the link only
    await s.delete('job/leaf');
    assert.deepEqual(await readdir(outside), ['victim']);
    assert.equal(await readFile(join(outside, 'victim'), 'utf8'), 'outside');
    // a root that is itself a link is the user's choice and works
    await rm(join(root, 'job', 'shared'));
    const linkedRoot = join(base, 'root-link');
    await symlink(root, linkedRoot, 'dir');
    const viaRootLink = new LocalStorage({ root: linkedRoot });
    await viaRootLink.write('job/shared/a', new Uint8Array([7]));
    assert.deepEqual((await viaRootLink.list('job/')).map((o) => o.path), ['job/shared/a']);
    assert.deepEqual([...(await viaRootLink.read('job/shared/a'))], [7]);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

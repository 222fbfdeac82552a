import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve, sep } from 'node:path';
import fc from 'fast-check';
import { comparePaths, validateDeletePrefix, validatePath, validatePrefix } from '../../src/storage/paths.ts';
import { ConfigError } from '../../src/util/errors.ts';
import { HOSTILE_PATHS } from './contract.ts';

test('hostile paths are rejected with a ConfigError that quotes the path', () => {
  for (const p of HOSTILE_PATHS) {
    assert.throws(() => validatePath(p), ConfigError, JSON.stringify(p));
  }
  assert.throws(() => validatePath('../x'), /"\.\.\/x".*"\.\." segment/);
  assert.throws(() => validatePath('/etc/passwd'), /leading "\/"/);
  assert.throws(() => validatePath('a//b'), /empty segment/);
  assert.throws(() => validatePath('a\\b'), /backslash/);
  assert.throws(() => validatePath('a\u0000b'), /NUL/);
});

test('ordinary checkpoint paths are accepted', () => {
  for (const p of ['job/chk-3/_metadata', 'job/shared/3f2a-000042.sst', 'a', '.hidden/x', 'a/..b/c', 'a/b..', 'ünïcode/✓', 'x y/z']) {
    assert.equal(validatePath(p), p);
  }
});

test('prefixes: "" and a path with an optional trailing "/"; deletePrefix needs the "/"', () => {
  for (const p of ['', 'a', 'a/', 'job/chk-', 'job/chk-1/']) assert.equal(validatePrefix(p), p);
  for (const p of ['/', '../', 'a//', 'a/../', '/a/']) assert.throws(() => validatePrefix(p), ConfigError, p);
  assert.equal(validateDeletePrefix(''), '');
  assert.equal(validateDeletePrefix('job/chk-1/'), 'job/chk-1/');
  assert.throws(() => validateDeletePrefix('job/chk-1'), /chk-10/);
});

test('property: every accepted path stays inside the root when joined or resolved', () => {
  const root = resolve('/srv/weir-root');
  const segment = fc.string({ unit: fc.constantFrom('a', 'b', '.', '/', '\\', '\u0000', '-'), maxLength: 6 });
  fc.assert(
    fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), (parts) => {
      const path = parts.join('/');
      let ok = true;
      try {
        validatePath(path);
      } catch (err) {
        assert.ok(err instanceof ConfigError);
        ok = false;
      }
      if (ok) {
        assert.ok(join(root, ...path.split('/')).startsWith(root + sep), path);
        assert.ok(resolve(root, path).startsWith(root + sep), path);
        assert.ok(!path.includes('\\') && !path.startsWith('/'));
      }
    }),
    { numRuns: 2000, seed: 42 },
  );
});

test('comparePaths orders by UTF-8 bytes (S3 order), not UTF-16 code units', () => {
  // U+FF61 sorts after the surrogate pair of U+1F600 in UTF-16, before it in UTF-8.
  const emoji = 'a/\u{1F600}';
  const halfwidth = 'a/\uFF61';
  assert.ok(halfwidth > emoji, 'JS string order (UTF-16) puts the halfwidth char last');
  assert.ok(comparePaths(halfwidth, emoji) < 0, 'byte order puts it first');
  assert.ok(comparePaths('a/b', 'a/b') === 0);
  assert.ok(comparePaths('a-b', 'a/b') < 0);
  assert.deepEqual(['b', 'a/z', 'a/b/c', 'a-b'].sort(comparePaths), ['a-b', 'a/b/c', 'a/z', 'b']);
});

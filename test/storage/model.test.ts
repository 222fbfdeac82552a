/**
 * Model-based test: random sequences of write / delete / deletePrefix against an
 * implementation and a plain Map; after every step, list(), stat() and read() must agree
 * with the model. Paths are shaped so that no object is also a "directory" of another
 * (which LocalStorage cannot represent): directories d0..d2, objects f0..f2 at depth 1..3.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import type { CheckpointStorage } from '../../src/storage/checkpoint-storage.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { comparePaths } from '../../src/storage/paths.ts';

type Op =
  | { kind: 'write'; path: string; size: number }
  | { kind: 'delete'; path: string }
  | { kind: 'deletePrefix'; prefix: string }
  | { kind: 'list'; prefix: string };

const dirs = fc.array(fc.constantFrom('d0', 'd1', 'd2'), { minLength: 0, maxLength: 2 });
const objectPath = fc.tuple(dirs, fc.constantFrom('f0', 'f1', 'f2')).map(([d, f]) => [...d, f].join('/'));
const dirPrefix = dirs.map((d) => (d.length === 0 ? '' : `${d.join('/')}/`));
const listPrefix = fc.oneof(dirPrefix, objectPath, dirPrefix.map((p) => `${p}f`), dirPrefix.map((p) => `${p}d`));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('write' as const), path: objectPath, size: fc.nat(300) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), path: objectPath }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deletePrefix' as const), prefix: dirPrefix }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('list' as const), prefix: listPrefix }) },
);

function content(path: string, size: number, step: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (i * 31 + step + path.length) & 0xff);
}

async function check(s: CheckpointStorage, model: Map<string, Uint8Array>, prefix = ''): Promise<void> {
  const expected = [...model.entries()]
    .filter(([p]) => p.startsWith(prefix))
    .map(([path, data]) => ({ path, size: data.length }))
    .sort((a, b) => comparePaths(a.path, b.path));
  assert.deepEqual(await s.list(prefix), expected, `list(${JSON.stringify(prefix)})`);
}

async function runModel(create: () => Promise<{ storage: CheckpointStorage; dispose: () => Promise<void> }>, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), async (ops) => {
      const { storage, dispose } = await create();
      const model = new Map<string, Uint8Array>();
      try {
        for (const [step, o] of ops.entries()) {
          switch (o.kind) {
            case 'write': {
              const data = content(o.path, o.size, step);
              await storage.write(o.path, data);
              model.set(o.path, data);
              break;
            }
            case 'delete':
              await storage.delete(o.path);
              model.delete(o.path);
              break;
            case 'deletePrefix':
              await storage.deletePrefix(o.prefix);
              for (const p of [...model.keys()]) if (p.startsWith(o.prefix)) model.delete(p);
              break;
            case 'list':
              await check(storage, model, o.prefix);
              break;
          }
        }
        await check(storage, model);
        for (const [path, data] of model) assert.deepEqual(await storage.read(path), data, path);
        for (const path of ['f0', 'd0/f1', 'd1/d2/f2']) {
          assert.equal((await storage.stat(path))?.size, model.get(path)?.length, path);
        }
      } finally {
        await dispose();
      }
    }),
    { numRuns, seed: 20261124 },
  );
}

test('model: MemoryStorage behaves like a sorted map', async () => {
  await runModel(async () => {
    const storage = new MemoryStorage();
    return { storage, dispose: () => storage.close() };
  }, 200);
});

test('model: LocalStorage behaves like a sorted map (dir creation and pruning included)', async () => {
  await runModel(async () => {
    const base = await mkdtemp(join(tmpdir(), 'weir-model-'));
    const storage = new LocalStorage({ root: join(base, 'root') });
    return { storage, dispose: () => rm(base, { recursive: true, force: true }) };
  }, 60);
});

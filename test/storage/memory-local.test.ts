import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CorruptionError } from '../../src/util/errors.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { runCheckpointStorageContract } from './contract.ts';

runCheckpointStorageContract('memory', {
  create: async () => new MemoryStorage(),
});

const roots: string[] = [];
after(async () => {
  for (const root of roots) await rm(root, { recursive: true, force: true });
});

runCheckpointStorageContract('local', {
  create: async () => {
    const root = await mkdtemp(join(tmpdir(), 'weir-local-'));
    roots.push(root);
    return new LocalStorage({ root: join(root, 'store') });
  },
  cleanup: async (storage) => {
    await storage.close();
  },
});

test('bit rot is caught: a stored byte flipped after the write fails readToFile with a CorruptionError naming the object', async () => {
  const base = await mkdtemp(join(tmpdir(), 'weir-rot-'));
  roots.push(base);
  const data = Uint8Array.from({ length: 5000 }, (_, i) => i & 0xff);

  const memory = new MemoryStorage({ name: 'rot' });
  const w1 = await memory.write('job/shared/a.sst', data);
  memory.corrupt('job/shared/a.sst', 1234);
  await assert.rejects(memory.readToFile('job/shared/a.sst', join(base, 'm'), w1), (err: unknown) => {
    assert.ok(err instanceof CorruptionError);
    assert.equal(err.file, 'memory://rot/job/shared/a.sst');
    return true;
  });

  const local = new LocalStorage({ root: join(base, 'root') });
  const w2 = await local.write('job/shared/a.sst', data);
  const onDisk = join(base, 'root', 'job', 'shared', 'a.sst');
  const bytes = await readFile(onDisk);
  bytes[4321] = bytes[4321]! ^ 0x01;
  await writeFile(onDisk, bytes);
  await assert.rejects(local.readToFile('job/shared/a.sst', join(base, 'l'), w2), (err: unknown) => {
    assert.ok(err instanceof CorruptionError);
    assert.match(err.message, /job\/shared\/a\.sst.*CRC-32C/);
    return true;
  });
  await assert.rejects(readFile(join(base, 'l')), /ENOENT/, 'no local file from a corrupt download');
});

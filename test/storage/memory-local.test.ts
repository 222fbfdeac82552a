import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
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

/** MeteredStorage counts bytes and objects through any CheckpointStorage and changes nothing else. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { supportsStreamingWrite } from '../../src/storage/streaming-write.ts';
import type { CheckpointStorage } from '../../src/storage/checkpoint-storage.ts';
import { MeteredStorage } from '../../src/web/metered-storage.ts';

test('counts uploads, downloads and deletes (bytes and objects) and forwards results', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-metered-'));
  try {
    const m = new MeteredStorage(new MemoryStorage());
    assert.equal((await m.write('j/shared/a', new Uint8Array(100))).size, 100);
    writeFileSync(join(dir, 'f'), Buffer.alloc(250, 7));
    await m.writeFile('j/shared/b', join(dir, 'f'));
    assert.deepEqual(await m.read('j/shared/a'), new Uint8Array(100));
    await m.readToFile('j/shared/b', join(dir, 'g'));
    assert.deepEqual((await m.list('j/')).map((o) => [o.path, o.size]), [['j/shared/a', 100], ['j/shared/b', 250]]);
    await m.delete('j/shared/a');
    assert.deepEqual(m.counters, {
      bytesUploaded: 350, bytesDownloaded: 350, bytesDeleted: 100, objectsWritten: 2, objectsRead: 2, objectsDeleted: 1, failedOperations: 0,
    });
    await m.deletePrefix('j/');
    assert.equal(m.counters.bytesDeleted, 350);
    assert.equal(m.counters.objectsDeleted, 2);
    assert.deepEqual(await m.list('j/'), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed call is counted and rethrown unchanged', async () => {
  const m = new MeteredStorage(new MemoryStorage());
  const err = await m.read('j/missing').then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof Error);
  assert.equal(m.counters.failedOperations, 1);
  assert.equal(m.counters.bytesDownloaded, 0);
});

test('streaming writes are kept exactly when the inner storage has them', async () => {
  const streaming = new MeteredStorage(new MemoryStorage());
  assert.ok(supportsStreamingWrite(streaming));
  async function* chunks(): AsyncIterable<Uint8Array> {
    yield new Uint8Array(10);
    yield new Uint8Array(5);
  }
  assert.equal((await streaming.writeStream('j/s', chunks())).size, 15);
  assert.equal(streaming.counters.bytesUploaded, 15);
  const inner = new MemoryStorage();
  const plain: CheckpointStorage = {
    uri: 'plain://', write: (p, d) => inner.write(p, d), writeFile: (p, f) => inner.writeFile(p, f), read: (p) => inner.read(p),
    readToFile: (p, f, e) => inner.readToFile(p, f, e), stat: (p) => inner.stat(p), list: (p) => inner.list(p), delete: (p) => inner.delete(p),
    deletePrefix: (p) => inner.deletePrefix(p), close: () => inner.close(),
  };
  assert.equal(supportsStreamingWrite(new MeteredStorage(plain)), false);
});

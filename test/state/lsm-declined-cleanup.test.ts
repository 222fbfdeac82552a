/**
 * Issue 9, defect 9: a declined lsm checkpoint must leave nothing behind. The MANIFEST
 * and meta are written concurrently; when one write fails, the cleanup must wait for the
 * other before deleting, or that write publishes its object after the delete — a leak
 * that no `_metadata` references. Deterministic: the meta write is held until the
 * MANIFEST write has failed and either the cleanup deleted the meta path (the old race)
 * or 50 ms passed (nobody deleted it while the write was running).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLsmBackend } from '../../src/state/lsm-backend.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import type { WriteResult } from '../../src/storage/checkpoint-storage.ts';
import { CheckpointDeclinedError, TransientStorageError } from '../../src/util/errors.ts';
import { makeEnv, writeKey } from './keyed-state-contract.ts';

class RacingStorage extends MemoryStorage {
  private manifestFailed!: () => void;
  private readonly failed = new Promise<void>((resolve) => (this.manifestFailed = resolve));
  private releaseMeta!: () => void;
  private readonly metaReleased = new Promise<void>((resolve) => (this.releaseMeta = resolve));
  armed = false;
  deletesOfMetaBeforeItWasWritten = 0;
  private metaWritten = false;

  override async write(path: string, data: Uint8Array): Promise<WriteResult> {
    if (this.armed && path.endsWith('-MANIFEST')) {
      queueMicrotask(() => this.manifestFailed());
      throw new TransientStorageError(`injected failure: write ${path}`);
    }
    if (this.armed && path.endsWith('-meta')) {
      await this.failed;
      const timer = setTimeout(() => this.releaseMeta(), 50);
      await this.metaReleased;
      clearTimeout(timer);
      const r = await super.write(path, data);
      this.metaWritten = true;
      return r;
    }
    return super.write(path, data);
  }

  override async delete(path: string): Promise<void> {
    if (this.armed && path.endsWith('-meta') && !this.metaWritten) {
      this.deletesOfMetaBeforeItWasWritten++;
      await super.delete(path);
      this.releaseMeta(); // the old code's order: delete first, then the write lands
      return;
    }
    return super.delete(path);
  }
}

test('lsm: a checkpoint declined because its MANIFEST write failed leaves no meta (nor anything else) behind', async () => {
  const storage = new RacingStorage();
  const env = await makeEnv((o) => createLsmBackend({ ...o, storage, lsmOptions: { useWorker: false } }));
  try {
    const b = await env.open({ storage });
    for (let k = 0; k < 200; k++) writeKey(b, k);
    await b.snapshot({ jobPath: 'job', checkpointId: 1, kind: 'checkpoint' }).done;
    b.notifyCheckpointComplete(1);
    const confirmed = (await storage.list('job/')).map((o) => o.path).sort();
    assert.ok(confirmed.some((p) => p.endsWith('-meta')) && confirmed.some((p) => p.endsWith('-MANIFEST')), 'checkpoint 1 has its private files');
    for (let k = 200; k < 300; k++) writeKey(b, k);
    storage.armed = true;
    await assert.rejects(b.snapshot({ jobPath: 'job', checkpointId: 2, kind: 'checkpoint' }).done, CheckpointDeclinedError);
    assert.deepEqual((await storage.list('job/')).map((o) => o.path).sort(), confirmed, 'only checkpoint 1\'s objects remain');
    assert.equal(storage.deletesOfMetaBeforeItWasWritten, 0, 'the cleanup deleted the meta path while its write was still running');
  } finally {
    await env.cleanup();
  }
});

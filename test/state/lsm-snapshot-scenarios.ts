/**
 * Incremental-snapshot scenarios for the lsm backend, run against an engine (the real
 * one in lsm-backend.test.ts). Each counts what reaches storage.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import type { CheckpointStorage, ObjectInfo, WriteResult } from '../../src/storage/checkpoint-storage.ts';
import type { KeyedStateHandle } from '../../src/state/types.ts';
import type { LsmEngine, LsmKeyedBackend } from '../../src/state/lsm-backend.ts';
import { openLsmBackendWith } from '../../src/state/lsm-backend.ts';
import { FaultInjectingStorage } from '../../src/storage/fault-injecting-storage.ts';
import { CheckpointDeclinedError } from '../../src/util/errors.ts';
import { makeEnv, writeKey, checkKey } from './keyed-state-contract.ts';
import type { Env } from './keyed-state-contract.ts';

/** Counts uploads (writeFile) and private writes, passing everything to `inner`. */
export class CountingStorage implements CheckpointStorage {
  readonly uri: string;
  uploads: string[] = [];
  writes: string[] = [];
  deletes: string[] = [];
  constructor(readonly inner: CheckpointStorage) {
    this.uri = inner.uri;
  }
  reset(): void {
    this.uploads = [];
    this.writes = [];
    this.deletes = [];
  }
  write(path: string, data: Uint8Array): Promise<WriteResult> {
    this.writes.push(path);
    return this.inner.write(path, data);
  }
  writeFile(path: string, localFile: string): Promise<WriteResult> {
    this.uploads.push(path);
    return this.inner.writeFile(path, localFile);
  }
  read(path: string): Promise<Uint8Array> { return this.inner.read(path); }
  readToFile(path: string, localFile: string, expect?: { size?: number; checksum?: string }): Promise<void> {
    return this.inner.readToFile(path, localFile, expect);
  }
  stat(path: string): Promise<ObjectInfo | undefined> { return this.inner.stat(path); }
  list(prefix: string): Promise<ObjectInfo[]> { return this.inner.list(prefix); }
  delete(path: string): Promise<void> {
    this.deletes.push(path);
    return this.inner.delete(path);
  }
  deletePrefix(prefix: string): Promise<void> { return this.inner.deletePrefix(prefix); }
  close(): Promise<void> { return this.inner.close(); }
}

/** Tracks how many writeFile / readToFile calls are in flight at once (each held a few ms). */
class TrackingStorage extends CountingStorage {
  inFlight = { writeFile: 0, readToFile: 0 };
  maxInFlight = { writeFile: 0, readToFile: 0 };
  private async track<T>(op: 'writeFile' | 'readToFile', call: () => Promise<T>): Promise<T> {
    this.inFlight[op]++;
    this.maxInFlight[op] = Math.max(this.maxInFlight[op], this.inFlight[op]);
    try {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return await call();
    } finally {
      this.inFlight[op]--;
    }
  }
  override writeFile(path: string, localFile: string): Promise<WriteResult> {
    return this.track('writeFile', () => super.writeFile(path, localFile));
  }
  override readToFile(path: string, localFile: string, expect?: { size?: number; checksum?: string }): Promise<void> {
    return this.track('readToFile', () => super.readToFile(path, localFile, expect));
  }
}

/** Forces the engine to produce a new sstable: the next snapshot seals the memtable anyway. */
function writeRound(b: LsmKeyedBackend, from: number, to: number, round = 0): void {
  for (let k = from; k < to; k++) writeKey(b, k, round);
}

function shared(h: KeyedStateHandle): { reused: string[]; fresh: string[] } {
  return {
    reused: h.sharedFiles.filter((f) => f.reused).map((f) => f.localName).sort(),
    fresh: h.sharedFiles.filter((f) => !f.reused).map((f) => f.localName).sort(),
  };
}

export function runLsmSnapshotScenarios(name: string, engine: LsmEngine, lsmOptions: Record<string, unknown> = {}): void {
  describe(`lsm snapshot strategy: ${name}`, () => {
    const setup = async (extra: Record<string, unknown> = {}): Promise<{ env: Env; counting: CountingStorage; b: LsmKeyedBackend }> => {
      const env = await makeEnv((o) => openLsmBackendWith(engine, { ...o, lsmOptions: { autoCompaction: false, ...lsmOptions }, ...extra }));
      const counting = new CountingStorage(env.storage);
      const b = (await env.open({ storage: counting })) as LsmKeyedBackend;
      return { env, counting, b };
    };
    const cp = (b: LsmKeyedBackend, id: number, kind: 'checkpoint' | 'savepoint' = 'checkpoint'): Promise<KeyedStateHandle> =>
      b.snapshot({ jobPath: 'job', checkpointId: id, kind }).done;

    test('incremental: uploads only new sstables, re-references the confirmed ones', async () => {
      const { env, counting, b } = await setup();
      try {
        writeRound(b, 0, 100);
        const h1 = await cp(b, 1);
        assert.equal(h1.mode, 'incremental');
        assert.ok(h1.sharedFiles.length >= 1);
        assert.equal(counting.uploads.length, h1.sharedFiles.length, 'CP1 uploads every file');
        assert.deepEqual(shared(h1).reused, []);
        assert.equal(h1.incrementalSize, h1.fullSize);
        for (const f of h1.sharedFiles) {
          assert.match(f.path, /^job\/shared\/[0-9a-f]{12}\/op-0-1-[0-9a-f]+-/);
          assert.equal(f.registryKey, `op-0-${f.localName}`);
          assert.equal(f.uploadedBy, 1);
        }
        assert.deepEqual(h1.privateFiles.map((f) => f.name).sort(), ['MANIFEST', 'meta']);
        b.notifyCheckpointComplete(1);
        assert.equal(b.incrementalBaseId, 1);

        counting.reset();
        writeRound(b, 100, 150);
        const h2 = await cp(b, 2);
        const s2 = shared(h2);
        assert.deepEqual(s2.reused, h1.sharedFiles.map((f) => f.localName).sort(), 'every CP1 file still live is reused');
        assert.ok(s2.fresh.length >= 1, 'the new writes are a new file');
        assert.equal(counting.uploads.length, s2.fresh.length, 'only new files uploaded');
        for (const f of h2.sharedFiles.filter((x) => x.reused)) {
          const orig = h1.sharedFiles.find((x) => x.localName === f.localName)!;
          assert.equal(f.path, orig.path);
          assert.equal(f.checksum, orig.checksum);
          assert.equal(f.uploadedBy, 1);
        }
        assert.ok(h2.incrementalSize < h2.fullSize);
        const newBytes = h2.sharedFiles.filter((f) => !f.reused).reduce((n, f) => n + f.size, 0);
        assert.equal(h2.incrementalSize, newBytes + h2.privateFiles.reduce((n, f) => n + f.size, 0));
        b.notifyCheckpointComplete(2);

        // Compaction: the merged file is new, the compacted-away files are not referenced.
        counting.reset();
        await b.lsmStore().compactRange();
        writeRound(b, 150, 160);
        const h3 = await cp(b, 3);
        const live = b.lsmStore().liveFiles().map((f) => f.name).sort();
        assert.deepEqual(h3.sharedFiles.map((f) => f.localName).sort(), live);
        for (const f of h3.sharedFiles) {
          const wasUploaded = [...h1.sharedFiles, ...h2.sharedFiles].some((x) => x.localName === f.localName);
          assert.equal(f.reused, wasUploaded);
        }
        // Restore from the incremental chain gives the full state.
        const r = await env.open({ restoreFrom: [h3] });
        for (let k = 0; k < 160; k++) checkKey(r, k);
      } finally {
        await env.cleanup();
      }
    });

    test('a snapshot taken before the previous one is confirmed does not reuse its uploads', async () => {
      const { env, counting, b } = await setup();
      try {
        writeRound(b, 0, 50);
        const h1 = await cp(b, 1);
        // CP1 acknowledged, not confirmed.
        writeRound(b, 50, 60);
        counting.reset();
        const h2 = await cp(b, 2);
        assert.deepEqual(shared(h2).reused, [], 'nothing confirmed yet: no placeholders');
        assert.equal(counting.uploads.length, h2.sharedFiles.length);
        const h1Paths = new Set(h1.sharedFiles.map((f) => f.path));
        assert.ok(h2.sharedFiles.every((f) => !h1Paths.has(f.path)), 'fresh names, never reused');
        // Now CP1 is confirmed (late), then CP3 bases on CP1, not on the unconfirmed CP2.
        b.notifyCheckpointComplete(1);
        writeRound(b, 60, 70);
        const h3 = await cp(b, 3);
        for (const f of h3.sharedFiles.filter((x) => x.reused)) assert.equal(f.uploadedBy, 1);
        assert.deepEqual(shared(h3).reused, h1.sharedFiles.map((f) => f.localName).sort());
        // Confirming CP2 now advances the base past CP1; an older confirmation cannot move it back.
        b.notifyCheckpointComplete(2);
        assert.equal(b.incrementalBaseId, 2);
        b.notifyCheckpointComplete(1);
        assert.equal(b.incrementalBaseId, 2);
        const h4 = await cp(b, 4);
        for (const f of h4.sharedFiles) {
          if (f.reused) assert.equal(f.uploadedBy, 2, `${f.localName} reused from CP2`);
        }
      } finally {
        await env.cleanup();
      }
    });

    test('an aborted checkpoint\'s uploads are never reused', async () => {
      const { env, counting, b } = await setup();
      try {
        writeRound(b, 0, 50);
        await cp(b, 1);
        b.notifyCheckpointAborted(1);
        b.notifyCheckpointComplete(1); // a late/duplicate confirmation of an aborted checkpoint is ignored
        assert.equal(b.incrementalBaseId, -1);
        counting.reset();
        const h2 = await cp(b, 2);
        assert.deepEqual(shared(h2).reused, []);
        assert.equal(counting.uploads.length, h2.sharedFiles.length);
      } finally {
        await env.cleanup();
      }
    });

    test('a failed upload rejects, deletes this attempt\'s uploads, keeps the confirmed ones', async () => {
      const { env, b } = await setup();
      try {
        const faulty = new FaultInjectingStorage(env.storage, { failureRate: 0 });
        // Reopen on the faulty storage.
        const fb = (await env.open({ storage: faulty })) as LsmKeyedBackend;
        void b;
        writeRound(fb, 0, 50);
        const h1 = await fb.snapshot({ jobPath: 'job', checkpointId: 1, kind: 'checkpoint' }).done;
        fb.notifyCheckpointComplete(1);
        const before = (await env.storage.list('job/')).map((o) => o.path).sort();
        writeRound(fb, 50, 80);
        // The MANIFEST (written after the sstable uploads) fails: the new sstable was uploaded and must go.
        faulty.failNext('write', (p) => p.endsWith('-MANIFEST'));
        await assert.rejects(fb.snapshot({ jobPath: 'job', checkpointId: 2, kind: 'checkpoint' }).done, (err: unknown) => {
          assert.ok(err instanceof CheckpointDeclinedError);
          assert.equal(err.checkpointId, 2);
          assert.ok(err.cause instanceof Error);
          return true;
        });
        const after = (await env.storage.list('job/')).map((o) => o.path).sort();
        assert.deepEqual(after, before, 'only the confirmed CP1 objects remain');
        for (const f of h1.sharedFiles) assert.ok(after.includes(f.path));
        // An upload failure itself.
        faulty.failNext('writeFile');
        await assert.rejects(fb.snapshot({ jobPath: 'job', checkpointId: 3, kind: 'checkpoint' }).done, CheckpointDeclinedError);
        assert.deepEqual((await env.storage.list('job/')).map((o) => o.path).sort(), before);
        // The backend goes on: CP4 works and restores.
        const h4 = await fb.snapshot({ jobPath: 'job', checkpointId: 4, kind: 'checkpoint' }).done;
        assert.ok(h4.sharedFiles.some((f) => f.reused));
        const r = await env.open({ restoreFrom: [h4] });
        for (let k = 0; k < 80; k++) checkKey(r, k);
      } finally {
        await env.cleanup();
      }
    });

    test('a savepoint is self-contained and does not move the incremental base', async () => {
      const { env, counting, b } = await setup();
      try {
        writeRound(b, 0, 50);
        const h1 = await cp(b, 1);
        b.notifyCheckpointComplete(1);
        writeRound(b, 50, 60);
        counting.reset();
        const sp = await cp(b, 2, 'savepoint');
        assert.equal(sp.mode, 'full');
        assert.deepEqual(shared(sp).reused, []);
        assert.equal(counting.uploads.length, sp.sharedFiles.length);
        assert.equal(sp.incrementalSize, sp.fullSize);
        b.notifyCheckpointComplete(2);
        assert.equal(b.incrementalBaseId, 1, 'the savepoint never becomes the base');
        const h3 = await cp(b, 3);
        assert.deepEqual(shared(h3).reused, h1.sharedFiles.map((f) => f.localName).sort());
        for (const f of h3.sharedFiles.filter((x) => x.reused)) assert.equal(f.uploadedBy, 1);
        // Self-contained: delete everything but the savepoint's objects, restore from it.
        const keep = new Set([...sp.sharedFiles, ...sp.privateFiles].map((f) => f.path));
        for (const o of await env.storage.list('job/')) if (!keep.has(o.path)) await env.storage.delete(o.path);
        const r = await env.open({ restoreFrom: [sp] });
        for (let k = 0; k < 60; k++) checkKey(r, k);
      } finally {
        await env.cleanup();
      }
    });

    test('full mode uploads every file on every checkpoint', async () => {
      const { env, counting, b } = await setup({ incremental: false });
      try {
        writeRound(b, 0, 50);
        const h1 = await cp(b, 1);
        b.notifyCheckpointComplete(1);
        writeRound(b, 50, 60);
        counting.reset();
        const h2 = await cp(b, 2);
        assert.equal(h1.mode, 'full');
        assert.equal(h2.mode, 'full');
        assert.deepEqual(shared(h2).reused, []);
        assert.equal(counting.uploads.length, h2.sharedFiles.length);
        assert.ok(h2.sharedFiles.length >= 2);
        assert.equal(h2.incrementalSize, h2.fullSize);
      } finally {
        await env.cleanup();
      }
    });

    test('restore from an incremental handle keeps the next checkpoint incremental', async () => {
      const { env, b } = await setup();
      try {
        writeRound(b, 0, 50);
        const h1 = await cp(b, 1);
        b.notifyCheckpointComplete(1);
        const counting = new CountingStorage(env.storage);
        const r = (await env.open({ storage: counting, restoreFrom: [h1] })) as LsmKeyedBackend;
        assert.equal(r.incrementalBaseId, 1);
        writeRound(r, 50, 60, 0);
        const h2 = await r.snapshot({ jobPath: 'job', checkpointId: 2, kind: 'checkpoint' }).done;
        assert.deepEqual(shared(h2).reused, h1.sharedFiles.map((f) => f.localName).sort());
        assert.equal(counting.uploads.length, shared(h2).fresh.length);
        assert.notEqual(h2.backendId, h1.backendId);
      } finally {
        await env.cleanup();
      }
    });

    test('uploads and restore downloads run in parallel, at most transferConcurrency at a time', async () => {
      const env = await makeEnv((o) => openLsmBackendWith(engine, { ...o, incremental: false, lsmOptions: { autoCompaction: false, ...lsmOptions } }));
      try {
        const tracking = new TrackingStorage(env.storage);
        const b = (await env.open({ storage: tracking, transferConcurrency: 2 })) as LsmKeyedBackend;
        for (let round = 0; round < 5; round++) {
          writeRound(b, round * 20, round * 20 + 20);
          await b.lsmStore().flush();
        }
        const h = await b.snapshot({ jobPath: 'job', checkpointId: 1, kind: 'checkpoint' }).done;
        assert.ok(h.sharedFiles.length >= 5, `${h.sharedFiles.length} files`);
        assert.equal(tracking.maxInFlight.writeFile, 2);
        let lastTotal = 0;
        const r = await env.open({
          storage: tracking,
          transferConcurrency: 3,
          restoreFrom: [h],
          onRestoreProgress: (_d, t) => { lastTotal = t; },
        });
        assert.equal(tracking.maxInFlight.readToFile, 3);
        assert.equal(lastTotal, h.fullSize);
        for (let k = 0; k < 100; k++) checkKey(r, k);
      } finally {
        await env.cleanup();
      }
    });

    test('restore fails with a typed error on a missing or corrupted file, and leaves no restore dirs', async () => {
      const { env, b } = await setup();
      try {
        writeRound(b, 0, 30);
        const h = await cp(b, 1);
        const f = h.sharedFiles[0]!;
        const good = await env.storage.read(f.path);
        const bad = new Uint8Array(good);
        bad[bad.length >> 1]! ^= 0x55;
        await env.storage.write(f.path, bad);
        await assert.rejects(env.open({ restoreFrom: [h] }), (err: unknown) => (err as { code?: string }).code === 'CORRUPTION');
        await env.storage.delete(f.path);
        await assert.rejects(env.open({ restoreFrom: [h] }), (err: unknown) => (err as { code?: string }).code === 'STORAGE_PERMANENT');
        for (const d of env.dirs.slice(1)) {
          const left = await readdir(d);
          assert.ok(!left.some((n) => n.startsWith('restore-')), `restore dirs removed in ${d}: ${left.join(',')}`);
        }
        await env.storage.write(f.path, good);
        const r = await env.open({ restoreFrom: [h] });
        for (let k = 0; k < 30; k++) checkKey(r, k);
      } finally {
        await env.cleanup();
      }
    });
  });
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { runKeyedStateContract, makeEnv, writeKey, checkKey } from './keyed-state-contract.ts';
import { runLsmSnapshotScenarios } from './lsm-snapshot-scenarios.ts';
import { createLsmBackend, defaultLsmEngine } from '../../src/state/lsm-backend.ts';
import type { LsmKeyedBackend } from '../../src/state/lsm-backend.ts';
import { createKeyedStateBackend, stateFromDescriptor } from '../../src/state/index.ts';
import type { ReducingState, MapState } from '../../src/state/index.ts';

// Flushes on the calling thread keep these fast on a loaded 2-core machine; the
// worker-thread path is exercised by the last two tests and by src/lsm's own tests.
runKeyedStateContract('lsm', (o) => createLsmBackend({ ...o, lsmOptions: { useWorker: false } }));
runKeyedStateContract('lsm, timers in the store', (o) => createLsmBackend({ ...o, timers: 'store', lsmOptions: { useWorker: false } }));
runLsmSnapshotScenarios('real engine', defaultLsmEngine, { useWorker: false });

test('createKeyedStateBackend opens either kind', async () => {
  for (const kind of ['heap', 'lsm'] as const) {
    const env = await makeEnv((o) => createKeyedStateBackend(kind, o));
    try {
      const b = await env.open();
      assert.equal(b.kind, kind);
      writeKey(b, 1);
      checkKey(b, 1);
      const r = stateFromDescriptor(b, { kind: 'reducing', name: 'r', reduce: (x: number, y: number) => x + y }) as ReducingState<number>;
      r.add(4);
      assert.equal(r.get(), 5, 'the descriptor names the state writeKey used');
      const m = stateFromDescriptor(b, { kind: 'map', name: 'm2' }) as MapState<string, number>;
      m.put('x', 1);
      assert.deepEqual([...m.entries()], [['x', 1]]);
    } finally {
      await env.cleanup();
    }
  }
});

test('lsm: snapshot sync part is the engine seal (measured, printed)', async () => {
  const env = await makeEnv((o) => createLsmBackend({ ...o, clock: undefined }));
  try {
    const b = (await env.open({ clock: undefined })) as LsmKeyedBackend;
    for (let k = 0; k < 5000; k++) writeKey(b, k);
    const s = b.snapshot({ jobPath: 'job', checkpointId: 1, kind: 'checkpoint' });
    const h = await s.done;
    assert.ok(Number.isFinite(s.syncMillis));
    assert.ok(h.sharedFiles.length >= 1);
    console.log(`lsm snapshot syncMillis (5k keys × 7 states in memtable): ${s.syncMillis.toFixed(3)} ms, full ${h.fullSize} B`);
  } finally {
    await env.cleanup();
  }
});

test('lsm: writeBackpressure() reports the engine write stall and resolves when flushes catch up', async () => {
  const env = await makeEnv((o) => createLsmBackend({ ...o, lsmOptions: { useWorker: false, memtableBytes: 16 * 1024, maxSealedMemtables: 1 } }));
  try {
    const b = await env.open();
    let stalled: Promise<void> | undefined;
    let k = 0;
    for (; k < 100_000 && stalled === undefined; k++) {
      writeKey(b, k);
      stalled = b.writeBackpressure();
    }
    assert.ok(stalled !== undefined, 'a 16 KiB memtable with one sealed slot stalls writers');
    // Resolves once writers may go on (a compaction may be needed too: bounded retries).
    for (let i = 0; i < 20 && stalled !== undefined; i++) {
      await stalled;
      stalled = b.writeBackpressure();
    }
    assert.equal(stalled, undefined);
    for (let i = 0; i < k; i += 13) checkKey(b, i);
  } finally {
    await env.cleanup();
  }
});

test('lsm on LocalStorage with worker-thread flushes: incremental checkpoints and a restore, objects laid out as in DESIGN.md', async () => {
  const root = await mkdtemp(join(tmpdir(), 'weir-state-local-'));
  const storage = new LocalStorage({ root });
  const env = await makeEnv((o) => createLsmBackend({ ...o, storage, lsmOptions: { autoCompaction: false } }));
  try {
    const b = await env.open();
    for (let k = 0; k < 200; k++) writeKey(b, k);
    const h1 = await b.snapshot({ jobPath: 'wordcount', checkpointId: 1, kind: 'checkpoint' }).done;
    b.notifyCheckpointComplete(1);
    for (let k = 200; k < 300; k++) writeKey(b, k);
    const h2 = await b.snapshot({ jobPath: 'wordcount', checkpointId: 2, kind: 'checkpoint' }).done;
    assert.ok(h2.sharedFiles.some((f) => f.reused) && h2.sharedFiles.some((f) => !f.reused));
    const listed = (await storage.list('wordcount/')).map((o) => o.path);
    for (const f of [...h1.sharedFiles, ...h2.sharedFiles]) {
      assert.ok(listed.includes(f.path));
      assert.match(f.path, /^wordcount\/shared\//);
    }
    for (const f of [...h1.privateFiles, ...h2.privateFiles]) assert.match(f.path, /^wordcount\/taskowned\//);
    const r = await env.open({ restoreFrom: [h2] });
    for (let k = 0; k < 300; k++) checkKey(r, k);
  } finally {
    await env.cleanup();
    await rm(root, { recursive: true, force: true });
  }
});

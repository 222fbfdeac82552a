import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { CompletedCheckpointStore } from '../../src/checkpoint/completed-checkpoint-store.ts';
import { CheckpointCoordinator } from '../../src/checkpoint/coordinator.ts';
import { metadataPath } from '../../src/storage/job-layout.ts';
import { parseMetadata, referencedPaths, sealMetadataJson, serializeMetadata } from '../../src/checkpoint/metadata.ts';
import { SharedStateRegistry } from '../../src/checkpoint/shared-state-registry.ts';
import { METADATA_FORMAT_VERSION } from '../../src/checkpoint/types.ts';
import type { CheckpointMetadata, SharedFileRef } from '../../src/checkpoint/types.ts';
import { FaultInjectingStorage } from '../../src/storage/fault-injecting-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { AssertionError } from '../../src/util/assert.ts';
import { ManualClock } from '../../src/util/clock.ts';
import { ConfigError, CorruptionError } from '../../src/util/errors.ts';
import { SyntheticIncrementalSubtask } from './support/synthetic-incremental-subtask.ts';

const JOB = 'j';

function ref(name: string, uploadedBy: number, reused: boolean, path = `${JOB}/shared/u${uploadedBy}-${name}`, size = 10): SharedFileRef {
  return { registryKey: `op-0-${name}`, localName: name, path, size, checksum: 'abcd0123', uploadedBy, reused };
}

function meta(id: number, shared: SharedFileRef[], kind: 'checkpoint' | 'savepoint' = 'checkpoint', job = JOB): CheckpointMetadata {
  return {
    formatVersion: METADATA_FORMAT_VERSION,
    job,
    checkpointId: id,
    kind,
    triggerTime: 1000 + id,
    completeTime: 2000 + id,
    maxParallelism: 128,
    operators: [{ operatorId: 'op', parallelism: 1 }],
    subtasks: [{
      operatorId: 'op',
      subtaskIndex: 0,
      keyed: {
        format: 'lsm', mode: 'incremental', backendId: 'b', operatorId: 'op', subtaskIndex: 0,
        keyGroupRange: { start: 0, end: 127 }, maxParallelism: 128, checkpointId: id,
        sharedFiles: shared,
        privateFiles: [{ name: 'MANIFEST', path: `${job}/taskowned/m-${id}`, size: 3, checksum: '00000001' }],
        fullSize: 0, incrementalSize: 0, states: [],
      },
      operatorState: [{ name: 'offsets', mode: 'split', items: [1, 2] }],
    }],
    fullSize: 0,
    checkpointedSize: 0,
  };
}

test('registry: +1 per reference on register, −1 on unregister, entries reaching 0 are returned and forgotten', () => {
  const r = new SharedStateRegistry();
  r.registerCheckpoint(meta(1, [ref('a', 1, false), ref('b', 1, false)]));
  r.registerCheckpoint(meta(2, [ref('a', 1, true), ref('c', 2, false)]));
  assert.deepEqual(r.entries().map((e) => [e.key, e.refCount, e.createdBy, e.lastUsedBy]), [
    ['op-0-a', 2, 1, 2], ['op-0-b', 1, 1, 1], ['op-0-c', 1, 2, 2],
  ]);
  const released = r.unregisterCheckpoint(meta(1, [ref('a', 1, false), ref('b', 1, false)]));
  assert.deepEqual(released.map((e) => e.path), [`${JOB}/shared/u1-b`]);
  assert.equal(r.getByPath(`${JOB}/shared/u1-a`)!.refCount, 1);
  assert.equal(r.isRegistered(`${JOB}/shared/u1-b`), false);
  assert.throws(() => r.unregisterCheckpoint(meta(1, [])), AssertionError, 'double unregister is a bug');
});

test('registry refuses a reuse of an unregistered file, a new upload at a registered path, a changed size', () => {
  const r = new SharedStateRegistry();
  const dangling = meta(1, [ref('a', 0, true)]);
  assert.match(r.problems(dangling).join(), /re-references .* which no retained checkpoint registered/);
  assert.throws(() => r.registerCheckpoint(dangling), AssertionError);
  r.registerCheckpoint(meta(2, [ref('a', 2, false)]));
  assert.match(r.problems(meta(3, [ref('a', 2, false)])).join(), /already registered .* must be unique/);
  assert.match(r.problems(meta(3, [ref('a', 2, true, undefined, 11)])).join(), /size\/checksum/);
  assert.match(r.problems(meta(3, [], 'savepoint')).join(), /savepoints are not registered/);
  assert.deepEqual(r.problems(meta(3, [ref('a', 2, true)])), []);
});

test('registry counts two uploads of the same local file (concurrent checkpoints) separately (FLINK-29913)', () => {
  const r = new SharedStateRegistry();
  r.registerCheckpoint(meta(4, [ref('x', 4, false)]));
  r.registerCheckpoint(meta(5, [ref('x', 5, false)])); // same key, another unique path
  assert.equal(r.lookup('op-0-x').length, 2);
  const released = r.unregisterCheckpoint(meta(4, [ref('x', 4, false)]));
  assert.deepEqual(released.map((e) => e.path), [`${JOB}/shared/u4-x`]);
  assert.equal(r.lookup('op-0-x')[0]!.path, `${JOB}/shared/u5-x`);
});

test('metadata: round trip; newer format, paths outside the job and garbage are refused', () => {
  const m = meta(3, [ref('a', 3, false)]);
  assert.deepEqual(parseMetadata(serializeMetadata(m), 'x', JOB), m);
  // Crafted but sealed: the checksum holds, so what is refused is what the file says.
  const enc = (o: unknown): Uint8Array => sealMetadataJson(`${JSON.stringify(o, null, 1)}\n`);
  assert.throws(() => parseMetadata(enc({ ...m, formatVersion: METADATA_FORMAT_VERSION + 1 }), 'j/chk-3/_metadata'),
    (e: unknown) => e instanceof ConfigError && /newer than/.test(e.message) && /j\/chk-3\/_metadata/.test(e.message));
  for (const bad of [`${JOB}/shared/../../etc/passwd`, 'other/shared/a', `${JOB}`, `${JOB}//a`]) {
    assert.throws(() => parseMetadata(enc(meta(3, [ref('a', 3, false, bad)])), 'm'), ConfigError, bad);
  }
  assert.throws(() => parseMetadata(enc(m), 'm', 'another-job'), ConfigError);
  assert.throws(() => parseMetadata(new TextEncoder().encode('{"formatVersion":1'), 'm'), CorruptionError);
  assert.throws(() => parseMetadata(enc({ ...m, subtasks: [{ operatorId: 'op' }] }), 'm'), CorruptionError);
  assert.deepEqual(referencedPaths(m), [`${JOB}/shared/u3-a`, `${JOB}/taskowned/m-3`]);
});

test('store: subsuming deletes _metadata first, then private files, then shared files at 0', async () => {
  const inner = new MemoryStorage();
  const deletes: string[] = [];
  const storage = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'delete') return async (p: string) => { deletes.push(p); await target.delete(p); };
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  const m1 = meta(1, [ref('a', 1, false), ref('b', 1, false)]);
  const m2 = meta(2, [ref('a', 1, true)]);
  for (const m of [m1, m2]) {
    for (const p of referencedPaths(m)) await inner.write(p, new Uint8Array(1));
    await inner.write(metadataPath(JOB, m.checkpointId), serializeMetadata(m));
  }
  const store = new CompletedCheckpointStore({ storage, job: JOB, retained: 1 });
  await store.add(m1);
  // What a view shows between the completion and the subsumption = what remains after it.
  store.register(m2);
  assert.deepEqual(store.subsumable().map((m) => m.checkpointId), [1]);
  const predicted = store.registry.entriesWithout(store.subsumable());
  assert.notDeepEqual(predicted, store.registry.entries());
  const report = await store.enforceRetention();
  assert.deepEqual(predicted, store.registry.entries());
  assert.deepEqual(store.subsumable(), []);
  assert.deepEqual(report.subsumed.map((m) => m.checkpointId), [1]);
  assert.deepEqual(deletes, [metadataPath(JOB, 1), `${JOB}/taskowned/m-1`, `${JOB}/shared/u1-b`]);
  assert.ok(await inner.stat(`${JOB}/shared/u1-a`), 'still referenced by checkpoint 2');
});

test('store: if deleting _metadata fails, the subsumed checkpoint keeps its files; recover() subsumes it again', async () => {
  const inner = new MemoryStorage();
  const storage = new FaultInjectingStorage(inner, { failureRate: 0 });
  const m1 = meta(1, [ref('a', 1, false), ref('b', 1, false)]);
  const m2 = meta(2, [ref('a', 1, true)]);
  for (const m of [m1, m2]) {
    for (const p of referencedPaths(m)) await inner.write(p, new Uint8Array(1));
    await inner.write(metadataPath(JOB, m.checkpointId), serializeMetadata(m));
  }
  const store = new CompletedCheckpointStore({ storage, job: JOB, retained: 1 });
  await store.add(m1);
  storage.failNext('delete', metadataPath(JOB, 1));
  const report = await store.add(m2);
  assert.equal(report.failed.length, 1);
  assert.deepEqual(report.subsumed, []);
  assert.ok(await inner.stat(`${JOB}/shared/u1-b`), 'files kept while their _metadata exists');
  // Still retained and registered, so no orphan cleanup may take its files in the meantime.
  assert.deepEqual(store.checkpoints().map((m) => m.checkpointId), [1, 2]);
  assert.ok(store.isReferenced(`${JOB}/shared/u1-b`));
  // The next retention pass (here: the next completed checkpoint's add) subsumes it.
  await store.enforceRetention();
  assert.deepEqual(store.checkpoints().map((m) => m.checkpointId), [2]);
  assert.equal(await inner.stat(`${JOB}/shared/u1-b`), undefined);
  // Same situation found by a restarted process: recover() subsumes it again.
  await inner.write(metadataPath(JOB, 1), serializeMetadata(m1));
  await inner.write(`${JOB}/shared/u1-b`, new Uint8Array(1));
  const rec = await CompletedCheckpointStore.recover({ storage: inner, job: JOB, retained: 1 });
  assert.deepEqual(rec.store.checkpoints().map((m) => m.checkpointId), [1, 2]);
  await rec.store.enforceRetention();
  assert.equal(await inner.stat(`${JOB}/shared/u1-b`), undefined);
  assert.deepEqual(rec.store.registry.entries().map((e) => [e.path, e.refCount]), [[`${JOB}/shared/u1-a`, 1]]);
});

test('property: random file churn, aborts and retention never lose a needed file and never leak one', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 3 }),
      fc.array(fc.record({ add: fc.integer({ min: 0, max: 2 }), compact: fc.boolean(), outcome: fc.constantFrom('complete', 'decline', 'timeout-late', 'savepoint') }), { minLength: 1, maxLength: 8 }),
      async (retained, steps) => {
        const storage = new MemoryStorage();
        const clock = new ManualClock(0);
        const sub = new SyntheticIncrementalSubtask(storage, 'op', 0);
        const holder: { c?: CheckpointCoordinator } = {};
        const c = await CheckpointCoordinator.create({
          job: JOB, storage, clock, expectedTasks: [{ operatorId: 'op', subtaskIndex: 0 }], interval: 0, timeout: 100, retained,
          maxParallelism: 128, operators: [{ operatorId: 'op', parallelism: 1 }],
          participant: {
            triggerCheckpoint: () => true,
            notifyCheckpointComplete: (id) => sub.notifyCheckpointComplete(id),
            notifyCheckpointAborted: (id) => sub.notifyCheckpointAborted(id),
          },
        });
        holder.c = c;
        let fileNo = 0;
        for (const step of steps) {
          let files = sub.localFiles();
          if (step.compact && files.length > 1) files = [`m${++fileNo}`];
          for (let i = 0; i < step.add; i++) files.push(`f${++fileNo}`);
          await sub.setLocalFiles(files);
          const kind = step.outcome === 'savepoint' ? 'savepoint' : 'checkpoint';
          const id = c.peekNextCheckpointId();
          const done = c.triggerCheckpoint(kind).catch(() => undefined);
          const keyed = await sub.snapshot(JOB, id, kind);
          const state = { operatorId: 'op', subtaskIndex: 0, keyed };
          if (step.outcome === 'decline') c.decline(id, 'op', 0, 'no');
          if (step.outcome === 'timeout-late') clock.advance(100);
          // after a decline or timeout this ack arrives late and must be cleaned up
          c.acknowledge(id, state, { syncMillis: 0, asyncMillis: 0, alignmentMillis: 0 });
          await done;
          await c.whenIdle();
          // invariants
          const present = new Set((await storage.list(`${JOB}/`)).map((o) => o.path));
          const needed = new Set<string>();
          for (const m of c.store.all()) {
            assert.ok(present.has(metadataPath(JOB, m.checkpointId, m.kind)));
            for (const p of referencedPaths(m)) needed.add(p);
          }
          for (const p of needed) assert.ok(present.has(p), `needed ${p} missing`);
          for (const p of present) if (!p.endsWith('/_metadata') && !p.endsWith('/_weir_job')) assert.ok(needed.has(p), `leaked ${p}`);
          assert.ok(c.store.checkpoints().length <= retained);
          for (const e of c.registry.entries()) {
            const refs = c.store.checkpoints().filter((m) => referencedPaths(m).includes(e.path)).length;
            assert.equal(e.refCount, refs, `refCount of ${e.path}`);
          }
        }
        await c.stop();
      },
    ),
    { numRuns: 60, seed: 42 },
  );
});

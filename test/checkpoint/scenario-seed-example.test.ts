import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { CompletedCheckpointStore } from '../../src/checkpoint/completed-checkpoint-store.ts';
import { runIncrementalTrace } from './support/seed-trace-runner.ts';
import { SyntheticIncrementalSubtask } from './support/synthetic-incremental-subtask.ts';

const trace = readFileSync(new URL('./testdata/seed-example.trace', import.meta.url), 'utf8');

test('seed example CP1–CP4 (retained = 2): registry counts and stored files match the figure after every checkpoint', async () => {
  const storage = new MemoryStorage();
  const run = await runIncrementalTrace({
    trace,
    storage,
    job: 'seed',
    makeSubtask: (op, i) => new SyntheticIncrementalSubtask(storage, op, i),
  });
  // the registry remembers who uploaded what: (1,2,3) by CP3, reused by CP4
  const merged = run.coordinator.registry.lookup('op-2-1-sstable-(1,2,3)');
  assert.equal(merged.length, 1);
  assert.equal(merged[0]!.createdBy, 3);
  assert.equal(merged[0]!.lastUsedBy, 4);
  // a restarted process rebuilds the same counts from the _metadata files alone
  const recovered = await CompletedCheckpointStore.recover({ storage, job: 'seed', retained: 2 });
  assert.deepEqual(recovered.store.registry.entries(), run.coordinator.registry.entries());
  assert.deepEqual(recovered.orphans, []);
  assert.deepEqual(recovered.unreadable, []);
  await run.coordinator.stop();
});

test('the trace runner fails on a wrong expectation (it checks, it does not just replay)', async () => {
  const storage = new MemoryStorage();
  const wrong = trace.replace('op-2-1-sstable-(4):2', 'op-2-1-sstable-(4):1');
  await assert.rejects(
    runIncrementalTrace({ trace: wrong, storage, job: 'seed', makeSubtask: (op, i) => new SyntheticIncrementalSubtask(storage, op, i) }),
    /trace line \d+ \(registry/,
  );
});

test('concurrent checkpoints, decline, timeout, late acks and a savepoint (testdata/concurrent-abort.trace)', async () => {
  const storage = new MemoryStorage();
  const run = await runIncrementalTrace({
    trace: readFileSync(new URL('./testdata/concurrent-abort.trace', import.meta.url), 'utf8'),
    storage,
    job: 'conc',
    makeSubtask: (op, i) => new SyntheticIncrementalSubtask(storage, op, i),
  });
  // the savepoint's own copies of a, c, d stay (it is self-contained), next to checkpoint 6's files
  const sp = run.coordinator.store.savepoints()[0]!;
  for (const f of sp.subtasks[0]!.keyed!.sharedFiles) assert.ok(await storage.stat(f.path), f.path);
  const late = run.events.filter((e) => e.type === 'cleanup' && e.late);
  assert.equal(late.length, 2, 'both late snapshots (3 and 4) were cleaned');
  await run.coordinator.stop();
});

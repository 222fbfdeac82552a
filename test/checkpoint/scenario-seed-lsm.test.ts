/**
 * The seed's example (CP1–CP4, retained = 2) replayed with the real lsm backend: real
 * flushes and compactions make the figure's files, the backend's incremental snapshots
 * decide what to upload and what to re-reference, and the coordinator's registry and the
 * storage must equal the figure after every checkpoint (testdata/seed-example.trace).
 * Then a fresh backend restored from CP4 holds every key's latest value.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { createLsmBackend } from '../../src/state/index.ts';
import { runIncrementalTrace } from './support/seed-trace-runner.ts';
import { LsmTraceSubtask } from './support/lsm-trace-subtask.ts';

const trace = readFileSync(new URL('./testdata/seed-example.trace', import.meta.url), 'utf8');

test('seed example with the real lsm backend: figure matched after every checkpoint, CP4 restores every key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'weir-seed-lsm-'));
  try {
    const storage = new LocalStorage({ root: join(dir, 'checkpoints') });
    const s = await LsmTraceSubtask.create(storage, join(dir, 'local'), 'op-2', 1);
    const run = await runIncrementalTrace({ trace, storage, job: 'seed', makeSubtask: () => s });
    await run.coordinator.stop();

    // Incremental for real: CP4 uploaded only (4,5,6) (+ private files), far less than its full size.
    const cp4 = s.realHandles.get(4)!;
    assert.equal(cp4.sharedFiles.filter((f) => !f.reused).length, 1);
    assert.ok(cp4.incrementalSize < cp4.fullSize, `${cp4.incrementalSize} < ${cp4.fullSize}`);

    const restored = await createLsmBackend({
      operatorId: 'op-2', subtaskIndex: 1, maxParallelism: 128, keyGroupRange: { start: 0, end: 127 },
      localDir: join(dir, 'restored'), storage, restoreFrom: [cp4],
    });
    const count = restored.getValueState<number>('count');
    assert.ok(s.expected.size > 100);
    for (const [key, value] of s.expected) {
      restored.setCurrentKey(key);
      assert.equal(count.value(), value, `key ${key}`);
    }
    await restored.dispose();
    await s.backend.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

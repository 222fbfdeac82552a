/**
 * Issue 9, defect 9: who created a job directory. Crafted directories in memory storage:
 * the scan's verdict, and what the coordinator does with it (refuse a foreign one, mark
 * the ones it may use).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointCoordinator } from '../../src/checkpoint/coordinator.ts';
import { scanJob } from '../../src/checkpoint/job-scan.ts';
import { jobMarkerPath, metadataPath } from '../../src/storage/job-layout.ts';
import { serializeMetadata } from '../../src/checkpoint/metadata.ts';
import { METADATA_FORMAT_VERSION } from '../../src/checkpoint/types.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { ManualClock } from '../../src/util/clock.ts';
import { ConfigError } from '../../src/util/errors.ts';

const JOB = 'j';
const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

async function crafted(files: Record<string, string | Uint8Array>): Promise<MemoryStorage> {
  const s = new MemoryStorage();
  for (const [path, data] of Object.entries(files)) await s.write(path, typeof data === 'string' ? bytes(data) : data);
  return s;
}

function create(storage: MemoryStorage): Promise<CheckpointCoordinator> {
  return CheckpointCoordinator.create({
    job: JOB, storage, clock: new ManualClock(0),
    participant: { triggerCheckpoint: () => true, notifyCheckpointComplete: () => undefined, notifyCheckpointAborted: () => undefined },
    expectedTasks: [{ operatorId: 'op', subtaskIndex: 0 }], interval: 0, timeout: 10_000, maxParallelism: 128, operators: [{ operatorId: 'op', parallelism: 1 }],
  });
}

const legacyMetadata = serializeMetadata({
  formatVersion: METADATA_FORMAT_VERSION, job: JOB, checkpointId: 1, kind: 'checkpoint', triggerTime: 0, completeTime: 0, maxParallelism: 128,
  operators: [{ operatorId: 'op', parallelism: 1 }], subtasks: [], fullSize: 0, checkpointedSize: 0,
});

test('the scan tells marked, legacy, empty and foreign job directories apart', async () => {
  const cases: Array<[string, Record<string, string | Uint8Array>, string]> = [
    ['nothing', {}, 'empty'],
    ['only weir control files', { [`${JOB}/_lease`]: '{}' }, 'empty'],
    ['the marker', { [jobMarkerPath(JOB)]: '{}', [`${JOB}/shared/x`]: 'x' }, 'marked'],
    ['a _metadata from before the marker', { [metadataPath(JOB, 1)]: legacyMetadata, [`${JOB}/shared/x`]: 'x' }, 'legacy'],
    ['a shared/ folder only', { [`${JOB}/shared/thesis.tex`]: 'mine' }, 'foreign'],
    ['a chk-7/ folder only', { [`${JOB}/chk-7/photo.jpg`]: 'mine' }, 'foreign'],
  ];
  for (const [what, files, expected] of cases) {
    assert.equal((await scanJob(await crafted(files), JOB)).ownership, expected, what);
  }
});

test('the coordinator refuses a foreign job directory (deleting nothing) and marks the others', async () => {
  const foreign = await crafted({ [`${JOB}/shared/thesis.tex`]: 'mine', [`${JOB}/taskowned/notes`]: 'mine' });
  await assert.rejects(create(foreign), (e: unknown) => e instanceof ConfigError && /weir did not create it/.test(e.message));
  assert.deepEqual((await foreign.list('')).map((o) => o.path), [`${JOB}/shared/thesis.tex`, `${JOB}/taskowned/notes`]);

  const fresh = new MemoryStorage();
  await (await create(fresh)).stop();
  assert.ok(await fresh.stat(jobMarkerPath(JOB)), 'a new job directory is marked');

  const legacy = await crafted({ [metadataPath(JOB, 1)]: legacyMetadata });
  await (await create(legacy)).stop();
  assert.ok(await legacy.stat(jobMarkerPath(JOB)), 'a directory from before the marker is adopted');
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckpointCoordinator } from '../../src/checkpoint/coordinator.ts';
import type { CheckpointCoordinatorOptions, CheckpointEvent } from '../../src/checkpoint/coordinator.ts';
import { JOB_MARKER_FILE, metadataPath } from '../../src/storage/job-layout.ts';
import type { CheckpointParticipant, SubtaskState } from '../../src/checkpoint/types.ts';
import type { CheckpointStorage } from '../../src/storage/checkpoint-storage.ts';
import { FaultInjectingStorage } from '../../src/storage/fault-injecting-storage.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';
import { ManualClock } from '../../src/util/clock.ts';
import { CheckpointDeclinedError, ConfigError } from '../../src/util/errors.ts';
import { SyntheticIncrementalSubtask } from './support/synthetic-incremental-subtask.ts';

const JOB = 'job';
const METRICS = { syncMillis: 3, asyncMillis: 7, alignmentMillis: 1 };

class FakeParticipant implements CheckpointParticipant {
  triggered: { id: number; kind: string }[] = [];
  completed: number[] = [];
  aborted: { id: number; reason: string }[] = [];
  accept = true;
  triggerCheckpoint(id: number, _ts: number, kind: 'checkpoint' | 'savepoint'): boolean {
    this.triggered.push({ id, kind });
    return this.accept;
  }
  notifyCheckpointComplete(id: number): void {
    this.completed.push(id);
  }
  notifyCheckpointAborted(id: number, reason: string): void {
    this.aborted.push({ id, reason });
  }
}

interface Harness {
  storage: CheckpointStorage;
  clock: ManualClock;
  participant: FakeParticipant;
  subtasks: SyntheticIncrementalSubtask[];
  events: CheckpointEvent[];
  coordinator: CheckpointCoordinator;
  /** Snapshot subtask i for checkpoint id (uploads happen here) and return its state. */
  snap(i: number, id: number, kind?: 'checkpoint' | 'savepoint'): Promise<SubtaskState>;
  /** Snapshot and ack every subtask. */
  ackAll(id: number, kind?: 'checkpoint' | 'savepoint'): Promise<void>;
}

async function harness(
  overrides: Partial<CheckpointCoordinatorOptions> = {},
  storage: CheckpointStorage = new MemoryStorage(),
  parallelism = 2,
  clock = new ManualClock(1_000_000),
): Promise<Harness> {
  const participant = new FakeParticipant();
  const subtasks = Array.from({ length: parallelism }, (_, i) => new SyntheticIncrementalSubtask(storage, 'op', i));
  for (const s of subtasks) await s.setLocalFiles(['000001.sst', '000002.sst']);
  const events: CheckpointEvent[] = [];
  const coordinator = await CheckpointCoordinator.create({
    job: JOB,
    storage,
    clock,
    participant: {
      triggerCheckpoint: (id, ts, kind) => participant.triggerCheckpoint(id, ts, kind),
      notifyCheckpointComplete: (id) => {
        participant.notifyCheckpointComplete(id);
        for (const s of subtasks) s.notifyCheckpointComplete(id);
      },
      notifyCheckpointAborted: (id, reason) => {
        participant.notifyCheckpointAborted(id, reason);
        for (const s of subtasks) s.notifyCheckpointAborted(id);
      },
    },
    expectedTasks: subtasks.map((_, i) => ({ operatorId: 'op', subtaskIndex: i })),
    interval: 0,
    timeout: 10_000,
    maxParallelism: 128,
    operators: [{ operatorId: 'op', parallelism }],
    onEvent: (e) => events.push(e),
    ...overrides,
  });
  const snap = async (i: number, id: number, kind: 'checkpoint' | 'savepoint' = 'checkpoint'): Promise<SubtaskState> => {
    const sub = subtasks[i]!;
    const h = await sub.snapshot(JOB, id, kind);
    // each subtask's handle covers its own key groups
    return { operatorId: 'op', subtaskIndex: i, keyed: { ...h, keyGroupRange: { start: i * (128 / parallelism), end: (i + 1) * (128 / parallelism) - 1 } } };
  };
  const h: Harness = {
    storage, clock, participant, subtasks, events, coordinator, snap,
    async ackAll(id, kind = 'checkpoint') {
      for (let i = 0; i < subtasks.length; i++) coordinator.acknowledge(id, await snap(i, id, kind), METRICS);
      await coordinator.whenIdle();
    },
  };
  return h;
}

/** The objects under `prefix`, without weir's job directory marker (written once at create()). */
async function paths(storage: CheckpointStorage, prefix = `${JOB}/`): Promise<string[]> {
  return (await storage.list(prefix)).map((o) => o.path).filter((p) => !p.endsWith(`/${JOB_MARKER_FILE}`));
}

/** Lets promise callbacks run (the coordinator's async steps) without moving the clock. */
async function settle(c: CheckpointCoordinator): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  await c.whenIdle();
}

test('a triggered checkpoint completes when every subtask acked: _metadata, registry, notify, history', async () => {
  const h = await harness();
  const done = h.coordinator.triggerCheckpoint();
  assert.deepEqual(h.participant.triggered, [{ id: 1, kind: 'checkpoint' }]);
  h.coordinator.acknowledge(1, await h.snap(0, 1), METRICS);
  await settle(h.coordinator);
  assert.equal(h.participant.completed.length, 0, 'not complete with one of two acks');
  assert.equal(await h.storage.stat(metadataPath(JOB, 1)), undefined);
  h.clock.advance(25);
  h.coordinator.acknowledge(1, await h.snap(1, 1), { syncMillis: 9, asyncMillis: 2, alignmentMillis: 4 });
  const info = await done;
  assert.equal(info.checkpointId, 1);
  assert.equal(info.durationMillis, 25);
  assert.ok(await h.storage.stat(metadataPath(JOB, 1)));
  assert.deepEqual(h.participant.completed, [1]);
  assert.equal(h.coordinator.registry.entries().length, 4);
  const [stats] = h.coordinator.history();
  assert.equal(stats!.status, 'completed');
  assert.equal(stats!.syncMaxMillis, 9);
  assert.equal(stats!.alignmentMaxMillis, 4);
  assert.equal(stats!.ackedSubtasks, 2);
  assert.equal(stats!.fullSize, info.fullSize);
  assert.ok(info.fullSize > 0 && info.checkpointedSize === info.fullSize, 'first checkpoint uploads everything');
  // second checkpoint: incremental on the confirmed first one
  const second = h.coordinator.triggerCheckpoint();
  await h.ackAll(2);
  const info2 = await second;
  assert.equal(info2.fullSize, info.fullSize);
  assert.ok(info2.checkpointedSize < info.checkpointedSize, 'only the manifests are new');
  await h.coordinator.stop();
});

test('periodic trigger honours interval and maxConcurrent; the next one starts when the slot frees', async () => {
  const h = await harness({ interval: 1000, maxConcurrent: 1 });
  h.coordinator.start();
  h.clock.advance(999);
  assert.equal(h.participant.triggered.length, 0);
  h.clock.advance(1);
  assert.deepEqual(h.participant.triggered.map((t) => t.id), [1]);
  h.clock.advance(3000); // checkpoint 1 still in flight: no second trigger
  assert.equal(h.participant.triggered.length, 1);
  assert.ok(h.events.some((e) => e.type === 'skipped'));
  await h.ackAll(1);
  h.clock.advance(0);
  assert.deepEqual(h.participant.triggered.map((t) => t.id), [1, 2], 'overdue checkpoint triggered as soon as the slot frees');
  await h.ackAll(2);
  h.clock.advance(999);
  assert.equal(h.participant.triggered.length, 2);
  h.clock.advance(1);
  assert.equal(h.participant.triggered.length, 3);
  await h.coordinator.stop();
  assert.equal(h.clock.pendingTimers(), 0, 'stop() cancels every timer');
  assert.deepEqual(h.participant.aborted.map((a) => a.id), [3]);
});

test('minPause delays the next periodic trigger after a checkpoint ends', async () => {
  const h = await harness({ interval: 100, minPause: 500 });
  h.coordinator.start();
  h.clock.advance(100);
  assert.equal(h.participant.triggered.length, 1);
  h.clock.advance(50);
  await h.ackAll(1); // ends at t0+150
  h.clock.advance(499);
  assert.equal(h.participant.triggered.length, 1, 'within minPause of the end of checkpoint 1');
  h.clock.advance(1);
  assert.equal(h.participant.triggered.length, 2);
  await h.coordinator.stop();
});

test('pausePeriodic stops periodic triggers (a drained job refused them every interval), manual ones still run; resumePeriodic restarts them', async () => {
  const h = await harness({ interval: 100, maxConcurrent: 1 });
  h.coordinator.start();
  h.clock.advance(100);
  assert.deepEqual(h.participant.triggered.map((t) => t.id), [1]);
  h.coordinator.pausePeriodic();
  await h.ackAll(1);
  h.clock.advance(1000);
  assert.deepEqual(h.participant.triggered.map((t) => t.id), [1], 'no periodic trigger while paused, also not the one waiting for the slot');
  const manual = h.coordinator.triggerCheckpoint();
  assert.deepEqual(h.participant.triggered.map((t) => t.id), [1, 2]);
  await h.ackAll(2);
  await manual;
  h.coordinator.resumePeriodic();
  h.clock.advance(99);
  assert.equal(h.participant.triggered.length, 2);
  h.clock.advance(1);
  assert.deepEqual(h.participant.triggered.map((t) => t.id), [1, 2, 3]);
  await h.coordinator.stop();
});

test('manual checkpoint is refused beyond maxConcurrent; a savepoint is not', async () => {
  const h = await harness({ maxConcurrent: 1 });
  const first = h.coordinator.triggerCheckpoint();
  await assert.rejects(h.coordinator.triggerCheckpoint(), CheckpointDeclinedError);
  const sp = h.coordinator.triggerCheckpoint('savepoint');
  await h.ackAll(1);
  await first;
  await h.ackAll(2, 'savepoint');
  assert.equal((await sp).kind, 'savepoint');
  await h.coordinator.stop();
});

test('timeout aborts: participant notified, files of the acked subtask deleted, promise rejects', async () => {
  const h = await harness({ timeout: 5000 });
  const done = h.coordinator.triggerCheckpoint();
  h.coordinator.acknowledge(1, await h.snap(0, 1), METRICS);
  assert.ok((await paths(h.storage)).length > 0, 'subtask 0 uploaded');
  h.clock.advance(5000);
  await assert.rejects(done, (err: unknown) => err instanceof CheckpointDeclinedError && /timed out/.test(err.message));
  await settle(h.coordinator);
  assert.deepEqual(await paths(h.storage), []);
  assert.deepEqual(h.participant.aborted.map((a) => a.id), [1]);
  assert.equal(h.coordinator.history()[0]!.status, 'failed');
  await h.coordinator.stop();
});

test('late ack after an abort is cleaned up (FLINK-30461), re-referenced files are kept', async () => {
  const h = await harness({ timeout: 5000 });
  const c1 = h.coordinator.triggerCheckpoint();
  await h.ackAll(1);
  await c1;
  const after1 = await paths(h.storage);
  for (const s of h.subtasks) await s.setLocalFiles(['000001.sst', '000002.sst', '000003.sst']);
  const c2 = h.coordinator.triggerCheckpoint();
  h.clock.advance(5000);
  await assert.rejects(c2, CheckpointDeclinedError);
  // both subtasks finish their uploads only now
  const late = [await h.snap(0, 2), await h.snap(1, 2)];
  assert.ok((await paths(h.storage)).some((p) => p.includes('-2-000003.sst')), 'late uploads landed');
  for (const s of late) h.coordinator.acknowledge(2, s, METRICS);
  await settle(h.coordinator);
  assert.deepEqual(await paths(h.storage), after1, 'only checkpoint 1 remains, with all its files');
  const lateDeleted = h.events.flatMap((e) => (e.type === 'cleanup' && e.late ? e.deleted : []));
  assert.equal(lateDeleted.length, 4, 'each subtask: its new sstable and its manifest');
  await h.coordinator.stop();
});

test('decline aborts the checkpoint and deletes what the other subtask uploaded', async () => {
  const h = await harness();
  const done = h.coordinator.triggerCheckpoint();
  h.coordinator.acknowledge(1, await h.snap(1, 1), METRICS);
  h.coordinator.decline(1, 'op', 0, 'disk full');
  await assert.rejects(done, /declined by op\/0: disk full/);
  await settle(h.coordinator);
  assert.deepEqual(await paths(h.storage), []);
  assert.match(h.participant.aborted[0]!.reason, /disk full/);
  await h.coordinator.stop();
});

test('a participant that cannot checkpoint aborts the trigger', async () => {
  const h = await harness();
  h.participant.accept = false;
  await assert.rejects(h.coordinator.triggerCheckpoint(), /cannot checkpoint now/);
  await h.coordinator.stop();
});

test('concurrent checkpoints: the second starts before the first is confirmed, the first is aborted', async () => {
  const h = await harness({ maxConcurrent: 2 });
  const c1 = h.coordinator.triggerCheckpoint();
  await h.ackAll(1);
  await c1;
  for (const s of h.subtasks) await s.setLocalFiles(['000001.sst', '000002.sst', '000003.sst']);
  const c2 = h.coordinator.triggerCheckpoint();
  const c3 = h.coordinator.triggerCheckpoint();
  const s2 = [await h.snap(0, 2), await h.snap(1, 2)];
  const s3 = [await h.snap(0, 3), await h.snap(1, 3)];
  // both were based on checkpoint 1 (the only confirmed one): both uploaded 000003.sst
  assert.ok(s3[0]!.keyed!.sharedFiles.some((f) => f.localName === '000003.sst' && !f.reused));
  h.coordinator.acknowledge(2, s2[0]!, METRICS);
  h.coordinator.decline(2, 'op', 1, 'failed');
  await assert.rejects(c2);
  for (const s of s3) h.coordinator.acknowledge(3, s, METRICS);
  h.coordinator.acknowledge(2, s2[1]!, METRICS); // late, after its own decline
  await c3;
  await settle(h.coordinator);
  const live = new Set(await paths(h.storage));
  for (const s of s2) for (const f of [...s.keyed!.sharedFiles.filter((x) => !x.reused), ...s.keyed!.privateFiles]) {
    assert.ok(!live.has(f.path), `checkpoint 2 file ${f.path} leaked`);
  }
  for (const s of s3) for (const f of [...s.keyed!.sharedFiles, ...s.keyed!.privateFiles]) {
    assert.ok(live.has(f.path), `checkpoint 3 needs ${f.path}`);
  }
  await h.coordinator.stop();
});

test('a newer checkpoint completing first aborts the older pending one; its files are cleaned', async () => {
  const h = await harness({ maxConcurrent: 2 });
  const c1 = h.coordinator.triggerCheckpoint();
  const c2 = h.coordinator.triggerCheckpoint();
  const s1 = await h.snap(0, 1);
  h.coordinator.acknowledge(1, s1, METRICS);
  await h.ackAll(2);
  await c2;
  await assert.rejects(c1, /subsumed by completed checkpoint 2/);
  h.coordinator.acknowledge(1, await h.snap(1, 1), METRICS); // late
  await settle(h.coordinator);
  const referenced = new Set(h.coordinator.store.latest()!.subtasks.flatMap((s) => [...s.keyed!.sharedFiles, ...s.keyed!.privateFiles].map((f) => f.path)));
  referenced.add(metadataPath(JOB, 2));
  assert.deepEqual(new Set(await paths(h.storage)), referenced);
  await h.coordinator.stop();
});

test('a failed _metadata write aborts: nothing published, uploads deleted, the next checkpoint works', async () => {
  const faulty = new FaultInjectingStorage(new MemoryStorage(), { failureRate: 0 });
  const h = await harness({}, faulty);
  faulty.failNext('write', /_metadata$/);
  const c1 = h.coordinator.triggerCheckpoint();
  await h.ackAll(1);
  await assert.rejects(c1, /writing job\/chk-1\/_metadata failed/);
  await settle(h.coordinator);
  assert.deepEqual(await paths(faulty), []);
  assert.equal(h.coordinator.registry.entries().length, 0);
  // the write landed but its acknowledgement was lost: the _metadata is removed before its files
  faulty.failNext('write', /_metadata$/, undefined, 'after');
  const c2 = h.coordinator.triggerCheckpoint();
  await h.ackAll(2);
  await assert.rejects(c2);
  await settle(h.coordinator);
  assert.deepEqual(await paths(faulty), []);
  const c3 = h.coordinator.triggerCheckpoint();
  await h.ackAll(3);
  assert.equal((await c3).checkpointId, 3);
  assert.equal(h.subtasks[0]!.confirmedBase(), 3);
  await h.coordinator.stop();
});

test('checkpoint ids strictly increase across restarts, also past chk dirs without _metadata', async () => {
  const storage = new MemoryStorage();
  const h = await harness({}, storage);
  for (const id of [1, 2]) {
    const c = h.coordinator.triggerCheckpoint();
    await h.ackAll(id);
    await c;
  }
  await h.coordinator.stop();
  await storage.write(`${JOB}/chk-7/leftover`, new Uint8Array(3)); // a crash mid-checkpoint 7
  const h2 = await harness({ cleanupOrphansOnStart: false }, storage);
  assert.equal(h2.coordinator.peekNextCheckpointId(), 8);
  assert.equal(h2.coordinator.latestCompleted()!.checkpointId, 2);
  const pending = h2.coordinator.triggerCheckpoint(); // id 8 leaves nothing in storage
  await h2.coordinator.stop();
  await assert.rejects(pending);
  const h3 = await harness({ firstCheckpointId: h2.coordinator.peekNextCheckpointId() }, storage);
  assert.equal(h3.coordinator.peekNextCheckpointId(), 9, 'an in-process restart continues after the previous attempt');
  await h3.coordinator.stop();
});

test('create() recovers registry counts, deletes orphans of this job only and no retained checkpoint; retention applies at the next completion', async () => {
  const storage = new MemoryStorage();
  const h = await harness({ retained: 3 }, storage);
  for (const id of [1, 2, 3]) {
    const c = h.coordinator.triggerCheckpoint();
    await h.ackAll(id);
    await c;
  }
  await h.coordinator.stop();
  const counts = h.coordinator.registry.entries().map((e) => `${e.key}:${e.refCount}`);
  assert.deepEqual(counts.sort(), ['op-0-000001.sst:3', 'op-0-000002.sst:3', 'op-1-000001.sst:3', 'op-1-000002.sst:3']);
  await storage.write(`${JOB}/shared/orphan.sst`, new Uint8Array(5));
  await storage.write(`${JOB}/taskowned/orphan-meta`, new Uint8Array(5));
  await storage.write(`other/shared/not-ours.sst`, new Uint8Array(5));
  const h2 = await harness({ retained: 2 }, storage);
  // nothing retained is deleted at start: a restore may still be reading checkpoint 1..3 (restore-claim.ts)
  assert.deepEqual(h2.coordinator.store.checkpoints().map((m) => m.checkpointId), [1, 2, 3]);
  assert.deepEqual(h2.coordinator.registry.entries().map((e) => e.refCount), [3, 3, 3, 3]);
  let left = await paths(storage, '');
  assert.ok(!left.includes(`${JOB}/shared/orphan.sst`) && !left.includes(`${JOB}/taskowned/orphan-meta`));
  assert.ok(left.includes('other/shared/not-ours.sst'));
  assert.ok(left.includes(metadataPath(JOB, 1)));
  const recovered = h2.events.find((e) => e.type === 'recovered');
  assert.ok(recovered && recovered.type === 'recovered' && recovered.orphansDeleted.length === 2 && recovered.subsumed.length === 0);
  const c4 = h2.coordinator.triggerCheckpoint();
  await h2.ackAll(4);
  await c4;
  await h2.coordinator.whenIdle();
  assert.deepEqual(h2.coordinator.store.checkpoints().map((m) => m.checkpointId), [3, 4]);
  left = await paths(storage, '');
  assert.ok(!left.includes(metadataPath(JOB, 1)) && !left.includes(metadataPath(JOB, 2)));
  await h2.coordinator.stop();
});

test('unreadable _metadata: orphans are not deleted; newer format version is refused', async () => {
  const storage = new MemoryStorage();
  await storage.write(`${JOB}/chk-4/_metadata`, new TextEncoder().encode('{not json'));
  await storage.write(`${JOB}/shared/maybe-needed.sst`, new Uint8Array(5));
  const h = await harness({}, storage);
  assert.ok((await paths(storage)).includes(`${JOB}/shared/maybe-needed.sst`));
  assert.equal(h.coordinator.peekNextCheckpointId(), 5);
  await h.coordinator.stop();
  const newer = new MemoryStorage();
  await newer.write(`${JOB}/chk-1/_metadata`, new TextEncoder().encode(JSON.stringify({ formatVersion: 99, job: JOB })));
  await assert.rejects(harness({}, newer), (err: unknown) => err instanceof ConfigError && /format version 99/.test(err.message));
});

test('a savepoint is never subsumed and never resets retention; it must be self-contained', async () => {
  const h = await harness({ retained: 1 });
  const c1 = h.coordinator.triggerCheckpoint();
  await h.ackAll(1);
  await c1;
  const sp = h.coordinator.triggerCheckpoint('savepoint');
  await h.ackAll(2, 'savepoint');
  await sp;
  assert.deepEqual(h.coordinator.store.checkpoints().map((m) => m.checkpointId), [1], 'the savepoint did not subsume checkpoint 1 (FLINK-21351)');
  assert.equal(h.subtasks[0]!.confirmedBase(), 1, 'savepoint does not move the incremental base');
  const c3 = h.coordinator.triggerCheckpoint();
  await h.ackAll(3);
  await c3;
  assert.deepEqual(h.coordinator.store.savepoints().map((m) => m.checkpointId), [2]);
  const present = new Set(await paths(h.storage));
  assert.ok(present.has(metadataPath(JOB, 2, 'savepoint')));
  for (const s of h.coordinator.store.get(2)!.subtasks) for (const f of s.keyed!.sharedFiles) assert.ok(present.has(f.path));
  assert.ok(!present.has(metadataPath(JOB, 1)), 'checkpoint 1 subsumed by checkpoint 3');
  // a savepoint handle that re-references checkpoint files is refused before publication
  const bad = h.coordinator.triggerCheckpoint('savepoint');
  for (let i = 0; i < 2; i++) h.coordinator.acknowledge(4, await h.snap(i, 4, 'checkpoint'), METRICS);
  await assert.rejects(bad, /self-contained/);
  await h.coordinator.stop();
});

test('tolerableFailures: one failure too many emits failure-threshold-exceeded; success resets', async () => {
  const h = await harness({ tolerableFailures: 1 });
  const fail = async (): Promise<void> => {
    const id = h.coordinator.peekNextCheckpointId();
    const c = h.coordinator.triggerCheckpoint();
    h.coordinator.decline(id, 'op', 0, 'io error');
    await assert.rejects(c);
  };
  h.participant.accept = false; // a refused trigger (job still restoring) is not a checkpoint failure
  await assert.rejects(h.coordinator.triggerCheckpoint());
  h.participant.accept = true;
  await fail();
  assert.ok(!h.events.some((e) => e.type === 'failure-threshold-exceeded'));
  const c = h.coordinator.triggerCheckpoint();
  await h.ackAll(h.coordinator.pendingCheckpointIds()[0]!);
  await c; // success resets the count
  await fail();
  assert.ok(!h.events.some((e) => e.type === 'failure-threshold-exceeded'));
  await fail();
  assert.ok(h.events.some((e) => e.type === 'failure-threshold-exceeded' && e.consecutiveFailures === 2));
  // abortPending (failover) aborts without counting
  const before = h.events.filter((e) => e.type === 'failure-threshold-exceeded').length;
  const d = h.coordinator.triggerCheckpoint();
  h.coordinator.abortPending('task failed, restarting');
  await assert.rejects(d, /task failed/);
  assert.equal(h.events.filter((e) => e.type === 'failure-threshold-exceeded').length, before);
  await h.coordinator.stop();
});

test('an ack whose handle names another checkpoint aborts; a handle outside the job dir is refused', async () => {
  const h = await harness();
  const c = h.coordinator.triggerCheckpoint();
  const s = await h.snap(0, 1);
  h.coordinator.acknowledge(1, { ...s, keyed: { ...s.keyed!, checkpointId: 9 } }, METRICS);
  await assert.rejects(c, /for checkpoint 9/);
  const c2 = h.coordinator.triggerCheckpoint();
  const a = await h.snap(0, 2);
  const bad = { ...a, keyed: { ...a.keyed!, privateFiles: [{ name: 'x', path: 'other/taskowned/x', size: 1, checksum: '00000000' }] } };
  h.coordinator.acknowledge(2, bad, METRICS);
  h.coordinator.acknowledge(2, await h.snap(1, 2), METRICS);
  await assert.rejects(c2, /not inside the job directory/);
  await h.coordinator.stop();
});

test('two concurrent checkpoints both upload the same new sstable; both complete; each upload is freed on its own (FLINK-29913)', async () => {
  const h = await harness({ maxConcurrent: 2, retained: 2 }, new MemoryStorage(), 1);
  const c1 = h.coordinator.triggerCheckpoint();
  await h.ackAll(1);
  await c1;
  await h.subtasks[0]!.setLocalFiles(['000001.sst', '000002.sst', '000003.sst']);
  const c2 = h.coordinator.triggerCheckpoint();
  const c3 = h.coordinator.triggerCheckpoint();
  const s2 = await h.snap(0, 2);
  const s3 = await h.snap(0, 3); // base is still checkpoint 1: 000003.sst is uploaded again
  h.coordinator.acknowledge(2, s2, METRICS);
  await c2;
  h.coordinator.acknowledge(3, s3, METRICS);
  await c3;
  const uploads = h.coordinator.registry.lookup('op-0-000003.sst');
  assert.equal(uploads.length, 2, 'two paths under one key, both counted');
  const path2 = s2.keyed!.sharedFiles.find((f) => f.localName === '000003.sst')!.path;
  const path3 = s3.keyed!.sharedFiles.find((f) => f.localName === '000003.sst')!.path;
  assert.notEqual(path2, path3);
  const c4 = h.coordinator.triggerCheckpoint();
  await h.ackAll(4); // base is checkpoint 3: reuses path3; checkpoint 2 is subsumed
  await c4;
  assert.equal(await h.storage.stat(path2), undefined, "checkpoint 2's upload is freed with it");
  assert.ok(await h.storage.stat(path3), 'the upload checkpoints 3 and 4 use is kept');
  assert.deepEqual(h.coordinator.registry.lookup('op-0-000003.sst').map((e) => [e.path, e.refCount]), [[path3, 2]]);
  await h.coordinator.stop();
});

test('subsumption runs after the completion is reported; the next completion and stop() wait for it', async () => {
  // Deletes of checkpoint 1's objects hang until the gate opens: a slow subsumption.
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const blocked: string[] = [];
  class SlowDeletes extends MemoryStorage {
    override async delete(path: string): Promise<void> {
      if (path.startsWith(`${JOB}/chk-1/`)) {
        blocked.push(path);
        await gate;
      }
      return super.delete(path);
    }
  }
  const h = await harness({}, new SlowDeletes());
  const first = h.coordinator.triggerCheckpoint();
  await h.ackAll(1);
  await first;
  const second = h.coordinator.triggerCheckpoint();
  for (let i = 0; i < 2; i++) h.coordinator.acknowledge(2, await h.snap(i, 2), METRICS);
  const reported = await Promise.race([second.then(() => 'completed'), new Promise((r) => setTimeout(() => r('still waiting'), 3000))]);
  assert.equal(reported, 'completed', 'checkpoint 2 was reported only after subsuming checkpoint 1');
  assert.deepEqual(blocked, [metadataPath(JOB, 1)], 'the subsumption of checkpoint 1 started with its _metadata');
  assert.deepEqual(h.participant.completed, [1, 2]);
  assert.ok(!h.events.some((e) => e.type === 'subsumed' && e.checkpointId === 2), 'subsumed reported before its deletes ended');
  // Checkpoint 3 completes on the subtasks' side, but is not published while 1's subsumption runs.
  const third = h.coordinator.triggerCheckpoint();
  for (let i = 0; i < 2; i++) h.coordinator.acknowledge(3, await h.snap(i, 3), METRICS);
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(await h.storage.stat(metadataPath(JOB, 3)), undefined, 'checkpoint 3 published while the previous subsumption ran');
  let stopped = false;
  const stopping = h.coordinator.whenIdle().then(() => (stopped = true));
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  assert.equal(stopped, false, 'whenIdle() resolved with a subsumption in flight');
  open();
  await third;
  await stopping;
  await h.coordinator.whenIdle();
  const order = h.events.filter((e) => e.type === 'completed' || e.type === 'subsumed')
    .map((e) => (e.type === 'completed' ? `completed ${e.info.checkpointId}` : `subsumed ${e.checkpointId}: ${e.subsumed.join(',')}`));
  assert.deepEqual(order, ['completed 1', 'subsumed 1: ', 'completed 2', 'subsumed 2: 1', 'completed 3', 'subsumed 3: 2']);
  assert.deepEqual(h.coordinator.store.checkpoints().map((m) => m.checkpointId), [3]);
  assert.deepEqual((await paths(h.storage, `${JOB}/chk-1/`)), [], 'checkpoint 1 left files behind');
  await h.coordinator.stop();
});

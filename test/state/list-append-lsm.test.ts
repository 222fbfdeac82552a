/**
 * ListState on the lsm backend, where add()/addAll() write merge operands (append, issue 11)
 * instead of rewriting the list: lists checked against a model through incremental
 * checkpoints, restores and rescaling 1 → 2 → 1, with flushes and compactions folding
 * operands in between; and a checkpoint written before merge operands existed (format v1
 * tables, testdata/pre-merge-lsm-checkpoint) still restores and takes appends.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm } from 'node:fs/promises';
import { openSync, closeSync, fstatSync, readSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeEnv } from './keyed-state-contract.ts';
import { createLsmBackend, type LsmKeyedBackend } from '../../src/state/lsm-backend.ts';
import { keyGroupOf, keyGroupRangeForSubtask } from '../../src/state/key-groups.ts';
import { msgpackSerializer } from '../../src/state/serializers.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import type { KeyedStateBackend, KeyedStateHandle } from '../../src/state/types.ts';
import type { LsmOptions } from '../../src/lsm/types.ts';

type Model = Map<number, number[]>;

/** Small budgets: every few hundred appends a flush, and compactions (auto) fold operands. */
const SMALL: Partial<Omit<LsmOptions, 'dir'>> = {
  memtableBytes: 24 * 1024, l0CompactionTrigger: 2, levelBaseBytes: 48 * 1024, levelMultiplier: 2, targetFileBytes: 16 * 1024, blockSize: 512,
};

/** Deterministic pseudo-random stream (xorshift32). */
function rng(seed: number): () => number {
  let s = seed | 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

/** One round of list writes on `keys`: mostly add, some addAll, a few update and clear. */
function writeRound(b: KeyedStateBackend, model: Model, keys: readonly number[], round: number, rand: () => number): void {
  const l = b.getListState<number>('l');
  for (const k of keys) {
    b.setCurrentKey(k);
    const cur = model.get(k) ?? [];
    const x = rand();
    if (x < 0.03) {
      l.clear();
      model.delete(k);
    } else if (x < 0.06) {
      const v = [round * 1000 + k];
      l.update(v);
      model.set(k, v);
    } else if (x < 0.16) {
      const vs = [round, k, -1];
      l.addAll(vs);
      model.set(k, [...cur, ...vs]);
    } else {
      const n = 1 + Math.floor(rand() * 4);
      for (let i = 0; i < n; i++) {
        const v = round * 100_000 + k * 10 + i;
        l.add(v);
        cur.push(v);
      }
      model.set(k, cur);
    }
  }
}

function checkLists(b: KeyedStateBackend, model: Model, keys: readonly number[], what: string): void {
  const l = b.getListState<number>('l');
  for (const k of keys) {
    b.setCurrentKey(k);
    assert.deepEqual(l.get(), model.get(k) ?? [], `${what}: list of key ${k}`);
  }
}

/** Footer format version of each live sstable (2 = holds merge operands, sstable/format.ts). */
function tableVersions(b: KeyedStateBackend): number[] {
  return (b as LsmKeyedBackend).lsmStore().liveFiles().map((f) => {
    const fd = openSync(f.path, 'r');
    try {
      const buf = Buffer.alloc(4);
      readSync(fd, buf, 0, 4, fstatSync(fd).size - 56 + 40);
      return buf.readUInt32LE(0);
    } finally {
      closeSync(fd);
    }
  });
}

async function checkpoint(b: KeyedStateBackend, id: number): Promise<KeyedStateHandle> {
  const h = await b.snapshot({ jobPath: 'job', checkpointId: id, kind: 'checkpoint' }).done;
  b.notifyCheckpointComplete(id);
  return h;
}

function ownedBy(keys: readonly number[], maxP: number, p: number, i: number): number[] {
  const r = keyGroupRangeForSubtask(maxP, p, i);
  return keys.filter((k) => {
    const kg = keyGroupOf(msgpackSerializer.serialize(k), maxP);
    return kg >= r.start && kg <= r.end;
  });
}

test('lsm ListState appends: model check through incremental checkpoints, restore and rescale 1 → 2 → 1', async () => {
  const maxP = 32;
  // Worker-thread flushes: the flush image path folds merge chains off the store's thread.
  const env = await makeEnv((o) => createLsmBackend({ ...o, lsmOptions: SMALL }), maxP);
  try {
    const keys = Array.from({ length: 80 }, (_, i) => i);
    const model: Model = new Map();
    const rand = rng(11);
    const one = await env.open();
    let h1: KeyedStateHandle | undefined;
    const versionsSeen = new Set<number>();
    for (let round = 0; round < 30; round++) {
      writeRound(one, model, keys, round, rand);
      for (const v of tableVersions(one)) versionsSeen.add(v);
      if (round % 10 === 9) h1 = await checkpoint(one, 1 + Math.floor(round / 10));
    }
    checkLists(one, model, keys, 'before the checkpoint');
    const store = (one as LsmKeyedBackend).lsmStore();
    await store.waitForIdle();
    const st = store.stats();
    assert.ok(st.flushes > 1 && st.compactions > 0, `flushes and compactions ran: ${st.flushes} flushes, ${st.compactions} compactions`);
    assert.ok(versionsSeen.has(2), `merge operands reached the sstables (format versions seen: ${[...versionsSeen].join(',')})`);
    assert.ok(h1 !== undefined && h1.mode === 'incremental', 'the last checkpoint is incremental');

    // Same key-group range: the store opens from the checkpoint's files directly.
    const same = await env.open({ restoreFrom: [h1] });
    checkLists(same, model, keys, 'restored 1 → 1');

    // Rescale 1 → 2: one subtask opens the handle and clips it with range deletes, the other copies.
    const two = await Promise.all([0, 1].map((i) => env.open({ subtaskIndex: i, keyGroupRange: keyGroupRangeForSubtask(maxP, 2, i), restoreFrom: [h1] })));
    const handles: KeyedStateHandle[] = [];
    for (let i = 0; i < 2; i++) {
      const own = ownedBy(keys, maxP, 2, i);
      assert.ok(own.length > 0);
      checkLists(two[i]!, model, own, `restored 1 → 2, subtask ${i}`);
      for (let round = 30; round < 40; round++) writeRound(two[i]!, model, own, round, rand);
      checkLists(two[i]!, model, own, `after appends at parallelism 2, subtask ${i}`);
      handles.push(await checkpoint(two[i]!, 10));
    }

    // Rescale 2 → 1.
    const back = await env.open({ restoreFrom: handles });
    checkLists(back, model, keys, 'restored 2 → 1');
    for (let round = 40; round < 45; round++) writeRound(back, model, keys, round, rand);
    await (back as LsmKeyedBackend).lsmStore().compactRange();
    checkLists(back, model, keys, 'after appends and a full compaction at parallelism 1');
  } finally {
    await env.cleanup();
  }
});

test('lsm: a checkpoint written before merge operands (format v1 tables) restores, rescales and takes appends', async () => {
  const fixture = join(import.meta.dirname, 'testdata', 'pre-merge-lsm-checkpoint');
  const root = await mkdtemp(join(tmpdir(), 'weir-premerge-'));
  await cp(join(fixture, 'storage'), root, { recursive: true });
  const handle = JSON.parse(await readFile(join(fixture, 'handle.json'), 'utf8')) as KeyedStateHandle;
  assert.ok(handle.sharedFiles.length > 1, 'the fixture holds several sstables');
  const storage = new LocalStorage({ root });
  const maxP = handle.maxParallelism;
  const env = await makeEnv((o) => createLsmBackend({ ...o, storage, lsmOptions: { ...SMALL, useWorker: false } }), maxP);
  try {
    // What make-pre-merge-checkpoint.ts wrote: key k holds [k*100, …, k*100 + k % 5].
    const keys = Array.from({ length: 60 }, (_, k) => k);
    const model: Model = new Map(keys.map((k) => [k, Array.from({ length: (k % 5) + 1 }, (_, r) => k * 100 + r)]));
    const b = await env.open({ restoreFrom: [handle] });
    assert.deepEqual(tableVersions(b), handle.sharedFiles.map(() => 1), 'the restored tables are format version 1');
    checkLists(b, model, keys, 'old checkpoint restored');
    const rand = rng(5);
    for (let round = 0; round < 8; round++) writeRound(b, model, keys, round, rand);
    checkLists(b, model, keys, 'appends onto the old lists');
    const h = await checkpoint(b, 2);
    const two = await Promise.all([0, 1].map((i) => env.open({ subtaskIndex: i, keyGroupRange: keyGroupRangeForSubtask(maxP, 2, i), restoreFrom: [h] })));
    for (let i = 0; i < 2; i++) checkLists(two[i]!, model, ownedBy(keys, maxP, 2, i), `rescaled 1 → 2, subtask ${i}`);
  } finally {
    await env.cleanup();
    await rm(root, { recursive: true, force: true });
  }
});

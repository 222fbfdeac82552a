/**
 * Background lanes: a flush never waits behind a compaction (RocksDB's high-priority
 * flush threads), so a checkpoint — which waits for its memtable's flush — is never
 * delayed by compaction. A compaction is held "in progress" on its lane (its job ran,
 * its result is withheld, as when the compaction thread is busy); a flush requested then
 * must complete, and the compaction, released afterwards, must install next to the new
 * L0 file without losing or resurrecting anything.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLsm, type LsmOptions, type LsmStore } from '../../src/lsm/index.ts';
import { InlineJobRunner, type JobRunner } from '../../src/lsm/compaction/job-runner.ts';
import type { Job, JobResult } from '../../src/lsm/compaction/job-types.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

/** Runs jobs inline; holds every compaction's result until release(). */
class HeldCompactions implements JobRunner {
  readonly offThread = false;
  private readonly inner = new InlineJobRunner();
  private releaseGate!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.releaseGate = resolve));
  compactionsStarted = 0;
  compactionsDelivered = 0;
  private startedWaiters: (() => void)[] = [];

  async run(job: Job): Promise<JobResult> {
    if (job.kind !== 'compact') return this.inner.run(job);
    this.compactionsStarted++;
    for (const w of this.startedWaiters.splice(0)) w();
    const result = await this.inner.run(job);
    await this.gate;
    this.compactionsDelivered++;
    return result;
  }

  started(): Promise<void> {
    return this.compactionsStarted > 0 ? Promise.resolve() : new Promise((resolve) => this.startedWaiters.push(resolve));
  }

  release(): void {
    this.releaseGate();
  }

  async close(): Promise<void> {}
}

/** Resolves with p's value, or rejects after ms with `what`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(what)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function options(dir: string): LsmOptions {
  return { dir, useWorker: false, autoCompaction: false, memtableBytes: 1 << 20, blockSize: 256, l0CompactionTrigger: 2 };
}

function putRange(db: LsmStore, prefix: string, n: number, value: (i: number) => string): void {
  for (let i = 0; i < n; i++) db.put(enc(`${prefix}${String(i).padStart(4, '0')}`), enc(value(i)));
}

test('a flush (and the snapshot waiting for it) completes while a compaction is in progress; the compaction installs after it', async () => {
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'weir-lsm-lanes-'));
  const held = new HeldCompactions();
  const inline = new InlineJobRunner();
  try {
    const db = await openLsm({ ...options(dir), jobRunners: { flush: inline, compaction: held } });
    putRange(db, 'a', 300, (i) => `a-old-${i}`);
    await db.flush();
    putRange(db, 'b', 300, (i) => `b-${i}`);
    db.delete(enc('a0077'));
    await db.flush();
    assert.equal(db.stats().levels[0]!.files, 2);

    const compaction = db.compactRange();
    let compactionDone = false;
    void compaction.then(() => (compactionDone = true), () => (compactionDone = true));
    await within(held.started(), 10_000, 'the compaction never started');

    // Newer data, including overwrites of keys the compaction is rewriting.
    putRange(db, 'a', 50, (i) => `a-new-${i}`);
    putRange(db, 'c', 100, (i) => `c-${i}`);
    const snap = db.snapshot();
    await within(db.flush(), 10_000, 'the flush waited behind the compaction in progress');
    const files = await within(snap.ready(), 10_000, 'the snapshot waited behind the compaction in progress');
    assert.equal(compactionDone, false, 'the compaction is still in progress');
    assert.equal(held.compactionsDelivered, 0);
    assert.equal(db.stats().levels[0]!.files, 3, 'the flush installed its L0 file next to the compaction\'s inputs');
    assert.equal(files.files.length, 3, 'the snapshot holds the two inputs and the new table');
    assert.ok(files.flush !== undefined && files.flush.bytes > 0, 'the snapshot reports the flush it waited for');
    assert.equal(dec(db.get(enc('a0003'))), 'a-new-3');
    snap.release();

    held.release();
    await within(compaction, 10_000, 'the compaction never finished after release');
    const levels = db.stats().levels;
    assert.equal(levels[0]!.files, 1, 'L0 keeps only the table flushed during the compaction');
    assert.ok(levels[1]!.files >= 1, 'the compaction\'s outputs are in L1');
    const check = (s: LsmStore): void => {
      for (let i = 0; i < 300; i++) {
        const k = String(i).padStart(4, '0');
        const want = i === 77 ? undefined : i < 50 ? `a-new-${i}` : `a-old-${i}`;
        assert.equal(dec(s.get(enc(`a${k}`))), want, `a${k}`);
        assert.equal(dec(s.get(enc(`b${k}`))), `b-${i}`, `b${k}`);
        if (i < 100) assert.equal(dec(s.get(enc(`c${k}`))), `c-${i}`, `c${k}`);
      }
      let n = 0;
      const it = s.scan();
      for (const _ of it) n++;
      it.close();
      assert.equal(n, 299 + 300 + 100, 'a scan sees every live key once');
    };
    check(db);
    await db.close();
    const reopened = await openLsm(options(dir));
    check(reopened);
    await reopened.close();
  } finally {
    held.release();
    rmSync(dir, { recursive: true, force: true });
  }
});

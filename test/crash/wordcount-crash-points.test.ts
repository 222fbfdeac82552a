/**
 * Crash anywhere (short form of `npm run test:crash`): for lsm incremental, lsm full and
 * heap, wordcount through bin/weir.js is SIGKILLed once at every crash point of
 * src/util/crash-points.ts (synchronous and asynchronous snapshot phase, after an upload,
 * before and after `_metadata`, while subsumed files are deleted, between a compaction's
 * outputs and their install, between an LSM MANIFEST write and the deletion of the files
 * it drops, during restore) and twice at random moments, resuming with
 * --resume latest each time. Then it runs to the end: the committed output must be
 * exactly 1..n per word, `weir checkpoints verify` clean, and `gc --dry-run` must find no
 * orphan. Each kill must really have happened at its point (the process says where).
 * `recovered` is the point between recovery (completed checkpoints read) and the download
 * of the restored one. Two processes on one job directory (issue 9, defect 3) are tested by
 * test/checkpoint/testdata/ownership-two-processes.trace and the long run's --second-process,
 * not here: a second process that takes over a killed run's lease finishes the job before
 * the planned kills have landed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crashRound, rng, VARIANTS } from '../../scripts/crash-lib.ts';

for (const [i, variant] of VARIANTS.entries()) {
  test(`crash at every point and resume exactly once (${variant.name})`, { timeout: 170_000 }, async () => {
    // Random kills early (a timed kill can come too late once the input is nearly done); crash points fire on their first hits.
    const points = ['random', 'snapshot-sync', 'random', 'upload', 'metadata-before', 'restore', 'metadata-after', 'recovered', 'snapshot-async', 'subsume-delete'];
    if (variant.lsm) points.splice(4, 0, 'compaction', 'manifest-synced');
    const r = await crashRound({ variant, kills: points.length, sequence: points, lines: 120_000, vocab: 4000, random: rng(100 + i) });
    assert.equal(r.error, undefined, r.error);
    assert.ok(r.kills >= points.length - 1, `kills: ${JSON.stringify(r.killsByPoint)}`);
    for (const p of points.filter((x) => x !== 'random')) {
      const name = p.split(':')[0]!;
      assert.ok((r.killsByPoint[name] ?? 0) >= 1, `never killed at ${name}: ${JSON.stringify(r.killsByPoint)}`);
    }
    assert.deepEqual(r.outputProblems, []);
    assert.equal(r.verifyProblems, 0, 'weir checkpoints verify found problems');
    assert.equal(r.orphans, 0, 'gc --dry-run found orphans');
    assert.ok(r.checkpointsRetained >= 1);
  });
}

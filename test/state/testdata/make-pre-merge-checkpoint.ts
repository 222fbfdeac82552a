/**
 * Generates ./pre-merge-lsm-checkpoint: an lsm-backend checkpoint written by weir BEFORE
 * merge operands existed (list appends rewrote the whole list; sstables format version 1).
 * It was made with main at 8fd5679 by copying this file into that checkout's
 * test/state/testdata/ and running, from the checkout's root:
 *   node --import tsx test/state/testdata/make-pre-merge-checkpoint.ts <out dir>
 * list-append-lsm.test.ts restores it with the current code.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage } from '../../../src/storage/local-storage.ts';
import { createLsmBackend } from '../../../src/state/lsm-backend.ts';
import { ManualClock } from '../../../src/util/clock.ts';

const out = process.argv[2];
if (out === undefined) throw new Error('usage: make-pre-merge-checkpoint.ts <out dir>');
const local = await mkdtemp(join(tmpdir(), 'weir-premerge-'));
const b = await createLsmBackend({
  operatorId: 'op', subtaskIndex: 0, maxParallelism: 32, keyGroupRange: { start: 0, end: 31 },
  localDir: local, storage: new LocalStorage({ root: join(out, 'storage') }), clock: new ManualClock(),
  lsmOptions: { useWorker: false, autoCompaction: false, memtableBytes: 4096 },
});
// Key k holds the list [k*100, k*100+1, …] of k % 5 + 1 elements, added in rounds so that
// each key's successive whole-list versions land in different sstables.
for (let round = 0; round < 5; round++) {
  for (let k = 0; k < 60; k++) {
    if (round > k % 5) continue;
    b.setCurrentKey(k);
    b.getListState<number>('l').add(k * 100 + round);
  }
}
const h = await b.snapshot({ jobPath: 'job', checkpointId: 1, kind: 'checkpoint' }).done;
await writeFile(join(out, 'handle.json'), JSON.stringify(h, null, 1));
await b.dispose();
await rm(local, { recursive: true, force: true });

/**
 * Generates ./meta-timers-lsm-checkpoint: an lsm-backend checkpoint written by weir while
 * timers were still written in full into each snapshot's meta file (before they moved
 * into the store). It was made with main at b06b213 by running, from the checkout's root:
 *   node --import tsx test/state/testdata/make-meta-timers-checkpoint.ts test/state/testdata/meta-timers-lsm-checkpoint
 * lsm-timers.test.ts restores it with the current code.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalStorage } from '../../../src/storage/local-storage.ts';
import { createLsmBackend } from '../../../src/state/lsm-backend.ts';
import { ManualClock } from '../../../src/util/clock.ts';

const out = process.argv[2];
if (out === undefined) throw new Error('usage: make-meta-timers-checkpoint.ts <out dir>');
const local = await mkdtemp(join(tmpdir(), 'weir-metatimers-'));
const b = await createLsmBackend({
  operatorId: 'op', subtaskIndex: 0, maxParallelism: 32, keyGroupRange: { start: 0, end: 31 },
  localDir: local, storage: new LocalStorage({ root: join(out, 'storage') }), clock: new ManualClock(),
  lsmOptions: { useWorker: false, autoCompaction: false },
});
// Key k (0..59) holds the value k * 10, an event timer at 1000 + k and, for odd k, a
// processing timer at k in the namespace { w: k }.
for (let k = 0; k < 60; k++) {
  b.setCurrentKey(k);
  b.getValueState<number>('v').update(k * 10);
  b.registerTimer('event', 1000 + k);
  if (k % 2 === 1) b.registerTimer('processing', k, { w: k });
}
const h = await b.snapshot({ jobPath: 'job', checkpointId: 1, kind: 'checkpoint' }).done;
await writeFile(join(out, 'handle.json'), JSON.stringify(h, null, 1));
await b.dispose();
await rm(local, { recursive: true, force: true });

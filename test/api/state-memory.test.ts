/**
 * `stateMemory` (`weir run --memory`): the budget is shared by the job's lsm stores. A job
 * whose keyed operator writes ~6 MB of state with a 6 MiB budget (one store: 1 MiB
 * memtables, 3 MiB block cache) must flush while it runs and never hold more than a
 * memtable's worth; the same job without a budget keeps everything in its 64 MiB memtable.
 * Plus the arithmetic and the errors of parseSize / lsmStoreBudget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamEnvironment, CollectSink, type Source, type SourceReader } from '../../src/index.ts';
import { lsmStoreBudget, parseSize } from '../../src/api/memory-budget.ts';
import type { BackendOpened, JobObserver } from '../../src/runtime/job-observer.ts';
import type { LsmStore } from '../../src/lsm/types.ts';
import { ConfigError } from '../../src/util/errors.ts';

const RECORDS = 30_000;

/** Emits RECORDS records of ~200 bytes with distinct keys, then waits for `release` before it ends. */
function heldSource(release: Promise<void>, emitted: () => void): Source<{ k: number; v: string }> {
  return {
    name: 'held',
    maxParallelism: 1,
    createReader(): SourceReader<{ k: number; v: string }> {
      let i = 0;
      let released = false;
      return {
        poll(out, max) {
          if (i < RECORDS) {
            const n = Math.min(max, RECORDS - i);
            for (let j = 0; j < n; j++, i++) out.collect({ k: i, v: `${i}`.padEnd(200, 'x') });
            if (i === RECORDS) emitted();
            return 'more';
          }
          if (released) return 'end';
          return release.then(() => { released = true; });
        },
        snapshotState: () => [],
      };
    },
  };
}

async function runWith(stateMemory: string | undefined): Promise<{ flushes: number; memtableBytes: number; ingested: number }> {
  let open!: () => void;
  const release = new Promise<void>((r) => (open = r));
  let allEmitted!: () => void;
  const emitted = new Promise<void>((r) => (allEmitted = r));
  const backends: BackendOpened[] = [];
  const observer: JobObserver = { backendOpened: (b) => backends.push(b) };
  const env = new StreamEnvironment({ parallelism: 1, stateBackend: 'lsm', observer, ...(stateMemory ? { stateMemory } : {}) });
  env
    .fromSource(heldSource(release, allEmitted))
    .keyBy((r) => r.k)
    .process<number>({
      processElement(r, ctx) {
        ctx.getValueState<string>('v').update(r.v);
      },
    })
    .sinkTo(new CollectSink());
  const handle = await env.start();
  try {
    await emitted;
    // The keyed operator may still be working through the channel: wait (bounded) until it ingested everything.
    const lsm = (): LsmStore => (backends[0]!.backend as unknown as { lsmStore(): LsmStore }).lsmStore();
    for (let i = 0; i < 600 && lsm().stats().bytesIngested < RECORDS * 200; i++) await new Promise((r) => setTimeout(r, 50));
    const s = lsm().stats();
    return { flushes: s.flushes, memtableBytes: s.memtableBytes, ingested: s.bytesIngested };
  } finally {
    open();
    await handle.done;
  }
}

test('stateMemory: a 6 MiB budget makes the one lsm store flush 1 MiB memtables while it runs; without it nothing is flushed', async () => {
  const budgeted = await runWith('6m');
  assert.ok(budgeted.ingested >= RECORDS * 200, `ingested ${budgeted.ingested}`);
  assert.ok(budgeted.flushes >= 3, `${budgeted.flushes} flushes of ~6 MB with 1 MiB memtables`);
  assert.ok(budgeted.memtableBytes <= 3 * 1024 * 1024, `memtables hold ${budgeted.memtableBytes} bytes (active + 2 sealed at most)`);
  const unbounded = await runWith(undefined);
  assert.ok(unbounded.ingested >= RECORDS * 200);
  assert.equal(unbounded.flushes, 0, 'the default 64 MiB memtable holds all of it');
});

test('parseSize and lsmStoreBudget: units, the split, one-line errors', () => {
  assert.equal(parseSize('256m'), 256 * 1024 ** 2);
  assert.equal(parseSize('1.5g'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('512MiB'), 512 * 1024 ** 2);
  assert.equal(parseSize('64k'), 65536);
  assert.equal(parseSize(1000), 1000);
  assert.throws(() => parseSize('lots', '--memory'), (e: unknown) => e instanceof ConfigError && /--memory: cannot parse "lots"/.test(e.message));
  assert.throws(() => parseSize('0m'), ConfigError);
  // 256 MiB over 4 stores: 64 MiB each, half for 3 memtables, half for the cache.
  assert.deepEqual(lsmStoreBudget(256 * 1024 ** 2, 4), { memtableBytes: Math.floor((64 * 1024 ** 2) / 6), maxSealedMemtables: 2, blockCacheBytes: 32 * 1024 ** 2 });
  assert.throws(() => lsmStoreBudget(8 * 1024 ** 2, 4), (e: unknown) => e instanceof ConfigError && /too small for 4 lsm subtasks: give at least 24m/.test(e.message));
});

test('stateMemory too small for the job fails at start, before anything runs', async () => {
  const env = new StreamEnvironment({ parallelism: 8, stateBackend: 'lsm', stateMemory: '16m' });
  env.fromSource(heldSource(Promise.resolve(), () => undefined)).keyBy((r) => r.k).process<number>({ processElement() {} }).sinkTo(new CollectSink());
  await assert.rejects(env.execute(), (e: unknown) => e instanceof ConfigError && /too small for 8 lsm subtasks/.test(e.message));
});

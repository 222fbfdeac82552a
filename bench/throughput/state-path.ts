/**
 * The per-record keyed-state path alone (no runtime): setCurrentKey + ValueState
 * value() + update() of a count, over the same key sequence as run.ts, on a heap and an
 * lsm backend. Shorter and steadier than the full job on a loaded machine; use it for
 * A/B comparisons of src/state changes.
 *
 *   node --import tsx bench/throughput/state-path.ts --keys 100000,1000000 --records 2000000
 *
 * Prints records per second of wall time and of process CPU time (user + system, all
 * threads): on a shared, loaded machine the CPU figure is the steadier one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createKeyedStateBackend, type KeyedStateBackend } from '../../src/state/index.ts';
import { MemoryStorage } from '../../src/storage/memory-storage.ts';

const { values } = parseArgs({
  options: {
    keys: { type: 'string', default: '100000,1000000' },
    records: { type: 'string', default: '2000000' },
    backends: { type: 'string', default: 'plain,heap,lsm' },
  },
});

const keyOf = (i: number, keys: number): number => (Math.imul(i, 0x9e3779b1) >>> 0) % keys;

/** The same count in a plain Map<number, number>: what the state path adds to. */
function plain(keys: number, records: number): { wall: number; cpu: number } {
  const counts = new Map<number, number>();
  let sum = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (let i = 0; i < records; i++) {
    const k = keyOf(i, keys);
    const c = (counts.get(k) ?? 0) + 1;
    counts.set(k, c);
    sum += c & 1;
  }
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  if (sum < 0) console.log(sum);
  return { wall: records / seconds, cpu: records / ((c.user + c.system) / 1e6) };
}

async function run(kind: 'heap' | 'lsm', keys: number, records: number): Promise<{ wall: number; cpu: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'weir-state-path-'));
  let backend: KeyedStateBackend | undefined;
  try {
    backend = await createKeyedStateBackend(kind, {
      operatorId: 'bench', subtaskIndex: 0, maxParallelism: 128, keyGroupRange: { start: 0, end: 127 },
      storage: new MemoryStorage(), localDir: dir,
    });
    const count = backend.getValueState<number>('count');
    let sum = 0;
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < records; i++) {
      backend.setCurrentKey(keyOf(i, keys));
      const c = (count.value() ?? 0) + 1;
      count.update(c);
      sum += c & 1;
      if ((i & 1023) === 1023) await backend.writeBackpressure();
    }
    const seconds = (performance.now() - t0) / 1000;
    const c = process.cpuUsage(c0);
    if (sum < 0) console.log(sum);
    return { wall: records / seconds, cpu: records / ((c.user + c.system) / 1e6) };
  } finally {
    await backend?.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

const records = Number(values.records);
for (const keys of values.keys.split(',').map(Number)) {
  for (const b of values.backends.split(',') as ('plain' | 'heap' | 'lsm')[]) {
    const r = b === 'plain' ? plain(keys, records) : await run(b, keys, records);
    console.log(`${b}\t${keys}\t${Math.round(r.wall)} rec/s\t${Math.round(r.cpu)} rec/cpu-s`);
  }
}

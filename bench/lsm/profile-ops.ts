/**
 * Profiling helper: `node --cpu-prof --import tsx bench/lsm/profile-ops.ts [puts|gets|rmw] [n]`
 * runs one workload on weir alone (same data shapes as run.ts), for `--cpu-prof`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLsm } from '../../src/lsm/index.ts';

const mode = process.argv[2] ?? 'puts';
const n = Number(process.argv[3] ?? 500_000);
const root = mkdtempSync(join(tmpdir(), 'weir-prof-'));
const db = await openLsm({ dir: join(root, 'db'), blockCacheBytes: Number(process.env.WEIR_CACHE_MB ?? 64) * 2 ** 20, useWorker: process.env.WEIR_INLINE !== '1' });
const keys: Buffer[] = [];
for (let i = 0; i < n; i++) {
  const k = Buffer.allocUnsafe(16);
  k.writeUInt32BE((Math.random() * 2 ** 32) >>> 0, 0);
  k.writeUInt32BE((Math.random() * 2 ** 32) >>> 0, 4);
  k.writeUInt32BE((Math.random() * 2 ** 32) >>> 0, 8);
  k.writeUInt32BE(i, 12);
  keys.push(k);
}
const v = Buffer.alloc(100, 7);
let t0 = performance.now();
for (let i = 0; i < n; i++) {
  db.put(keys[i]!, v);
  if ((i & 1023) === 0 && db.writeStalled) await db.waitForWriteCapacity();
}
console.log('puts/s', Math.round(n / (performance.now() - t0) * 1000));
if (mode !== 'puts') {
  await db.flush();
  await db.waitForIdle();
  let f = 0;
  for (let pass = 0; pass < 2; pass++) {
    t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < n; i++) if (db.get(keys[(i * 7919) % n]!) !== undefined) f++;
    const cpu = process.cpuUsage(c0);
    console.log(pass === 0 ? 'gets/s (cold cache)' : 'gets/s (warm)', Math.round(n / (performance.now() - t0) * 1000), 'cpu µs/get', ((cpu.user + cpu.system) / n).toFixed(2), f);
  }
  if (mode === 'rmw') {
    t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const k = keys[(i * 7919) % n]!;
      db.get(k);
      db.put(k, v);
      if ((i & 1023) === 0 && db.writeStalled) await db.waitForWriteCapacity();
    }
    console.log('rmw/s', Math.round(n / (performance.now() - t0) * 1000));
  }
}
await db.close();
rmSync(root, { recursive: true, force: true });

/**
 * Measures the real memory of a memtable entry (`node --expose-gc --import tsx
 * bench/lsm/memtable-overhead.ts`), to calibrate ENTRY_OVERHEAD + KEY_OVERHEAD in memtable.ts
 * (every entry here is a distinct key, so both apply).
 */
import { Memtable, ENTRY_OVERHEAD, KEY_OVERHEAD } from '../../src/lsm/memtable/memtable.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');
const n = 500_000;
const keys: Buffer[] = [];
for (let i = 0; i < n; i++) {
  const k = Buffer.allocUnsafe(16);
  k.writeUInt32BE((Math.random() * 2 ** 32) >>> 0, 0);
  k.writeUInt32BE(i, 12);
  keys.push(k);
}
const v = Buffer.alloc(100, 1);
gc();
const before = process.memoryUsage();
const m = new Memtable(1);
for (let i = 0; i < n; i++) m.add(keys[i]!, i + 1, v);
gc();
const after = process.memoryUsage();
const used = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
// keys.length below keeps the keys alive across the measurement (they were collected
// before `after` once, which made the per-entry figure ~100 bytes too low).
console.log(JSON.stringify({ entries: keys.length, bytesPerEntry: Math.round(used / n), payloadPerEntry: 116, accountedPerEntry: 116 + ENTRY_OVERHEAD + KEY_OVERHEAD, accountedBytes: m.bytes }));

/**
 * LSM benchmark: weir's store vs classic-level (LevelDB), lmdb and @nxtedition/rocksdb,
 * side by side in one run, same keys and values.
 *
 *   npm run bench:lsm                       # human table, 1M keys
 *   npm run bench:lsm -- --json             # one JSON object
 *   npm run bench:lsm -- --n 200000         # size
 *   npm run bench:lsm -- --engines weir,classic-level
 *   npm run bench:lsm -- --keys 10000000 --memory   # weir only: peak RSS vs budgets
 *
 * Workloads (16-byte random keys, 100-byte values): random puts (weir: put() with
 * waitForWriteCapacity when stalled; classic-level/rocksdb: batches of 1000; lmdb:
 * synchronous transactions of 1000 putSync), random gets with a warm cache (sync gets:
 * weir get, classic-level getSync, lmdb get, rocksdb _getManySync), random gets after a
 * reopen (cold block cache), a full forward scan, and read-modify-write (get then put).
 */
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { openLsm } from '../../src/lsm/index.ts';
import type { LsmStore } from '../../src/lsm/index.ts';

const require = createRequire(import.meta.url);

/**
 * Every engine gets the same block cache (weir blockCacheBytes, LevelDB/RocksDB
 * cacheSize; lmdb reads through mmap and the page cache), large enough that the warm
 * pass measures cached reads. Memtable / write buffer: each engine's default
 * (weir 64 MiB, LevelDB 4 MiB, RocksDB 64 MiB).
 */
const CACHE_BYTES = 256 * 1024 * 1024;

interface Args { n: number; json: boolean; engines: string[]; memory: boolean; keys: number }

function parseArgs(argv: string[]): Args {
  const a: Args = { n: 1_000_000, json: false, engines: ['weir', 'classic-level', 'lmdb', 'rocksdb'], memory: false, keys: 10_000_000 };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--json') a.json = true;
    else if (x === '--memory') a.memory = true;
    else if (x === '--n') a.n = Number(argv[++i]);
    else if (x === '--keys') a.keys = Number(argv[++i]);
    else if (x === '--engines') a.engines = String(argv[++i]).split(',');
    else throw new Error(`unknown argument ${x}`);
  }
  if (!Number.isInteger(a.n) || a.n <= 0) throw new Error('--n must be a positive integer');
  return a;
}

/** Deterministic xorshift32 so every engine sees the same data. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function makeKeys(n: number, seed: number): Buffer[] {
  const r = rng(seed);
  const keys: Buffer[] = new Array<Buffer>(n);
  for (let i = 0; i < n; i++) {
    const k = Buffer.allocUnsafe(16);
    k.writeUInt32BE(r(), 0);
    k.writeUInt32BE(r(), 4);
    k.writeUInt32BE(r(), 8);
    k.writeUInt32BE(i, 12); // unique
    keys[i] = k;
  }
  return keys;
}

function makeValue(r: () => number): Buffer {
  const v = Buffer.allocUnsafe(100);
  for (let i = 0; i < 100; i += 4) v.writeUInt32LE(r(), i);
  return v;
}

interface Engine {
  readonly name: string;
  open(dir: string): Promise<void>;
  load(keys: Buffer[], values: Buffer[]): Promise<void>;
  get(key: Buffer): Uint8Array | undefined;
  put(key: Buffer, value: Buffer): void | Promise<void>;
  scan(): number;
  reopen(): Promise<void>;
  close(): Promise<void>;
}

class WeirEngine implements Engine {
  readonly name = 'weir';
  private db!: LsmStore;
  private dir = '';
  async open(dir: string): Promise<void> {
    this.dir = dir;
    this.db = await openLsm({ dir, blockCacheBytes: CACHE_BYTES });
  }
  async load(keys: Buffer[], values: Buffer[]): Promise<void> {
    const db = this.db;
    for (let i = 0; i < keys.length; i++) {
      db.put(keys[i]!, values[i]!);
      if ((i & 1023) === 0 && db.writeStalled) await db.waitForWriteCapacity();
    }
  }
  get(key: Buffer): Uint8Array | undefined {
    return this.db.get(key);
  }
  put(key: Buffer, value: Buffer): void | Promise<void> {
    this.db.put(key, value);
    if (this.db.writeStalled) return this.db.waitForWriteCapacity();
  }
  scan(): number {
    let n = 0;
    for (const _ of this.db.scan()) n++;
    return n;
  }
  async settle(): Promise<void> {
    await this.db.flush();
    await this.db.waitForIdle();
  }
  async reopen(): Promise<void> {
    await this.db.close();
    this.db = await openLsm({ dir: this.dir, blockCacheBytes: CACHE_BYTES });
  }
  async close(): Promise<void> {
    await this.db.close();
  }
  stats(): unknown {
    return this.db.stats();
  }
}

class ClassicLevelEngine implements Engine {
  readonly name = 'classic-level';
  private db: any;
  private dir = '';
  async open(dir: string): Promise<void> {
    this.dir = dir;
    const { ClassicLevel } = require('classic-level');
    this.db = new ClassicLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', cacheSize: CACHE_BYTES });
    await this.db.open();
  }
  async load(keys: Buffer[], values: Buffer[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const ops = [];
      for (let j = i; j < Math.min(keys.length, i + 1000); j++) ops.push({ type: 'put', key: keys[j], value: values[j] });
      await this.db.batch(ops);
    }
  }
  get(key: Buffer): Uint8Array | undefined {
    return this.db.getSync(key);
  }
  put(key: Buffer, value: Buffer): Promise<void> {
    return this.db.put(key, value);
  }
  scan(): number {
    // classic-level has no synchronous iterator; counted separately (async) by scanAsync.
    return -1;
  }
  async scanAsync(): Promise<number> {
    let n = 0;
    for await (const _ of this.db.iterator()) n++;
    return n;
  }
  async reopen(): Promise<void> {
    await this.db.close();
    await this.open(this.dir);
  }
  async close(): Promise<void> {
    await this.db.close();
  }
}

class LmdbEngine implements Engine {
  readonly name = 'lmdb';
  private db: any;
  private dir = '';
  async open(dir: string): Promise<void> {
    this.dir = dir;
    const { open } = require('lmdb');
    this.db = open({ path: dir, keyEncoding: 'binary', encoding: 'binary', compression: false, noSync: true });
  }
  async load(keys: Buffer[], values: Buffer[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      this.db.transactionSync(() => {
        for (let j = i; j < Math.min(keys.length, i + 1000); j++) this.db.putSync(keys[j], values[j]);
      });
    }
  }
  get(key: Buffer): Uint8Array | undefined {
    return this.db.getBinary(key);
  }
  put(key: Buffer, value: Buffer): void {
    this.db.putSync(key, value);
  }
  scan(): number {
    let n = 0;
    for (const _ of this.db.getRange({})) n++;
    return n;
  }
  async reopen(): Promise<void> {
    await this.db.close();
    await this.open(this.dir);
  }
  async close(): Promise<void> {
    await this.db.close();
  }
}

class RocksEngine implements Engine {
  readonly name = 'rocksdb';
  private db: any;
  private dir = '';
  async open(dir: string): Promise<void> {
    this.dir = dir;
    const { RocksLevel } = require('@nxtedition/rocksdb');
    this.db = new RocksLevel(dir, { keyEncoding: 'buffer', valueEncoding: 'buffer', cacheSize: CACHE_BYTES });
    await this.db.open();
  }
  async load(keys: Buffer[], values: Buffer[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const ops = [];
      for (let j = i; j < Math.min(keys.length, i + 1000); j++) ops.push({ type: 'put', key: keys[j], value: values[j] });
      await this.db.batch(ops);
    }
  }
  get(key: Buffer): Uint8Array | undefined {
    return this.db._getManySync([key], {})[0] ?? undefined;
  }
  put(key: Buffer, value: Buffer): Promise<void> {
    return this.db.put(key, value);
  }
  scan(): number {
    return -1;
  }
  async scanAsync(): Promise<number> {
    let n = 0;
    for await (const _ of this.db.iterator()) n++;
    return n;
  }
  async reopen(): Promise<void> {
    await this.db.close();
    await this.open(this.dir);
  }
  async close(): Promise<void> {
    await this.db.close();
  }
}

function makeEngine(name: string): Engine {
  switch (name) {
    case 'weir': return new WeirEngine();
    case 'classic-level': return new ClassicLevelEngine();
    case 'lmdb': return new LmdbEngine();
    case 'rocksdb': return new RocksEngine();
    default: throw new Error(`unknown engine ${name}`);
  }
}

type Row = Record<string, number>;

async function timeOps(n: number, fn: () => void | Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  const ms = performance.now() - t0;
  return Math.round((n / ms) * 1000);
}

async function benchEngine(name: string, keys: Buffer[], values: Buffer[], order: Int32Array, rmwValues: Buffer[]): Promise<Row> {
  const root = mkdtempSync(join(tmpdir(), `weir-bench-${name}-`));
  const e = makeEngine(name);
  const row: Row = {};
  try {
    await e.open(join(root, 'db'));
    const n = keys.length;
    row.puts = await timeOps(n, () => e.load(keys, values));
    if (e instanceof WeirEngine) {
      const t0 = performance.now();
      await e.settle();
      row.settleMs = Math.round(performance.now() - t0);
    }
    // Warm: one pass to fill caches, then the measured pass.
    let found = 0;
    for (let i = 0; i < Math.min(n, 200_000); i++) if (e.get(keys[order[i]!]!) !== undefined) found++;
    row.getsWarm = await timeOps(n, () => {
      for (let i = 0; i < n; i++) if (e.get(keys[order[i]!]!) !== undefined) found++;
    });
    row.scan = await timeOps(n, async () => {
      const c = e.scan();
      const count = c >= 0 ? c : await (e as unknown as { scanAsync(): Promise<number> }).scanAsync();
      if (count !== n) throw new Error(`${name}: scan saw ${count} keys, expected ${n}`);
    });
    const rmwN = n;
    row.readModifyWrite = await timeOps(rmwN, async () => {
      for (let i = 0; i < rmwN; i++) {
        const k = keys[order[(i * 7919) % n]!]!;
        if (e.get(k) === undefined) throw new Error(`${name}: rmw key missing`);
        const p = e.put(k, rmwValues[i & 1023]!);
        if (p !== undefined) await p;
      }
    });
    if (e instanceof WeirEngine) {
      await e.settle();
      const st = e.stats() as { writeAmplification: number; stallMillis: number };
      row.writeAmplification = Number(st.writeAmplification.toFixed(2));
      row.stallMs = Math.round(st.stallMillis);
    }
    await e.reopen();
    row.getsCold = await timeOps(n, () => {
      for (let i = 0; i < n; i++) if (e.get(keys[order[i]!]!) !== undefined) found++;
    });
    if (found !== 2 * n + Math.min(n, 200_000)) throw new Error(`${name}: gets found ${found} keys`);
    await e.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return row;
}

async function memoryMode(a: Args): Promise<void> {
  const root = mkdtempSync(join(existsSync('/var/tmp') ? '/var/tmp' : tmpdir(), 'weir-bench-mem-'));
  const memtableBytes = 64 * 1024 * 1024;
  const blockCacheBytes = 64 * 1024 * 1024;
  const maxSealed = 2;
  let peak = 0;
  try {
    const db = await openLsm({ dir: join(root, 'db'), memtableBytes, blockCacheBytes, maxSealedMemtables: maxSealed });
    const r = rng(7);
    const k = Buffer.allocUnsafe(16);
    const probes: Buffer[] = [];
    let peakHeap = 0;
    let peakExternal = 0;
    const base = process.memoryUsage().rss;
    const t0 = performance.now();
    for (let i = 0; i < a.keys; i++) {
      k.writeUInt32BE(r(), 0);
      k.writeUInt32BE(r(), 4);
      k.writeUInt32BE(r(), 8);
      k.writeUInt32BE(i, 12);
      db.put(k, makeValue(r));
      if (i % 100_000 === 0) probes.push(Buffer.from(k));
      if ((i & 4095) === 0) {
        if (db.writeStalled) await db.waitForWriteCapacity();
        const mu = process.memoryUsage();
        if (mu.rss > peak) peak = mu.rss;
        if (mu.heapUsed > peakHeap) peakHeap = mu.heapUsed;
        if (mu.external > peakExternal) peakExternal = mu.external;
      }
    }
    await db.flush();
    await db.waitForIdle();
    const ms = performance.now() - t0;
    let found = 0;
    for (const p of probes) if (db.get(p) !== undefined) found++;
    if (found !== probes.length) throw new Error(`memory mode: ${probes.length - found} probe keys missing`);
    peak = Math.max(peak, process.memoryUsage().rss);
    const budget = memtableBytes * (1 + maxSealed) + blockCacheBytes + 300 * 1024 * 1024;
    const out = { keys: a.keys, putsPerSec: Math.round((a.keys / ms) * 1000), baseRssMB: Math.round(base / 2 ** 20), peakRssMB: Math.round(peak / 2 ** 20), budgetMB: Math.round(budget / 2 ** 20), withinBudget: peak <= budget, peakHeapUsedMB: Math.round(peakHeap / 2 ** 20), peakExternalMB: Math.round(peakExternal / 2 ** 20), stats: db.stats(), probesFound: found };
    await db.close();
    if (a.json) console.log(JSON.stringify(out));
    else console.log(out);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  if (a.memory) return memoryMode(a);
  const keys = makeKeys(a.n, 12345);
  const r = rng(999);
  const values = keys.map(() => makeValue(r));
  const rmwValues = Array.from({ length: 1024 }, () => makeValue(r));
  const order = new Int32Array(a.n);
  for (let i = 0; i < a.n; i++) order[i] = i;
  for (let i = a.n - 1; i > 0; i--) {
    const j = r() % (i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  const results: Record<string, Row> = {};
  for (const name of a.engines) {
    if (!a.json) process.stderr.write(`running ${name}…\n`);
    results[name] = await benchEngine(name, keys, values, order, rmwValues);
  }
  const base = results['classic-level'];
  const metrics = ['puts', 'getsWarm', 'getsCold', 'scan', 'readModifyWrite'];
  const ratios: Record<string, Row> = {};
  if (base !== undefined) {
    for (const [name, row] of Object.entries(results)) {
      ratios[name] = {};
      for (const m of metrics) if (row[m] !== undefined && base[m]) ratios[name][m] = Number((row[m] / base[m]).toFixed(2));
    }
  }
  const out = { n: a.n, keyBytes: 16, valueBytes: 100, unit: 'ops/s', node: process.version, results, ratioToClassicLevel: ratios };
  if (a.json) {
    console.log(JSON.stringify(out));
    return;
  }
  console.log(`LSM benchmark: ${a.n} keys, 16-byte keys, 100-byte values (ops/s; × = ratio to classic-level)`);
  const header = ['engine', ...metrics];
  const lines = [header];
  for (const [name, row] of Object.entries(results)) {
    lines.push([name, ...metrics.map((m) => `${row[m]?.toLocaleString('en-US') ?? '-'}${ratios[name]?.[m] !== undefined ? ` (${ratios[name][m]}×)` : ''}`)]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  for (const l of lines) console.log(l.map((c, i) => c.padEnd(widths[i]!)).join('  '));
  const w = results.weir;
  if (w !== undefined) console.log(`weir: flush+compaction settle after load ${w.settleMs} ms, writers stalled ${w.stallMs} ms in total, write amplification ${w.writeAmplification}`);
}

await main();

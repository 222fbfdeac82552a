/**
 * ListState appends on the lsm backend, before vs after merge operands (issue 11):
 *
 *   node --import tsx bench/lsm/list-append.ts --before <commit> [--after <dir>] [--keys 100]
 *        [--appends 1000,4000] [--rounds 3] [--json]
 *
 * Each measurement is one child process (so its peak RSS is its own): it opens an lsm
 * backend (default engine options, worker-thread flushes), appends `appends` elements to
 * each of `keys` lists round robin (element = a 12-character string), flushes, reads
 * every list back (checked: right length, right last element) and reports appends/s,
 * the read time, ingested and flushed bytes and its peak RSS. `--before <commit>`
 * extracts that commit of this repository into a temp dir (git archive, node_modules
 * linked), `--after` is this checkout by default. The two run alternately, before then
 * after, after then before, …, `--rounds` times per size; medians and after/before ratios
 * are printed as a table, and as JSON with --json.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import type * as LsmBackendModule from '../../src/state/lsm-backend.ts';
import type * as MemoryStorageModule from '../../src/storage/memory-storage.ts';

interface Sample {
  appendsPerSec: number;
  readMillis: number;
  ingestedBytes: number;
  flushedBytes: number;
  peakRssMiB: number;
}

const here = resolve(import.meta.dirname, '..', '..');

async function child(root: string, keys: number, appends: number): Promise<void> {
  const { createLsmBackend } = await import(pathToFileURL(join(root, 'src/state/lsm-backend.ts')).href) as typeof LsmBackendModule;
  const { MemoryStorage } = await import(pathToFileURL(join(root, 'src/storage/memory-storage.ts')).href) as typeof MemoryStorageModule;
  const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'weir-list-append-'));
  try {
    const b = await createLsmBackend({
      operatorId: 'op', subtaskIndex: 0, maxParallelism: 128, keyGroupRange: { start: 0, end: 127 }, localDir: dir, storage: new MemoryStorage(),
    });
    const list = b.getListState<string>('l');
    const t0 = performance.now();
    for (let i = 0; i < appends; i++) {
      for (let k = 0; k < keys; k++) {
        b.setCurrentKey(k);
        list.add(`e${String(i).padStart(6, '0')}-${String(k).padStart(4, '0')}`);
      }
      // A job's operator yields to the event loop between records; let flushes complete here too.
      if (i % 50 === 49) await b.writeBackpressure?.();
    }
    const t1 = performance.now();
    const store = b.lsmStore();
    await store.flush();
    const t2 = performance.now();
    for (let k = 0; k < keys; k++) {
      b.setCurrentKey(k);
      const got = list.get();
      const last = `e${String(appends - 1).padStart(6, '0')}-${String(k).padStart(4, '0')}`;
      if (got.length !== appends || got[appends - 1] !== last) throw new Error(`key ${k}: ${got.length} elements, last ${got[got.length - 1]}`);
    }
    const t3 = performance.now();
    const st = store.stats();
    await b.dispose();
    const s: Sample = {
      appendsPerSec: (keys * appends) / ((t1 - t0) / 1000),
      readMillis: t3 - t2,
      ingestedBytes: st.bytesIngested,
      flushedBytes: st.bytesWrittenByFlush,
      peakRssMiB: process.resourceUsage().maxRSS / 1024,
    };
    process.stdout.write(`${JSON.stringify(s)}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runChild(root: string, keys: number, appends: number): Promise<Sample> {
  return new Promise((res, rej) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(here, 'bench/lsm/list-append.ts'), '--child', root, '--keys', String(keys), '--appends', String(appends)], {
      cwd: root, stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', rej);
    p.on('exit', (code) => {
      if (code !== 0) rej(new Error(`child (${root}, ${appends} appends) exited ${code}`));
      else res(JSON.parse(out.trim().split('\n').pop()!) as Sample);
    });
  });
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const { values } = parseArgs({
  options: {
    child: { type: 'string' },
    before: { type: 'string' },
    after: { type: 'string', default: here },
    keys: { type: 'string', default: '100' },
    appends: { type: 'string', default: '1000,4000' },
    rounds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const keys = Number(values.keys);
if (values.child !== undefined) {
  await child(values.child, keys, Number(values.appends));
} else {
  if (values.before === undefined) throw new Error('--before <commit> is required (the commit to compare against)');
  const beforeDir = mkdtempSync(join(tmpdir(), 'weir-before-'));
  try {
    execFileSync('sh', ['-c', `git -C ${JSON.stringify(here)} archive ${values.before} | tar -x -C ${JSON.stringify(beforeDir)}`]);
    symlinkSync(join(here, 'node_modules'), join(beforeDir, 'node_modules'));
    const sides = { before: beforeDir, after: resolve(values.after) } as const;
    const rows: Record<string, unknown>[] = [];
    for (const appends of values.appends.split(',').map(Number)) {
      const samples: Record<'before' | 'after', Sample[]> = { before: [], after: [] };
      for (let r = 0; r < Number(values.rounds); r++) {
        const order = r % 2 === 0 ? (['before', 'after'] as const) : (['after', 'before'] as const);
        for (const side of order) samples[side].push(await runChild(sides[side], keys, appends));
      }
      const med = (side: 'before' | 'after', f: keyof Sample): number => median(samples[side].map((s) => s[f]));
      const row = {
        keys, appendsPerKey: appends,
        before: { appendsPerSec: med('before', 'appendsPerSec'), readMillis: med('before', 'readMillis'), peakRssMiB: med('before', 'peakRssMiB'), ingestedMiB: med('before', 'ingestedBytes') / 2 ** 20, flushedMiB: med('before', 'flushedBytes') / 2 ** 20 },
        after: { appendsPerSec: med('after', 'appendsPerSec'), readMillis: med('after', 'readMillis'), peakRssMiB: med('after', 'peakRssMiB'), ingestedMiB: med('after', 'ingestedBytes') / 2 ** 20, flushedMiB: med('after', 'flushedBytes') / 2 ** 20 },
        throughputRatio: median(samples.after.map((s, i) => s.appendsPerSec / samples.before[i]!.appendsPerSec)),
        rssRatio: median(samples.after.map((s, i) => s.peakRssMiB / samples.before[i]!.peakRssMiB)),
        samples,
      };
      rows.push(row);
      console.log(`${keys} keys × ${appends} appends: before ${row.before.appendsPerSec.toFixed(0)}/s, RSS ${row.before.peakRssMiB.toFixed(0)} MiB, ingested ${row.before.ingestedMiB.toFixed(1)} MiB, read ${row.before.readMillis.toFixed(0)} ms | after ${row.after.appendsPerSec.toFixed(0)}/s, RSS ${row.after.peakRssMiB.toFixed(0)} MiB, ingested ${row.after.ingestedMiB.toFixed(1)} MiB, read ${row.after.readMillis.toFixed(0)} ms | after/before: throughput ×${row.throughputRatio.toFixed(2)}, RSS ×${row.rssRatio.toFixed(2)}`);
    }
    if (values.json) console.log(JSON.stringify({ bench: 'lsm-list-append', before: values.before, rounds: Number(values.rounds), rows }, null, 1));
  } finally {
    rmSync(beforeDir, { recursive: true, force: true });
  }
}

/**
 * How long a job takes to start on worker threads: from spawning `weir run` to the first
 * record reaching the sink of each worker, with 0 (main thread), 1 and 2 workers, weir run
 * from its TypeScript sources (bin/weir.js) and from the built package (dist/cli/bin.js;
 * run `npm run build` first). The configurations alternate for --rounds rounds; the
 * table shows medians and the ratio of each to the same mode's 1-worker figure.
 *
 *   node --import tsx bench/throughput/worker-start.ts [--rounds 3] [--workers 0,1,2] [--modes src,dist] [--json]
 *   … --roots /path/to/old-checkout,.      # two checkouts (each built), side by side
 *
 * The job (written to a temporary project) is a keyed count at parallelism = workers
 * whose sink prints `WEIR_FIRST <threadId> <epoch ms>` at its first record and whose
 * module prints `WEIR_LOADED <threadId> <epoch ms>` when it is imported, so the table also
 * shows when the last worker had loaded the job module. In dist mode the job imports
 * 'weir' from the project's node_modules (a link to this checkout, as an installed
 * package resolves: package.json "exports" → dist/); in src mode it imports src/index.ts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: '0,1,2' },
    modes: { type: 'string', default: 'src,dist' },
    records: { type: 'string', default: '20000' },
    json: { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    roots: { type: 'string', default: '.' },
  },
});

const here = fileURLToPath(new URL('../../', import.meta.url));
type Mode = 'src' | 'dist';

function jobSource(root: string, mode: Mode): string {
  const from = mode === 'dist' ? 'weir' : JSON.stringify(join(root, 'src/index.ts')).slice(1, -1);
  return `import { threadId } from 'node:worker_threads';
import { GeneratorSource, type StreamEnvironment, type Sink } from '${from}';

process.stderr.write(\`WEIR_LOADED \${threadId} \${Date.now()}\\n\`);

class FirstSink implements Sink<number> {
  readonly name = 'first';
  createWriter() {
    let first = true;
    return {
      write: () => {
        if (first) {
          first = false;
          process.stderr.write(\`WEIR_FIRST \${threadId} \${Date.now()}\\n\`);
        }
      },
    };
  }
}

export default function job(env: StreamEnvironment, args: string[]): void {
  const records = Number(args[0] ?? '20000');
  env
    .fromSource(new GeneratorSource({ generate: (i) => i % 1000, count: records, splits: 4 }))
    .keyBy((k) => k)
    .process<number>({
      processElement(k, ctx, out) {
        const s = ctx.getValueState<number>('n');
        const n = (s.value() ?? 0) + 1;
        s.update(n);
        out.collect(n);
      },
    })
    .sinkTo(new FirstSink());
}
`;
}

interface Run {
  root: string;
  mode: Mode;
  workers: number;
  /** Seconds from spawn to the last worker's first record (0 workers: the first record). */
  firstRecord: number;
  /** Seconds from spawn to the job module loaded in the last thread that loads it. */
  lastLoaded: number;
  /** Seconds from spawn to the process's exit. */
  exit: number;
}

function runOnce(root: string, dir: string, mode: Mode, workers: number, records: number, profDir: string | undefined): Promise<Run> {
  const bin = mode === 'dist' ? join(root, 'dist/cli/bin.js') : join(root, 'bin/weir.js');
  const ckpt = mkdtempSync(join(tmpdir(), 'weir-start-ckpt-'));
  const p = Math.max(1, workers);
  const args = [
    ...(profDir !== undefined ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, `${mode}-w${workers}-${Date.now()}`)] : []),
    bin, 'run', join(dir, `job-${mode}.ts`), '--workers', String(workers), '--parallelism', String(p),
    '--checkpoints', ckpt, '--state-dir', join(ckpt, 'state'), '--state-backend', 'heap', '--ui-port', '0', '--no-progress', '--', String(records),
  ];
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), 300_000);
    child.once('exit', (code) => {
      clearTimeout(guard);
      const exit = (Date.now() - t0) / 1000;
      rmSync(ckpt, { recursive: true, force: true });
      const firsts = [...err.matchAll(/WEIR_FIRST (\d+) (\d+)/g)].map((m) => Number(m[2]));
      const loaded = [...err.matchAll(/WEIR_LOADED (\d+) (\d+)/g)].map((m) => Number(m[2]));
      if (code !== 0 || firsts.length < p) {
        reject(new Error(`${mode} workers=${workers}: exit ${code}, ${firsts.length} first records of ${p}:\n${err.slice(-3000)}`));
        return;
      }
      resolve({ root, mode, workers, firstRecord: (Math.max(...firsts) - t0) / 1000, lastLoaded: (Math.max(...loaded) - t0) / 1000, exit });
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const modes = values.modes.split(',') as Mode[];
const workerCounts = values.workers.split(',').map(Number);
const rounds = Number(values.rounds);
const roots = values.roots.split(',').map((r) => resolve(here, r));
for (const root of roots) {
  if (modes.includes('dist') && !existsSync(join(root, 'dist/cli/bin.js'))) throw new Error(`${root}/dist/cli/bin.js is missing: run \`npm run build\` there first`);
}

const dirs = roots.map(() => mkdtempSync(join(tmpdir(), 'weir-start-')));
try {
  roots.forEach((root, i) => {
    const dir = dirs[i]!;
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'start-bench', private: true, type: 'module' }));
    mkdirSync(join(dir, 'node_modules'));
    symlinkSync(root, join(dir, 'node_modules', 'weir'), 'dir');
    for (const m of modes) writeFileSync(join(dir, `job-${m}.ts`), jobSource(root, m));
  });
  const load0 = loadavg()[0]!;
  const runs: Run[] = [];
  for (let r = 0; r < rounds; r++) {
    for (const m of modes) {
      for (const w of workerCounts) {
        for (let i = 0; i < roots.length; i++) {
          const run = await runOnce(roots[i]!, dirs[i]!, m, w, Number(values.records), values['cpu-prof']);
          runs.push(run);
          if (!values.json) console.error(`round ${r + 1} ${roots[i]} ${m} workers=${w}: first record of every worker ${run.firstRecord.toFixed(2)} s, job module loaded ${run.lastLoaded.toFixed(2)} s, exit ${run.exit.toFixed(2)} s`);
        }
      }
    }
  }
  const rows = roots.flatMap((root) =>
    modes.flatMap((m) =>
      workerCounts.map((w) => {
        const rs = runs.filter((x) => x.root === root && x.mode === m && x.workers === w);
        return { root, mode: m, workers: w, firstRecord: median(rs.map((x) => x.firstRecord)), lastLoaded: median(rs.map((x) => x.lastLoaded)), exit: median(rs.map((x) => x.exit)), runs: rs.map((x) => x.firstRecord) };
      }),
    ),
  );
  const loadAverage = [load0, loadavg()[0]!];
  if (values.json) console.log(JSON.stringify({ benchmark: 'worker-start', rounds, loadAverage, rows }));
  else {
    console.log(`load average ${loadAverage.map((x) => x.toFixed(1)).join(' → ')}`);
    console.log(['checkout', 'mode', 'workers', 'first record s (median)', 'vs 1 worker', `vs ${roots[0]}`, 'job module loaded s', 'exit s', 'runs'].join('\t'));
    for (const r of rows) {
      const one = rows.find((x) => x.root === r.root && x.mode === r.mode && x.workers === 1);
      const first = rows.find((x) => x.root === roots[0] && x.mode === r.mode && x.workers === r.workers)!;
      console.log([r.root, r.mode, r.workers, r.firstRecord.toFixed(2), one ? `${(r.firstRecord / one.firstRecord).toFixed(2)}x` : '', `${(r.firstRecord / first.firstRecord).toFixed(2)}x`,
        r.lastLoaded.toFixed(2), r.exit.toFixed(2), r.runs.map((x) => x.toFixed(2)).join(' ')].join('\t'));
    }
  }
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

/**
 * Worker threads of the built package (dist/, as a user installs weir): weir's own
 * modules load without tsx's hooks, only the job's TypeScript files go through tsx.
 *
 * With hooks registered in a thread, Node sends every module it imports to the hooks
 * thread, one round trip each; a worker that registered tsx before the job's
 * `import … from 'weir'` loaded weir's ~200 modules and their dependencies' hundreds that
 * way, which doubled its start (docs/runtime.md, "Starting workers"). The worker reports
 * how many modules went through tsx; `weir run` logs it per worker.
 *
 * The test compiles src/ into a temporary package (tsc, as `npm run build` does), links it
 * as `weir` into a temporary project and runs that package's own bin on a `.ts` job at
 * parallelism 2 on 2 workers: each worker loaded the job (and its one local import)
 * through tsx and nothing else; the output is exact; a failing record's location names
 * the user's `.ts` file and line from a worker.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkExactCounts, committedLines, tempDir } from './helpers.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { dir: work, cleanup } = tempDir('weir-worker-start-');
const pkg = join(work, 'pkg');
const proj = join(work, 'proj');

function run(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr });
    });
  });
}

const HELPER = `export const keyOf = (i: number): number => (i * 7919) % 50;\n`;

const JOB = `import { GeneratorSource, FileSink, type StreamEnvironment } from 'weir';
import { keyOf } from './helper.ts';

interface KeyCount { key: number; count: number }

export default function job(env: StreamEnvironment, args: string[]): void {
  const [output, failAt] = args;
  env
    .fromSource(new GeneratorSource({ generate: (i: number) => i, count: 4000, splits: 4 }))
    .map((i: number): number => {
      if (i === Number(failAt ?? -1)) throw new Error('bad record ' + i); // THROWS
      return keyOf(i);
    })
    .keyBy((k: number) => k)
    .process<KeyCount>({
      processElement(key, ctx, out) {
        const s = ctx.getValueState<number>('n');
        const n = (s.value() ?? 0) + 1;
        s.update(n);
        out.collect({ key, count: n });
      },
    })
    .sinkTo(new FileSink<KeyCount>({ directory: output!, format: (r) => JSON.stringify(r) }));
}
`;

before(async () => {
  // The package as `npm run build` makes it, in a temporary directory: dist/ beside a copy
  // of package.json (its "exports" and "bin"), the checkout's node_modules for its dependencies.
  mkdirSync(pkg);
  const tsc = await run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json'), '--outDir', join(pkg, 'dist')], root, 600_000);
  assert.equal(tsc.code, 0, `tsc failed:\n${tsc.stdout}\n${tsc.stderr}`);
  cpSync(join(root, 'src/web/static'), join(pkg, 'dist/web/static'), { recursive: true });
  cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
  symlinkSync(join(root, 'node_modules'), join(pkg, 'node_modules'), 'dir');
  mkdirSync(join(proj, 'node_modules'), { recursive: true });
  symlinkSync(pkg, join(proj, 'node_modules', 'weir'), 'dir');
  writeFileSync(join(proj, 'package.json'), '{ "type": "module" }\n');
  writeFileSync(join(proj, 'helper.ts'), HELPER);
  writeFileSync(join(proj, 'job.ts'), JOB);
});

after(cleanup);

function weirRun(name: string, jobArgs: string[], extra: string[] = []): Promise<{ code: number; stderr: string }> {
  return run(process.execPath, [
    join(pkg, 'dist/cli/bin.js'), 'run', 'job.ts', '--workers', '2', '--parallelism', '2', '--state-backend', 'heap',
    '--checkpoints', join(work, `${name}-cp`), '--state-dir', join(work, `${name}-state`), '--checkpoint-interval', '0',
    '--ui-port', '0', '--no-progress', ...extra, '--', ...jobArgs,
  ], proj, 240_000);
}

interface StartLine {
  msg: string;
  worker: number;
  loaderModules?: number;
  startMillis: number;
}

test('built package, 2 workers: only the job and its local import load through tsx in each worker; output exact', async () => {
  const out = join(work, 'out');
  const r = await weirRun('ok', [out]);
  assert.equal(r.code, 0, r.stderr);
  const starts = r.stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as StartLine)
    .filter((l) => typeof l.msg === 'string' && / started in /.test(l.msg));
  assert.deepEqual(starts.map((s) => s.worker).sort(), [0, 1], `a start line per worker in:\n${r.stderr}`);
  for (const s of starts) {
    // job.ts and helper.ts: not 0 (the job went through tsx), not weir's modules.
    assert.equal(s.loaderModules, 2, `worker ${s.worker}: ${s.msg}`);
  }
  const expected = new Map<number, number>();
  for (let i = 0; i < 4000; i++) expected.set((i * 7919) % 50, (expected.get((i * 7919) % 50) ?? 0) + 1);
  const lines = committedLines<{ key: number; count: number }>(out);
  assert.equal(lines.length, 4000);
  assert.equal(checkExactCounts(lines, expected), undefined);
});

test('built package, 2 workers: a failing record names the user\'s .ts file and line', async () => {
  const job = readFileSync(join(proj, 'job.ts'), 'utf8').split('\n');
  const line = job.findIndex((l) => l.includes('// THROWS')) + 1;
  const col = job[line - 1]!.indexOf('throw') + 1;
  const r = await weirRun('fail', [join(work, 'out-fail'), '1234'], ['--restart-attempts', '0']);
  assert.equal(r.code, 1, r.stderr);
  const final = r.stderr.slice(r.stderr.indexOf('weir: job'));
  assert.ok(final.includes('Error: bad record 1234'), final);
  assert.ok(final.includes(`${join(proj, 'job.ts')}:${line}:`), `location ${join(proj, 'job.ts')}:${line}:${col} in:\n${final}`);
});

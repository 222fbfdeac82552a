/**
 * weir as a user gets it: `npm pack` (which builds dist/), the tarball checked by publint
 * and are-the-types-wrong, then installed with production dependencies only into fresh
 * projects outside the repository — an ESM package, a CommonJS package (`npm init -y`)
 * and a directory with no package.json — where `npx weir` runs a `.ts` and a `.js` job
 * with lsm state and a checkpoint, then `--resume latest` continues the state; a plain
 * tsconfig typechecks a user job against the published types; `npx weir init` writes a
 * project whose own `npm test` and typecheck pass.
 *
 * Uses the npm registry (the npm cache makes it fast and offline-tolerant: --prefer-offline).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;
const tsc = join(root, 'node_modules/typescript/bin/tsc');
const work = mkdtempSync(join(tmpdir(), 'weir-pack-'));
let tarball = '';

/**
 * The child's environment as a user's shell has it: none of the npm_* variables of the
 * `npm test` that runs us (they would steer the inner npm), and no NODE_TEST_CONTEXT
 * (with it, the new project's `node --test` thinks it is nested and runs no file).
 */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD' && k !== 'NODE_TEST_CONTEXT'));
}

interface Result {
  code: number | null;
  out: string;
}

/** Runs a command to its end (bounded); fails the test with its output when it exits non-zero. */
function sh(cmd: string, args: string[], cwd: string, opts: { timeoutMs?: number; allowFail?: boolean } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timeoutMs = opts.timeoutMs ?? 240_000;
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      clearTimeout(guard);
      const r = { code, out };
      if (code !== 0 && !opts.allowFail) {
        reject(new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${code ?? signal}${signal === 'SIGKILL' ? ` (killed after ${timeoutMs} ms)` : ''}:\n${out.slice(-6000)}`));
      } else resolve(r);
    });
  });
}

const npm = (args: string[], cwd: string, timeoutMs?: number): Promise<Result> =>
  sh('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], cwd, { ...(timeoutMs ? { timeoutMs } : {}) });

/** `npx weir …` in a project: the installed package's own bin. */
const weir = (args: string[], cwd: string, opts: { allowFail?: boolean } = {}): Promise<Result> => sh('npx', ['--no-install', 'weir', ...args], cwd, opts);

before(async () => {
  const packed = await npm(['pack', '--pack-destination', work], root, 600_000);
  const name = readdirSync(work).find((f) => f.endsWith('.tgz'));
  assert.ok(name, `npm pack made no tarball:\n${packed.out}`);
  tarball = join(work, name);
});

after(() => rmSync(work, { recursive: true, force: true }));

test('the tarball: dist with .d.ts and declaration maps, no tests; publint and are-the-types-wrong pass', async () => {
  const list = (await sh('tar', ['-tzf', tarball], work)).out.split('\n');
  for (const f of ['package/dist/index.js', 'package/dist/index.d.ts', 'package/dist/index.d.ts.map', 'package/dist/cli/bin.js',
    'package/dist/testing/index.d.ts', 'package/dist/lsm/compaction/compaction-worker.js', 'package/dist/web/static/index.html', 'package/templates/init/src/job.ts']) {
    assert.ok(list.includes(f), `${f} is not in the tarball`);
  }
  assert.ok(!list.some((f) => f.startsWith('package/test/') || (f.endsWith('.test.ts') && !f.startsWith('package/templates/'))), 'tests were packed');
  // The bin as built must be executable: `npx weir` in this checkout reuses npx's cached
  // link to it and does not chmod a rebuilt file ("sh: 1: weir: Permission denied").
  assert.ok((statSync(join(root, 'dist/cli/bin.js')).mode & 0o111) !== 0, 'dist/cli/bin.js is not executable after npm run build');
  await sh(process.execPath, [join(root, 'node_modules/publint/src/cli.js'), '--strict', root], root);
  await sh(process.execPath, [join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'), tarball, '--profile', 'esm-only'], root);
});

const TS_JOB = `import { GeneratorSource, PrintSink, type StreamEnvironment } from 'weir';

/** Counts records per key (n % 10) in lsm ValueState; prints each key's count at its last record. */
export default function job(env: StreamEnvironment, args: string[]): void {
  const total = Number(args[0]);
  env.fromSource(new GeneratorSource<number>({ count: total, generate: (i) => i, splits: 1 })).uid('numbers')
    .keyBy((n) => n % 10)
    .process<string>({
      processElement(n, ctx, out) {
        const count = ctx.getValueState<number>('count');
        const c = (count.value() ?? 0) + 1;
        count.update(c);
        if (n >= total - 10) out.collect(\`key \${n % 10}: \${c}\`);
      },
    }).uid('count')
    .sinkTo(new PrintSink());
}
`;
/** The same job in JavaScript (ESM syntax; in a CommonJS package too: the loader handles it). */
const JS_JOB = TS_JOB.replace(', type StreamEnvironment', '').replace('(env: StreamEnvironment, args: string[]): void', '(env, args)')
  .replace('<number>', '').replace('<number>', '').replace('<string>', '');
/** A CommonJS job: require('weir') (weir is ESM without top-level await). */
const CJS_JOB = `const { GeneratorSource, PrintSink } = require('weir');
module.exports = ${JS_JOB.slice(JS_JOB.indexOf('function job')).replace(/^\/\*\*.*$/m, '')}`;

/** A job whose map throws on record 7 (line 6 of the file). */
const FAILING_JOB = `import { GeneratorSource, PrintSink, type StreamEnvironment } from 'weir';

export default function job(env: StreamEnvironment): void {
  env.fromSource(new GeneratorSource<number>({ count: 20, generate: (i) => i, splits: 1 }))
    .map((n) => {
      if (n === 7) throw new Error('seven'); // line 6
      return n;
    }).name('checker')
    .sinkTo(new PrintSink());
}
`;

/**
 * A user function that throws, through the built package: the report names the operator,
 * subtask and record, and its stack starts at the user's .ts file and line (tsx's source
 * map), not in weir's dist/.
 */
async function failingJob(dir: string): Promise<void> {
  writeFileSync(join(dir, 'failing.ts'), FAILING_JOB);
  const r = await weir(['run', 'failing.ts', '--checkpoints', join(dir, 'cp-failing'), '--checkpoint-interval', '0', '--ui-port', '0', '--no-progress', '--restart-attempts', '1'], dir, { allowFail: true });
  assert.equal(r.code, 1, r.out);
  const where = `${join(dir, 'failing.ts')}:6:`;
  const final = r.out.slice(r.out.indexOf('weir: job failing failed'));
  for (const part of ['Error: seven', 'map function of operator "checker", subtask 0', `at ${where}`, 'record: 7']) assert.ok(final.includes(part), `final message has ${part}:\n${r.out}`);
  const report = r.out.split('\n').find((l) => l.includes('attempt 0 failed')) ?? '';
  const frames = [...report.matchAll(/\\n {4}at (.*?)(?=\\n|")/g)].map((m) => m[1]!);
  assert.ok(frames.length > 0 && frames[0]!.includes(where), `the first frame shown is the user's: ${report}`);
  assert.ok(!frames.some((f) => f.includes('/node_modules/weir/')), `no weir frames in the report: ${report}`);
}

/** A plain tsconfig (what `tsc --init` writes, for Node): the user's code is checked strictly against weir's .d.ts. */
const TSCONFIG = JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, noEmit: true, types: [] }, include: ['*.ts'] });

/** Runs `file` with lsm state and a checkpoint, then resumes it with more input: the counts go on from the checkpoint. */
async function runAndResume(dir: string, file: string): Promise<void> {
  const cp = join(dir, `cp-${file.replace('.', '-')}`);
  const common = ['run', file, '--state-backend', 'lsm', '--checkpoints', cp, '--checkpoint-interval', '0', '--ui-port', '0', '--no-progress'];
  const first = await weir([...common, '--', '1000'], dir);
  for (let k = 0; k < 10; k++) assert.match(first.out, new RegExp(`key ${k}: 100\\n`), `${file}: first run\n${first.out}`);
  assert.match(first.out, /checkpoint 1 completed/);
  const job = file.replace(/\.[a-z]+$/, '');
  const shared = join(cp, job, 'shared');
  const ssts = existsSync(shared) ? readdirSync(shared, { recursive: true }).map(String).filter((f) => f.endsWith('.sst') && statSync(join(shared, f)).isFile()) : [];
  assert.ok(ssts.length > 0, `${file}: the checkpoint holds no sstable of the lsm backend under ${shared}`);
  const second = await weir([...common, '--resume', 'latest', '--', '2000'], dir);
  assert.match(second.out, /restoring from checkpoint 1/, `${file}: resume\n${second.out}`);
  for (let k = 0; k < 10; k++) assert.match(second.out, new RegExp(`key ${k}: 200\\n`), `${file}: resumed counts\n${second.out}`);
  const list = await weir(['checkpoints', 'list', cp], dir);
  assert.match(list.out, new RegExp(`${job}\\s+2\\s+checkpoint`), list.out);
}

/** A fresh project: `pkg` as its package.json (none when undefined), weir installed from the tarball, production deps only. */
async function project(name: string, pkg: object | undefined): Promise<string> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg ?? { name, private: true }));
  await npm(['install', '--omit=dev', tarball], dir);
  if (pkg === undefined) {
    rmSync(join(dir, 'package.json'));
    rmSync(join(dir, 'package-lock.json'));
  }
  const installed = JSON.parse(readFileSync(join(dir, 'node_modules/weir/package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
  for (const dev of Object.keys(installed.devDependencies ?? {})) {
    // Some devDependencies are also dependencies of dependencies (e.g. @types/*); the ones weir alone brings must be absent.
    if (['typescript', 'eslint', 'playwright-core', 's3rver', 'fast-check', 'typedoc'].includes(dev)) assert.ok(!existsSync(join(dir, 'node_modules', dev)), `devDependency ${dev} was installed`);
  }
  return dir;
}

const variants: [string, object | undefined, string[]][] = [
  ['esm', { name: 'esm-app', private: true, type: 'module' }, ['job.ts', 'job.mts', 'job.js', 'job.mjs']],
  ['cjs', { name: 'cjs-app', version: '1.0.0', main: 'index.js', license: 'ISC' }, ['job.ts', 'job.js', 'job.cjs']],
  ['nopkg', undefined, ['job.ts', 'job.js']],
];

for (const [name, pkg, files] of variants) {
  test(`${name} project: .ts and .js jobs with lsm state, a checkpoint and --resume latest; tsc on the user's job`, async () => {
    const dir = await project(name, pkg);
    writeFileSync(join(dir, 'job.ts'), TS_JOB);
    writeFileSync(join(dir, 'job.mts'), TS_JOB);
    writeFileSync(join(dir, 'job.js'), JS_JOB);
    writeFileSync(join(dir, 'job.mjs'), JS_JOB);
    writeFileSync(join(dir, 'job.cjs'), CJS_JOB);
    for (const f of files) await runAndResume(dir, f);
    if (name === 'esm') await failingJob(dir);
    if (pkg !== undefined) {
      writeFileSync(join(dir, 'tsconfig.json'), TSCONFIG);
      await sh(process.execPath, [tsc, '-p', dir], dir);
    }
  });
}

test('programmatic: StreamEnvironment … execute() from plain node, and weir/testing', async () => {
  const dir = join(work, 'esm');
  writeFileSync(join(dir, 'main.mjs'), `import { StreamEnvironment, GeneratorSource, CollectSink } from 'weir';
import { runAndCollect, valuesSource } from 'weir/testing';
const env = new StreamEnvironment({ stateBackend: 'lsm', checkpoints: './cp-main', checkpointInterval: 0 });
const sink = new CollectSink();
env.fromSource(new GeneratorSource({ count: 100, generate: (i) => i })).keyBy((n) => n % 3).reduce((a, b) => a + b).sinkTo(sink);
const result = await env.execute('main');
console.log('sums', sink.values.length, result.metrics.checkpointsCompleted);
console.log('collected', JSON.stringify(await runAndCollect((e) => e.fromSource(valuesSource([1, 2, 3])).map((n) => n * 10))));
`);
  const r = await sh(process.execPath, ['main.mjs'], dir);
  assert.match(r.out, /sums 100 1\n/, r.out);
  assert.match(r.out, /collected \[10,20,30\]/, r.out);
});

test('npx weir init: the new project installs, its tests pass, it typechecks, and its job runs', async () => {
  const dir = join(work, 'esm');
  const init = await weir(['init', 'my-job'], dir);
  assert.match(init.out, /created \d+ files in my-job/);
  const app = join(dir, 'my-job');
  for (const f of ['package.json', 'tsconfig.json', 'src/job.ts', 'test/job.test.ts', '.gitignore', 'README.md']) assert.ok(existsSync(join(app, f)), `init wrote no ${f}`);
  const again = await weir(['init', 'my-job'], dir, { allowFail: true });
  assert.equal(again.code, 2, 'init into an existing project must refuse');
  await npm(['install', tarball], app); // the template's "weir" range names the registry; here it is the tarball
  const t = await npm(['test'], app);
  assert.match(t.out, /# pass 3\n/, t.out);
  assert.match(t.out, /# fail 0\n/, t.out);
  await npm(['run', 'typecheck'], app);
  const run = await weir(['run', 'src/job.ts', '--ui-port', '0', '--no-progress', '--checkpoints', './weir-data', '--', '3600'], app);
  assert.match(run.out, /session user-\d+: \d+ clicks/, run.out);
  assert.match(run.out, /\d\d:\d\d \/docs \d+/, run.out);
  assert.match(run.out, /checkpoint 1 completed/, run.out);
});

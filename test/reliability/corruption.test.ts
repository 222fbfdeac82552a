/**
 * Corruption of a retained checkpoint (a flipped or truncated byte in a shared sstable,
 * a private MANIFEST/meta file, or `_metadata` itself): `--resume latest` detects it by
 * size/CRC-32C, names the file, and resumes from the previous retained checkpoint; with
 * every retained checkpoint damaged it fails with one clear line. It never restores
 * wrong state: after the fallback every word's committed counts are exactly the values
 * 1..n (records after the older checkpoint are replayed, so counts the newer checkpoint
 * had already committed appear twice — falling back trades exactly-once for that
 * interval, never correctness of the state).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeInput, newestCheckpoint, rng, runWeir, weirCli } from '../../scripts/crash-lib.ts';

const root = new URL('../../', import.meta.url).pathname;

interface Meta {
  checkpointId: number;
  subtasks: { keyed?: { sharedFiles: { path: string; uploadedBy: number }[]; privateFiles: { name: string; path: string }[] } }[];
}

function flip(file: string, at?: number): void {
  const b = readFileSync(file);
  const i = at ?? Math.floor(b.length / 2);
  b[i] = b[i]! ^ 0x01;
  writeFileSync(file, b);
}

async function setup(name: string, backend: string[], seed: number): Promise<{ dir: string; args: string[]; jobDir: string; checkpoints: string; expected: Map<string, number>; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), `weir-corrupt-${name}-`));
  const input = join(dir, 'input.txt');
  const expected = makeInput(input, 100_000, 3000, rng(seed));
  const checkpoints = join(dir, 'checkpoints');
  const output = join(dir, 'out');
  const args = [
    'run', join(root, 'examples/wordcount.ts'), '--checkpoints', checkpoints, '--state-dir', join(dir, 'state'), '--checkpoint-interval', '50ms',
    '--retained', '3', '--parallelism', '2', '--no-progress', '--ui-port', '0', ...backend, '--resume', 'latest', '--', '--input', input, '--output', output,
  ];
  const jobDir = join(checkpoints, 'wordcount');
  // Killed right after the 3rd `_metadata` was written (a crash point, not a timer: the machine may be slow).
  const r = await runWeir(args, {}, { crashAt: 'metadata-after:3' }, jobDir);
  assert.equal(r.signal, 'SIGKILL', `the first run was not killed: ${r.stderr}`);
  return { dir, args, jobDir, checkpoints, expected, output };
}

function retained(jobDir: string): Meta[] {
  return readdirSync(jobDir)
    .filter((n) => /^chk-\d+$/.test(n) && existsSync(join(jobDir, n, '_metadata')))
    .map((n) => JSON.parse(readFileSync(join(jobDir, n, '_metadata'), 'utf8')) as Meta)
    .sort((a, b) => a.checkpointId - b.checkpointId);
}

/** Distinct committed counts of every word are exactly 1..n (duplicates allowed: replay after fallback). */
function checkState(output: string, expected: ReadonlyMap<string, number>): void {
  const got = new Map<string, Set<number>>();
  for (const name of readdirSync(output)) {
    if (name.startsWith('.') || name.startsWith('_')) continue;
    for (const line of readFileSync(join(output, name), 'utf8').split('\n')) {
      if (line === '') continue;
      const r = JSON.parse(line) as { word: string; count: number };
      let s = got.get(r.word);
      if (!s) got.set(r.word, (s = new Set()));
      s.add(r.count);
    }
  }
  assert.equal(got.size, expected.size, 'committed words differ from the input');
  for (const [w, n] of expected) {
    const s = got.get(w)!;
    assert.equal(s.size, n, `word ${w}: ${s.size} distinct counts, expected ${n}`);
    for (let c = 1; c <= n; c++) assert.ok(s.has(c), `word ${w}: count ${c} missing`);
  }
}

const cases: { name: string; backend: string[]; damage: (jobDir: string, newest: Meta) => string }[] = [
  {
    name: 'flipped byte in a shared sstable (lsm incremental)',
    backend: ['--state-backend', 'lsm', '--incremental', 'true'],
    damage: (jobDir, m) => {
      const own = m.subtasks.flatMap((s) => s.keyed?.sharedFiles ?? []).filter((f) => f.uploadedBy === m.checkpointId);
      const f = own[0] ?? m.subtasks.flatMap((s) => s.keyed?.sharedFiles ?? [])[0]!;
      flip(join(jobDir, '..', f.path));
      return f.path;
    },
  },
  {
    name: 'truncated private MANIFEST (lsm full)',
    backend: ['--state-backend', 'lsm', '--incremental', 'false'],
    damage: (jobDir, m) => {
      const f = m.subtasks.flatMap((s) => s.keyed?.privateFiles ?? []).find((p) => p.name === 'MANIFEST')!;
      const file = join(jobDir, '..', f.path);
      truncateSync(file, Math.max(0, readFileSync(file).length - 3));
      return f.path;
    },
  },
  {
    name: 'flipped byte in a heap data file',
    backend: ['--state-backend', 'heap'],
    damage: (jobDir, m) => {
      const f = m.subtasks.flatMap((s) => s.keyed?.privateFiles ?? []).find((p) => p.name.startsWith('heap-kg-'))!;
      flip(join(jobDir, '..', f.path));
      return f.path;
    },
  },
  {
    name: 'flipped digit in _metadata (a key-group bound)',
    backend: ['--state-backend', 'lsm', '--incremental', 'true'],
    damage: (jobDir, m) => {
      const path = join(jobDir, `chk-${m.checkpointId}`, '_metadata');
      const text = readFileSync(path, 'utf8');
      const at = text.indexOf('"end": ') + '"end": '.length;
      assert.ok(at > 10, 'no key-group range in _metadata');
      flip(path, at);
      return `wordcount/chk-${m.checkpointId}/_metadata`;
    },
  },
];

for (const [i, c] of cases.entries()) {
  test(`corruption: ${c.name} → falls back to the previous checkpoint, names the file`, { timeout: 120_000 }, async () => {
    const s = await setup(`c${i}`, c.backend, 200 + i);
    try {
      const before = retained(s.jobDir);
      assert.ok(before.length >= 2, `only ${before.length} retained checkpoints`);
      const newest = before.at(-1)!;
      const bad = c.damage(s.jobDir, newest);
      const r = await runWeir(s.args, {}, {}, s.jobDir);
      assert.equal(r.code, 0, r.stderr);
      assert.ok(r.stderr.includes(bad), `the bad file ${bad} is not named:\n${r.stderr}`);
      assert.match(r.stderr, new RegExp(`restoring from checkpoint ${before.at(-2)!.checkpointId}\\b`));
      checkState(s.output, s.expected);
    } finally {
      rmSync(s.dir, { recursive: true, force: true });
    }
  });
}

test('corruption in every retained checkpoint: resume fails at start with one clear line; verify reports each file', { timeout: 120_000 }, async () => {
  const s = await setup('all', ['--state-backend', 'lsm', '--incremental', 'false'], 299);
  try {
    const ms = retained(s.jobDir);
    const bad: string[] = [];
    for (const m of ms) {
      const f = m.subtasks.flatMap((x) => x.keyed?.privateFiles ?? []).find((p) => p.name === 'meta')!;
      flip(join(s.jobDir, '..', f.path));
      bad.push(f.path);
    }
    const r = await runWeir(s.args, {}, {}, s.jobDir);
    assert.notEqual(r.code, 0);
    assert.equal(r.signal, null);
    const errorLines = r.stderr.split('\n').filter((l) => /no intact checkpoint/.test(l));
    assert.equal(errorLines.length, 1, r.stderr);
    for (const b of bad) assert.ok(errorLines[0]!.includes(b), `${b} not named in: ${errorLines[0]}`);
    const v = await weirCli(['checkpoints', 'verify', s.checkpoints, '--job', 'wordcount', '--json']);
    const problems = (JSON.parse(v.stdout) as { problems: { path: string }[] }).problems.map((p) => p.path);
    assert.deepEqual(problems.sort(), [...bad].sort());
    assert.ok(newestCheckpoint(s.jobDir) >= ms.at(-1)!.checkpointId);
  } finally {
    rmSync(s.dir, { recursive: true, force: true });
  }
});

/** Built-in connectors: file source offsets, generator splits across restore/rescale, file sink commit rules. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileSink, FileSource, GeneratorSource, StreamEnvironment, CollectSink, type SourceReader } from '../../src/index.ts';
import { systemClock } from '../../src/util/clock.ts';
import { committedLines, tempDir } from '../runtime/helpers.ts';

async function readAll<T>(reader: SourceReader<T>, max = 1000): Promise<T[]> {
  const out: T[] = [];
  for (let guard = 0; guard < 10_000; guard++) {
    const r = reader.poll({ collect: (v) => out.push(v) }, max);
    if (r === 'end') return out;
    if (r !== 'more') await r;
  }
  throw new Error('source did not end');
}

test('file source: CRLF and a last line without newline; restore from a byte offset', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const file = join(dir, 'in.txt');
    writeFileSync(file, 'één\r\ntwo\n\nthree');
    const src = new FileSource(file);
    const ctx = { subtaskIndex: 0, parallelism: 1, clock: systemClock, restoredState: undefined };
    const r1 = src.createReader(ctx);
    const first: string[] = [];
    // Read two lines, snapshot, then read the rest.
    for (let guard = 0; first.length < 2 && guard < 100; guard++) {
      const r = r1.poll({ collect: (v) => first.push(v) }, 2 - first.length);
      if (r !== 'more' && r !== 'end') await r;
    }
    const state = r1.snapshotState(1);
    assert.deepEqual(first, ['één', 'two']);
    assert.deepEqual(state, [{ path: file, offset: Buffer.byteLength('één\r\ntwo\n') }]);
    assert.deepEqual(await readAll(r1), ['', 'three']);
    await r1.close?.();
    const r2 = src.createReader({ ...ctx, restoredState: state });
    assert.deepEqual(await readAll(r2), ['', 'three']);
    await r2.close?.();
  } finally {
    cleanup();
  }
});

test('generator: every index exactly once across a restore at another parallelism', async () => {
  const gen = new GeneratorSource({ generate: (i) => i, count: 1000, splits: 7 });
  const seen: number[] = [];
  const ctx = (i: number, p: number, restoredState?: unknown[]) => ({ subtaskIndex: i, parallelism: p, clock: systemClock, restoredState });
  const states: unknown[] = [];
  for (let i = 0; i < 2; i++) {
    const r = gen.createReader(ctx(i, 2));
    assert.equal(r.poll({ collect: (v) => seen.push(v) }, 150), 'more');
    states.push(...r.snapshotState(1));
  }
  // Deal the 7 split states over 3 new subtasks, as the restore planner does ('split').
  for (let i = 0; i < 3; i++) {
    const mine = states.filter((_, k) => k % 3 === i);
    seen.push(...(await readAll(gen.createReader(ctx(i, 3, mine)))));
  }
  assert.equal(seen.length, 1000);
  assert.deepEqual([...seen].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
});

test('file sink without checkpoints commits everything at the end of input; nothing hidden is left', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'out');
    const env = new StreamEnvironment({ parallelism: 2 });
    env.fromSource(new GeneratorSource({ generate: (i) => ({ i }), count: 500 })).sinkTo(new FileSink<{ i: number }>({ directory: out, bufferBytes: 64 }));
    await env.execute('sink');
    const lines = committedLines<{ i: number }>(out);
    assert.deepEqual(lines.map((l) => l.i).sort((a, b) => a - b), Array.from({ length: 500 }, (_, i) => i));
    assert.deepEqual(readdirSync(out).filter((n) => n.startsWith('.')), []);
  } finally {
    cleanup();
  }
});

test('file sink re-commit after restore is idempotent, removes uncommittable leftovers, and a lost transaction is an error', async () => {
  const { dir, cleanup } = tempDir();
  try {
    const out = join(dir, 'out');
    mkdirSync(out);
    writeFileSync(join(out, '.part-0-aa.inprogress'), '{"x":1}\n');
    writeFileSync(join(out, 'part-0-bb'), '{"x":2}\n'); // committed before a crash
    writeFileSync(join(out, '.part-0-dd.inprogress'), '{"x":3}\n'); // written after the checkpoint: replayed, never committed
    writeFileSync(join(out, '.part-1-ee.inprogress'), '{"x":4}\n'); // of an old subtask index beyond the new parallelism
    writeFileSync(join(out, '.keep-me'), '');
    const sink = new FileSink<unknown>({ directory: out });
    const ctx = { subtaskIndex: 0, parallelism: 1, clock: systemClock, checkpointingEnabled: true };
    const tx = (id: string) => ({ tmp: `.part-0-${id}.inprogress`, final: `part-0-${id}`, checkpointId: 3 });
    const w = await sink.createWriter({ ...ctx, restoredState: [tx('aa'), tx('bb')] });
    await w.close?.();
    assert.deepEqual(readdirSync(out).sort(), ['.keep-me', 'part-0-aa', 'part-0-bb']);
    await assert.rejects(Promise.resolve(sink.createWriter({ ...ctx, restoredState: [tx('cc')] })), /is lost/);
  } finally {
    cleanup();
  }
});

test('collect sink sees records in order at parallelism 1', async () => {
  const env = new StreamEnvironment();
  const sink = new CollectSink<number>();
  env.fromSource(new GeneratorSource({ generate: (i) => i * 2, count: 5, splits: 1 })).sinkTo(sink);
  await env.execute('collect');
  assert.deepEqual(sink.values, [0, 2, 4, 6, 8]);
});

/** Shared by runtime/API tests: temp dirs and reading an exactly-once file sink's committed output. */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PollResult, Source, SourceOutput, SourceReader } from '../../src/index.ts';

export function tempDir(prefix = 'weir-rt-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every JSON line of every committed file (names not starting with '.' or '_'). */
export function committedLines<T>(dir: string): T[] {
  const out: T[] = [];
  for (const name of readdirSync(dir).sort()) {
    if (name.startsWith('.') || name.startsWith('_')) continue;
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) if (line !== '') out.push(JSON.parse(line) as T);
  }
  return out;
}

/** Asserts that for every key the committed counts are exactly 1..expected(key), each once. */
export function checkExactCounts(records: readonly { key: string | number; count: number }[], expected: ReadonlyMap<string | number, number>): string | undefined {
  const byKey = new Map<string | number, number[]>();
  for (const r of records) {
    let l = byKey.get(r.key);
    if (!l) byKey.set(r.key, (l = []));
    l.push(r.count);
  }
  if (byKey.size !== expected.size) return `${byKey.size} keys committed, expected ${expected.size}`;
  for (const [k, n] of expected) {
    const l = (byKey.get(k) ?? []).sort((a, b) => a - b);
    if (l.length !== n) return `key ${k}: ${l.length} counts, expected ${n}`;
    for (let i = 0; i < n; i++) if (l[i] !== i + 1) return `key ${k}: counts are not exactly 1..${n} (at ${i}: ${l[i]})`;
  }
  return undefined;
}


/**
 * Wraps a source so that, after `fastRecords` records per subtask, it trickles (one
 * record per `slowMs`) until `release()` is true — so a test can wait for checkpoints to
 * complete before something happens, however slow the machine is.
 */
export function trickleAfter<T>(inner: Source<T>, fastRecords: number, release: () => boolean, slowMs = 5): Source<T> {
  return {
    name: inner.name,
    ...(inner.maxParallelism !== undefined ? { maxParallelism: inner.maxParallelism } : {}),
    async createReader(ctx) {
      const r: SourceReader<T> = await inner.createReader(ctx);
      let emitted = 0;
      const counting = (out: SourceOutput<T>): SourceOutput<T> => ({
        collect: (v, t) => {
          emitted++;
          out.collect(v, t);
        },
      });
      return {
        poll(out, max): PollResult {
          if (release() || emitted < fastRecords) return r.poll(counting(out), release() ? max : Math.min(max, fastRecords - emitted));
          const res = r.poll(counting(out), 1);
          return res === 'more' ? ctx.clock.sleep(slowMs) : res;
        },
        snapshotState: (id) => r.snapshotState(id),
        ...(r.notifyCheckpointComplete ? { notifyCheckpointComplete: (id: number) => r.notifyCheckpointComplete!(id) } : {}),
        ...(r.close ? { close: () => r.close!() } : {}),
      };
    },
  };
}

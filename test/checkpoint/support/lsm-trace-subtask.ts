/**
 * Drives the seed trace with the REAL lsm state backend and LSM engine: the files of the
 * trace (`sstable-(1)`, `sstable-(1,2,3)`, …) are produced by real flushes and real
 * compactions, and every snapshot is the backend's own incremental snapshot (sync part:
 * seal + pin; async part: upload what the last confirmed checkpoint does not hold).
 *
 * How the trace's file names map to real files: a name with one number `(k)` is made by
 * writing a few keys of k's key-group half and flushing (exactly one new L0 file); a name
 * with several numbers `(i,j,k)` by compacting the key range of that half (exactly one
 * output file, asserted). Numbers 1–3 live in key groups [0, 64), 4–6 in [64, 128), so a
 * compaction of one half never touches the other half's files, as in the figure.
 *
 * The only translation is of labels: handles given to the trace runner carry the trace's
 * names as `localName`/`registryKey` (the figure's `op-2-1-sstable-(1)`), while paths,
 * sizes, checksums and the reuse decisions are the backend's own. The untranslated
 * handles are kept in `realHandles` for a restore check.
 */
import assert from 'node:assert/strict';
import type { CheckpointStorage } from '../../../src/storage/checkpoint-storage.ts';
import type { KeyedStateHandle } from '../../../src/state/handles.ts';
import { createLsmBackend } from '../../../src/state/index.ts';
import type { LsmKeyedBackend } from '../../../src/state/index.ts';
import { keyGroupForKey } from '../../../src/state/key-group-for-key.ts';
import type { TraceSubtask } from './synthetic-incremental-subtask.ts';

const MAX_P = 128;
const HALF = 64;

function parts(label: string): number[] {
  const m = /^sstable-\(([\d,]+)\)$/.exec(label);
  assert.ok(m, `unsupported trace file name ${label}`);
  return m[1]!.split(',').map(Number);
}

export class LsmTraceSubtask implements TraceSubtask {
  /** real local file name → trace label */
  private readonly labelOf = new Map<string, string>();
  readonly realHandles = new Map<number, KeyedStateHandle>();
  /** Every (key → value) written, for the restore check. */
  readonly expected = new Map<string, number>();
  private nextValue = 1;

  private constructor(
    readonly backend: LsmKeyedBackend,
    readonly operatorId: string,
    readonly subtaskIndex: number,
  ) {}

  static async create(storage: CheckpointStorage, localDir: string, operatorId: string, subtaskIndex: number): Promise<LsmTraceSubtask> {
    const backend = (await createLsmBackend({
      operatorId,
      subtaskIndex,
      maxParallelism: MAX_P,
      keyGroupRange: { start: 0, end: MAX_P - 1 },
      localDir,
      storage,
      incremental: true,
      lsmOptions: { autoCompaction: false, useWorker: false },
    }));
    return new LsmTraceSubtask(backend, operatorId, subtaskIndex);
  }

  private liveNames(): string[] {
    return this.backend.lsmStore().liveFiles().map((f) => f.name);
  }

  /** Keys whose key group is in the half of trace file number k (1–3 low, 4–6 high). */
  private keysFor(k: number, count: number): string[] {
    const low = k <= 3;
    const out: string[] = [];
    for (let i = 0; out.length < count; i++) {
      const key = `k${k}-${i}`;
      const kg = keyGroupForKey(key, MAX_P);
      if ((kg < HALF) === low) out.push(key);
    }
    return out;
  }

  private async flushNew(k: number): Promise<void> {
    const before = new Set(this.liveNames());
    const count = this.backend.getValueState<number>('count');
    // Overlapping keys across the files of one half (as real updates are), so compaction merges.
    for (const key of [...this.keysFor(k, 40), ...this.keysFor(k <= 3 ? 1 : 4, 10)]) {
      this.backend.setCurrentKey(key);
      const v = this.nextValue++;
      count.update(v);
      this.expected.set(key, v);
    }
    await this.backend.lsmStore().flush();
    const added = this.liveNames().filter((n) => !before.has(n));
    assert.equal(added.length, 1, `flush for sstable-(${k}) made ${added.length} files`);
    this.labelOf.set(added[0]!, `sstable-(${k})`);
  }

  private async compact(label: string): Promise<void> {
    const low = parts(label)[0]! <= 3;
    const before = new Set(this.liveNames());
    const start = Uint8Array.of(low ? 0 : HALF >> 8, low ? 0 : HALF & 0xff);
    const end = Uint8Array.of(low ? HALF >> 8 : 0xff, low ? HALF & 0xff : 0xff);
    await this.backend.lsmStore().compactRange(start, end);
    await this.backend.lsmStore().waitForIdle();
    const added = this.liveNames().filter((n) => !before.has(n));
    assert.equal(added.length, 1, `compaction for ${label} made ${added.length} files`);
    this.labelOf.set(added[0]!, label);
  }

  async setLocalFiles(names: readonly string[]): Promise<void> {
    const present = (): Set<string> => new Set(this.liveNames().map((n) => this.labelOf.get(n) ?? `<unlabelled ${n}>`));
    for (const label of names) {
      if (present().has(label)) continue;
      const ks = parts(label);
      // A merged file's missing parts are flushed first (CP4's (6)), then merged.
      for (const k of ks) if (!present().has(`sstable-(${k})`)) await this.flushNew(k);
      if (ks.length > 1) await this.compact(label);
    }
    assert.deepEqual([...present()].sort(), [...names].sort(), 'the real LSM holds exactly the trace\'s files');
  }

  async snapshot(jobPath: string, checkpointId: number, kind: 'checkpoint' | 'savepoint'): Promise<KeyedStateHandle> {
    const real = await this.backend.snapshot({ jobPath, checkpointId, kind }).done;
    this.realHandles.set(checkpointId, real);
    return {
      ...real,
      sharedFiles: real.sharedFiles.map((f) => {
        const label = this.labelOf.get(f.localName);
        assert.ok(label, `snapshot ${checkpointId} holds an unlabelled file ${f.localName}`);
        return { ...f, localName: label, registryKey: `${this.operatorId}-${this.subtaskIndex}-${label}` };
      }),
    };
  }

  notifyCheckpointComplete(checkpointId: number): void {
    this.backend.notifyCheckpointComplete(checkpointId);
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.backend.notifyCheckpointAborted(checkpointId);
  }
}

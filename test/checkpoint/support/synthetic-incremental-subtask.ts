/**
 * A stand-in for one lsm-backend subtask, for the checkpoint machinery's scenario tests:
 * it holds a set of named, immutable local "sstables" and snapshots them the way an
 * incremental lsm snapshot does (DESIGN.md §2):
 *   - the base is the LAST CONFIRMED checkpoint only (notifyCheckpointComplete), never a
 *     pending one (FLINK-25395);
 *   - a live file the base already holds is re-referenced (`reused: true`, same path);
 *   - every other live file is uploaded to `<job>/shared/<unique>`;
 *   - a small private MANIFEST is uploaded to `<job>/taskowned/<unique>`;
 *   - a savepoint uploads everything and never changes the base (FLINK-23949).
 *
 * TraceSubtask is the interface the trace runner drives; the lsm backend can implement it
 * to run the very same trace (see seed-trace-runner.ts).
 */
import type { CheckpointStorage } from '../../../src/storage/checkpoint-storage.ts';
import type { KeyedStateHandle, PrivateFileRef, SharedFileRef } from '../../../src/state/handles.ts';
import { crc32c, crc32cHex } from '../../../src/util/crc32c.ts';

export interface TraceSubtask {
  readonly operatorId: string;
  readonly subtaskIndex: number;
  /** Makes the local live file set exactly `names` (as flushes and compactions would). */
  setLocalFiles(names: readonly string[]): Promise<void>;
  /** Synchronous part + asynchronous upload; resolves with the handle to acknowledge. */
  snapshot(jobPath: string, checkpointId: number, kind: 'checkpoint' | 'savepoint'): Promise<KeyedStateHandle>;
  notifyCheckpointComplete(checkpointId: number): void;
  notifyCheckpointAborted(checkpointId: number): void;
}

export class SyntheticIncrementalSubtask implements TraceSubtask {
  private readonly local = new Map<string, Uint8Array>();
  /** localName → ref of the last confirmed checkpoint. */
  private base = new Map<string, SharedFileRef>();
  private baseId = 0;
  /** Checkpoints snapshotted but not yet confirmed: id → their refs by local name. */
  private readonly unconfirmed = new Map<number, Map<string, SharedFileRef>>();
  private generation = 0;

  constructor(
    private readonly storage: CheckpointStorage,
    readonly operatorId: string,
    readonly subtaskIndex: number,
    readonly maxParallelism = 128,
    readonly backendId = `b${operatorId}x${subtaskIndex}`,
  ) {}

  async setLocalFiles(names: readonly string[]): Promise<void> {
    for (const n of [...this.local.keys()]) if (!names.includes(n)) this.local.delete(n);
    for (const n of names) {
      if (!this.local.has(n)) this.local.set(n, new TextEncoder().encode(`${n} of ${this.backendId} gen ${++this.generation}\n`.repeat(8)));
    }
  }

  /** The local files, for tests. */
  localFiles(): string[] {
    return [...this.local.keys()];
  }

  confirmedBase(): number {
    return this.baseId;
  }

  async snapshot(jobPath: string, checkpointId: number, kind: 'checkpoint' | 'savepoint'): Promise<KeyedStateHandle> {
    // synchronous part: pin the live set (a copy of the map) and the base
    const live = [...this.local.entries()];
    const base = kind === 'savepoint' ? new Map<string, SharedFileRef>() : this.base;
    // asynchronous part
    const shared: SharedFileRef[] = [];
    let uploaded = 0;
    for (const [name, bytes] of live) {
      const registryKey = `${this.operatorId}-${this.subtaskIndex}-${name}`;
      const prior = base.get(name);
      if (prior) {
        shared.push({ ...prior, reused: true });
        continue;
      }
      const path = `${jobPath}/shared/${this.backendId}-${checkpointId}-${name}`;
      const w = await this.storage.write(path, bytes);
      uploaded += w.size;
      shared.push({ registryKey, localName: name, path, size: w.size, checksum: w.checksum, uploadedBy: checkpointId, reused: false });
    }
    const manifest = new TextEncoder().encode(JSON.stringify(live.map(([n]) => n)));
    const mpath = `${jobPath}/taskowned/${this.backendId}-${checkpointId}-MANIFEST`;
    const mw = await this.storage.write(mpath, manifest);
    uploaded += mw.size;
    const privateFiles: PrivateFileRef[] = [{ name: 'MANIFEST', path: mpath, size: mw.size, checksum: mw.checksum }];
    if (kind === 'checkpoint') this.unconfirmed.set(checkpointId, new Map(shared.map((r) => [r.localName, r])));
    const fullSize = shared.reduce((a, r) => a + r.size, 0) + mw.size;
    return {
      format: 'lsm',
      mode: kind === 'savepoint' ? 'full' : 'incremental',
      backendId: this.backendId,
      operatorId: this.operatorId,
      subtaskIndex: this.subtaskIndex,
      keyGroupRange: { start: 0, end: this.maxParallelism - 1 },
      maxParallelism: this.maxParallelism,
      checkpointId,
      sharedFiles: shared,
      privateFiles,
      fullSize,
      incrementalSize: uploaded,
      states: [{ name: 'count', id: 1, kind: 'value' }],
    };
  }

  notifyCheckpointComplete(checkpointId: number): void {
    const refs = this.unconfirmed.get(checkpointId);
    if (refs === undefined || checkpointId <= this.baseId) return;
    this.base = new Map([...refs].map(([n, r]) => [n, { ...r, reused: false }]));
    this.baseId = checkpointId;
    for (const id of [...this.unconfirmed.keys()]) if (id <= checkpointId) this.unconfirmed.delete(id);
  }

  notifyCheckpointAborted(checkpointId: number): void {
    this.unconfirmed.delete(checkpointId);
  }
}

/** CRC-32C hex of bytes, as storage reports it. */
export function checksumOf(bytes: Uint8Array): string {
  return crc32cHex(crc32c(bytes));
}

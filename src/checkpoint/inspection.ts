/**
 * Read-only views of a job's checkpoint directory, and its repair: what the `weir
 * checkpoints` commands (src/cli) print, verify and garbage-collect. Nothing here runs
 * inside a job; a GC on a RUNNING job's directory could delete uploads of a checkpoint
 * in flight (they are orphans until its `_metadata` is published) — run gc on stopped
 * jobs (the coordinator cleans up by itself while running and at start).
 */
import type { CheckpointStorage, ObjectInfo } from '../storage/checkpoint-storage.ts';
import { crc32c, crc32cHex } from '../util/crc32c.ts';
import { ConfigError, errorMessage } from '../util/errors.ts';
import { CompletedCheckpointStore } from './completed-checkpoint-store.ts';
import { foreignJobDirectoryError } from './job-scan.ts';
import type { JobOwnership } from './job-scan.ts';
import { metadataPath } from '../storage/job-layout.ts';
import type { SharedStateEntry } from './shared-state-registry.ts';
import type { CheckpointMetadata, KeyGroupRange } from './types.ts';

export interface SharedFileView {
  readonly key: string;
  readonly localName: string;
  readonly path: string;
  readonly size: number;
  readonly checksum: string;
  readonly uploadedBy: number;
  readonly reused: boolean;
}

export interface PrivateFileView {
  readonly name: string;
  readonly path: string;
  readonly size: number;
  readonly checksum: string;
}

export interface SubtaskView {
  readonly operatorId: string;
  readonly subtaskIndex: number;
  readonly format: string | undefined;
  readonly mode: string | undefined;
  readonly keyGroupRange: KeyGroupRange | undefined;
  readonly sharedFiles: readonly SharedFileView[];
  readonly privateFiles: readonly PrivateFileView[];
  readonly operatorState: readonly { readonly name: string; readonly mode: string; readonly items: number }[];
  readonly fullSize: number;
  readonly incrementalSize: number;
}

export interface CheckpointView {
  readonly id: number;
  readonly kind: 'checkpoint' | 'savepoint';
  readonly metadataPath: string;
  readonly triggerTime: number;
  readonly completeTime: number;
  readonly maxParallelism: number;
  readonly operators: readonly { readonly operatorId: string; readonly parallelism: number }[];
  /** Bytes a restore downloads. */
  readonly fullSize: number;
  /** Bytes this checkpoint uploaded. */
  readonly checkpointedSize: number;
  readonly subtasks: readonly SubtaskView[];
}

export interface JobInspection {
  readonly job: string;
  readonly root: string;
  readonly checkpoints: readonly CheckpointView[];
  readonly registry: readonly SharedStateEntry[];
  readonly orphans: readonly ObjectInfo[];
  readonly unreadable: readonly { readonly path: string; readonly error: string }[];
  readonly maxCheckpointId: number;
  /** Whether weir created the directory (job-scan.ts); gc refuses a 'foreign' one. */
  readonly ownership: JobOwnership;
  readonly totals: {
    /** Bytes of every object under `<job>/`, plus the temp files of unfinished writes. */
    readonly storedBytes: number;
    readonly objects: number;
    /** Temp files of unfinished writes (also listed as orphans). */
    readonly tempFiles: number;
    readonly orphanBytes: number;
  };
}

export function viewCheckpoint(m: CheckpointMetadata): CheckpointView {
  return {
    id: m.checkpointId,
    kind: m.kind,
    metadataPath: metadataPath(m.job, m.checkpointId, m.kind),
    triggerTime: m.triggerTime,
    completeTime: m.completeTime,
    maxParallelism: m.maxParallelism,
    operators: m.operators,
    fullSize: m.fullSize,
    checkpointedSize: m.checkpointedSize,
    subtasks: m.subtasks.map((s) => ({
      operatorId: s.operatorId,
      subtaskIndex: s.subtaskIndex,
      format: s.keyed?.format,
      mode: s.keyed?.mode,
      keyGroupRange: s.keyed?.keyGroupRange,
      sharedFiles: (s.keyed?.sharedFiles ?? []).map((f) => ({
        key: f.registryKey, localName: f.localName, path: f.path, size: f.size, checksum: f.checksum, uploadedBy: f.uploadedBy, reused: f.reused,
      })),
      privateFiles: (s.keyed?.privateFiles ?? []).map((f) => ({ name: f.name, path: f.path, size: f.size, checksum: f.checksum })),
      operatorState: (s.operatorState ?? []).map((e) => ({ name: e.name, mode: e.mode, items: e.items.length })),
      fullSize: s.keyed?.fullSize ?? 0,
      incrementalSize: s.keyed?.incrementalSize ?? 0,
    })),
  };
}

/** Everything about one job's directory. Reads `_metadata` files and lists objects; deletes nothing. */
export async function inspectJob(storage: CheckpointStorage, job: string): Promise<JobInspection> {
  const rec = await CompletedCheckpointStore.recover({ storage, job, retained: Number.MAX_SAFE_INTEGER });
  const objects = await storage.list(`${job}/`);
  const temps = (await storage.listTempFiles?.(`${job}/`)) ?? [];
  return {
    job,
    root: storage.uri,
    checkpoints: rec.store.all().map(viewCheckpoint),
    registry: rec.store.registry.entries(),
    orphans: rec.orphans,
    unreadable: rec.unreadable.map((u) => ({ path: u.path, error: u.error.message })),
    maxCheckpointId: rec.maxCheckpointId,
    ownership: rec.ownership,
    totals: {
      storedBytes: [...objects, ...temps].reduce((a, o) => a + o.size, 0),
      objects: objects.length,
      tempFiles: temps.length,
      orphanBytes: rec.orphans.reduce((a, o) => a + o.size, 0),
    },
  };
}

export interface VerifyProblem {
  readonly path: string;
  readonly problem: 'missing' | 'size' | 'checksum' | 'unreadable-metadata' | 'read-error';
  readonly detail: string;
  /** Checkpoint ids whose `_metadata` references the file. */
  readonly referencedBy: readonly number[];
}

export interface VerifyResult {
  readonly job: string;
  readonly checkpoints: readonly number[];
  readonly filesChecked: number;
  readonly bytesChecked: number;
  readonly problems: readonly VerifyProblem[];
}

/**
 * Downloads every file the job's `_metadata` files reference and checks its size and
 * CRC-32C against the metadata. `concurrency` downloads run at once (default 4).
 */
export async function verifyJob(storage: CheckpointStorage, job: string, options: { concurrency?: number } = {}): Promise<VerifyResult> {
  const rec = await CompletedCheckpointStore.recover({ storage, job, retained: Number.MAX_SAFE_INTEGER });
  const problems: VerifyProblem[] = rec.unreadable.map((u) => ({ path: u.path, problem: 'unreadable-metadata', detail: u.error.message, referencedBy: [] }));
  const files = new Map<string, { size: number; checksum: string; referencedBy: number[] }>();
  for (const m of rec.store.all()) {
    for (const s of m.subtasks) {
      for (const f of [...(s.keyed?.sharedFiles ?? []), ...(s.keyed?.privateFiles ?? [])]) {
        const e = files.get(f.path);
        if (e === undefined) files.set(f.path, { size: f.size, checksum: f.checksum, referencedBy: [m.checkpointId] });
        else if (!e.referencedBy.includes(m.checkpointId)) e.referencedBy.push(m.checkpointId);
      }
    }
  }
  const checked = await checkFiles(storage, files, options.concurrency ?? 4);
  problems.push(...checked.problems);
  const bytesChecked = checked.bytesChecked;
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    job,
    checkpoints: rec.store.all().map((m) => m.checkpointId),
    filesChecked: files.size,
    bytesChecked,
    problems,
  };
}

/**
 * Downloads every file one checkpoint references and checks size and CRC-32C against
 * its metadata (what restore will do; done first so `--resume latest` can fall back to
 * an older checkpoint instead of failing half-way through a restore).
 */
export async function verifyCheckpoint(storage: CheckpointStorage, metadata: CheckpointMetadata, concurrency = 4): Promise<{ problems: VerifyProblem[]; bytesChecked: number }> {
  const files = new Map<string, { size: number; checksum: string; referencedBy: number[] }>();
  for (const s of metadata.subtasks) {
    for (const f of [...(s.keyed?.sharedFiles ?? []), ...(s.keyed?.privateFiles ?? [])]) {
      files.set(f.path, { size: f.size, checksum: f.checksum, referencedBy: [metadata.checkpointId] });
    }
  }
  return checkFiles(storage, files, concurrency);
}

async function checkFiles(
  storage: CheckpointStorage,
  files: ReadonlyMap<string, { size: number; checksum: string; referencedBy: number[] }>,
  concurrency: number,
): Promise<{ problems: VerifyProblem[]; bytesChecked: number }> {
  const problems: VerifyProblem[] = [];
  const queue = [...files.entries()];
  let bytesChecked = 0;
  const worker = async (): Promise<void> => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const [path, want] = next;
      const referencedBy = want.referencedBy;
      try {
        const info = await storage.stat(path);
        if (info === undefined) {
          problems.push({ path, problem: 'missing', detail: 'not found in storage', referencedBy });
          continue;
        }
        if (info.size !== want.size) {
          problems.push({ path, problem: 'size', detail: `size ${info.size}, expected ${want.size}`, referencedBy });
          continue;
        }
        const bytes = await storage.read(path);
        bytesChecked += bytes.length;
        const actual = crc32cHex(crc32c(bytes));
        if (bytes.length !== want.size) {
          problems.push({ path, problem: 'size', detail: `read ${bytes.length} bytes, expected ${want.size}`, referencedBy });
        } else if (actual !== want.checksum.toLowerCase()) {
          problems.push({ path, problem: 'checksum', detail: `CRC-32C ${actual}, expected ${want.checksum}`, referencedBy });
        }
      } catch (err) {
        problems.push({ path, problem: 'read-error', detail: errorMessage(err), referencedBy });
      }
    }
  };
  const n = Math.max(1, Math.min(concurrency, 64));
  await Promise.all(Array.from({ length: n }, () => worker()));
  problems.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { problems, bytesChecked };
}

export interface GcResult {
  readonly job: string;
  readonly dryRun: boolean;
  readonly orphans: readonly ObjectInfo[];
  readonly deleted: readonly string[];
  readonly failed: readonly { readonly path: string; readonly error: string }[];
}

/**
 * Deletes the job's orphans (objects no `_metadata` references, and temp files of
 * unfinished writes). Refuses (ConfigError) on a directory weir did not create, and
 * while any `_metadata` is unreadable: what it references is unknown. Never deletes a
 * referenced file: the orphan list is recomputed from storage right here.
 */
export async function gcJob(storage: CheckpointStorage, job: string, options: { dryRun?: boolean } = {}): Promise<GcResult> {
  const rec = await CompletedCheckpointStore.recover({ storage, job, retained: Number.MAX_SAFE_INTEGER });
  if (rec.ownership === 'foreign') throw foreignJobDirectoryError(storage.uri, job, 'collect garbage in');
  if (rec.unreadable.length > 0) {
    throw new ConfigError(`refusing to collect garbage in ${job}/: unreadable ${rec.unreadable.map((u) => `${u.path} (${u.error.message})`).join(', ')}`);
  }
  const deleted: string[] = [];
  const failed: { path: string; error: string }[] = [];
  if (!options.dryRun) {
    for (const o of rec.orphans) {
      try {
        await storage.delete(o.path);
        deleted.push(o.path);
      } catch (err) {
        failed.push({ path: o.path, error: errorMessage(err) });
      }
    }
  }
  return { job, dryRun: options.dryRun ?? false, orphans: rec.orphans, deleted, failed };
}

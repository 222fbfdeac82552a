/**
 * Where a job's checkpoints live in checkpoint storage (DESIGN.md §2, "Storage layout"):
 * the ONE module that knows the names under `<root>/<job>/`.
 *
 *   <job>/chk-<N>/_metadata        a completed checkpoint (written LAST, atomically:
 *                                  no `_metadata`, no checkpoint)
 *   <job>/savepoint-<N>/_metadata  a completed savepoint (same id sequence as checkpoints)
 *   <job>/shared/<unique>          files shared between checkpoints (sstables), counted
 *                                  by the SharedStateRegistry
 *   <job>/taskowned/<unique>       files private to one checkpoint's handle (manifest, meta)
 *   <job>/_weir_job                weir's marker: written when weir creates the job
 *                                  directory, before anything else in it. A directory
 *                                  without it (and without any `_metadata`, which
 *                                  directories from before the marker have) was not made
 *                                  by weir: no run and no gc deletes anything in it.
 *   <job>/_lease                   who writes this job directory now (JSON: run id, pid,
 *                                  host, heartbeat); created exclusively, see
 *                                  src/checkpoint/job-lease.ts
 *   <job>/_checkpoint_ids          the job's checkpoint id counter (JSON), written only by
 *                                  the lease holder, see src/checkpoint/checkpoint-id-counter.ts
 *
 * Unique names of uploads: `shared/<run>/<op>-<subtask>-<chk>-<random>-<local name>` and
 * `taskowned/<run>/<op>-<subtask>-<chk>-<random>-<role>`, where `<run>` is the id of the
 * run (one process start of the job) that wrote it. The run id lets a sweep tell whose
 * upload a file is (and S3 list one run's uploads by prefix); the checkpoint id and the
 * random part make the name unique and never reused.
 *
 * Savepoint data files may live in `<job>/shared/`, `<job>/taskowned/` or inside
 * `<job>/savepoint-<N>/`; a savepoint is self-contained (never re-references a checkpoint's
 * upload), so it keeps its own files alive and is never subsumed.
 *
 * Why here, in src/storage: the state backends (src/state) name their uploads and the
 * checkpoint machinery (src/checkpoint) reads, sweeps and deletes them. src/state must not
 * import src/checkpoint, and both may import src/storage; the layout is names of objects
 * in checkpoint storage, not what their bytes mean, so it belongs to neither side.
 *
 * Paths are storage paths (see checkpoint-storage.ts): relative, '/'-separated.
 */
import { randomBytes } from 'node:crypto';
import { ConfigError } from '../util/errors.ts';

export type CheckpointKind = 'checkpoint' | 'savepoint';

export const METADATA_FILE = '_metadata';
export const JOB_MARKER_FILE = '_weir_job';
export const LEASE_FILE = '_lease';
export const CHECKPOINT_IDS_FILE = '_checkpoint_ids';

const JOB_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const RUN_ID = /^[a-z0-9]{4,32}$/;

/** Refuses job names that are not a single safe path segment. */
export function validateJobName(job: string): string {
  if (!JOB_NAME.test(job) || job === '.' || job === '..') {
    throw new ConfigError(`invalid job name ${JSON.stringify(job)}: use letters, digits, '.', '_' and '-' (one path segment)`);
  }
  return job;
}

/** A new run id: lowercase hex, unique per run of a job. */
export function newRunId(): string {
  return randomBytes(6).toString('hex');
}

export function validateRunId(runId: string): string {
  if (!RUN_ID.test(runId)) throw new ConfigError(`invalid run id ${JSON.stringify(runId)}: 4-32 lowercase letters or digits`);
  return runId;
}

export function randomHex(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}

export function jobPrefix(job: string): string {
  return `${job}/`;
}

export function sharedDir(job: string): string {
  return `${job}/shared/`;
}

export function taskOwnedDir(job: string): string {
  return `${job}/taskowned/`;
}

export function jobMarkerPath(job: string): string {
  return `${job}/${JOB_MARKER_FILE}`;
}

export function leasePath(job: string): string {
  return `${job}/${LEASE_FILE}`;
}

export function checkpointIdsPath(job: string): string {
  return `${job}/${CHECKPOINT_IDS_FILE}`;
}

/** `<job>/chk-<N>/` or `<job>/savepoint-<N>/` (with trailing slash). */
export function checkpointDir(job: string, checkpointId: number, kind: CheckpointKind = 'checkpoint'): string {
  return `${job}/${kind === 'savepoint' ? 'savepoint' : 'chk'}-${checkpointId}/`;
}

export function metadataPath(job: string, checkpointId: number, kind: CheckpointKind = 'checkpoint'): string {
  return `${checkpointDir(job, checkpointId, kind)}${METADATA_FILE}`;
}

/** Who writes an upload: the run, the operator subtask and the checkpoint. */
export interface UploadOwner {
  readonly runId: string;
  readonly operatorId: string;
  readonly subtaskIndex: number;
  readonly checkpointId: number;
}

/** `<job>/taskowned/<run>/<op>-<subtask>-<chk>-<random>-<role>`: never reused. */
export function privatePath(job: string, owner: UploadOwner, role: string): string {
  return `${taskOwnedDir(job)}${uniqueName(owner, role)}`;
}

/** `<job>/shared/<run>/<op>-<subtask>-<chk>-<random>-<local name>`: never reused. */
export function sharedPath(job: string, owner: UploadOwner, localName: string): string {
  return `${sharedDir(job)}${uniqueName(owner, localName)}`;
}

function uniqueName(o: UploadOwner, what: string): string {
  return `${validateRunId(o.runId)}/${safeSegment(o.operatorId)}-${o.subtaskIndex}-${o.checkpointId}-${randomHex()}-${safeSegment(what)}`;
}

function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The run that wrote an upload (`shared/<run>/…`, `taskowned/<run>/…`), or undefined (names before run ids had none). */
export function uploadRunId(job: string, path: string): string | undefined {
  const kind = classifyJobPath(job, path);
  if (kind?.area !== 'shared' && kind?.area !== 'taskowned') return undefined;
  const parts = path.slice(jobPrefix(job).length).split('/');
  return parts.length === 3 && RUN_ID.test(parts[1]!) ? parts[1] : undefined;
}

/** What a path inside a job directory is, by its first segment below `<job>/`. */
export type JobPathKind =
  | { readonly area: 'checkpoint-dir'; readonly kind: CheckpointKind; readonly checkpointId: number; readonly isMetadata: boolean }
  | { readonly area: 'shared' }
  | { readonly area: 'taskowned' }
  | { readonly area: 'other' };

const DIR_NAME = /^(chk|savepoint)-(\d{1,15})$/;

/** Classifies a storage path that starts with `<job>/`; undefined if it does not. */
export function classifyJobPath(job: string, path: string): JobPathKind | undefined {
  const prefix = jobPrefix(job);
  if (!path.startsWith(prefix)) return undefined;
  const rest = path.slice(prefix.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return { area: 'other' };
  const first = rest.slice(0, slash);
  if (first === 'shared') return { area: 'shared' };
  if (first === 'taskowned') return { area: 'taskowned' };
  const m = DIR_NAME.exec(first);
  if (m) {
    return {
      area: 'checkpoint-dir',
      kind: m[1] === 'savepoint' ? 'savepoint' : 'checkpoint',
      checkpointId: Number(m[2]),
      isMetadata: rest.slice(slash + 1) === METADATA_FILE,
    };
  }
  return { area: 'other' };
}

/** True if `path` is a syntactically safe storage path strictly inside `<job>/`. */
export function isInsideJob(job: string, path: string): boolean {
  if (!path.startsWith(jobPrefix(job)) || path.length <= job.length + 1) return false;
  if (path.includes('\\') || path.includes('\0')) return false;
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') return false;
  }
  return true;
}

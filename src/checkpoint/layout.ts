/**
 * Where a job's checkpoints live in checkpoint storage (DESIGN.md §2, "Storage layout").
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
 *
 * Savepoint data files may live in `<job>/shared/`, `<job>/taskowned/` or inside
 * `<job>/savepoint-<N>/`; a savepoint is self-contained (never re-references a checkpoint's
 * upload), so it keeps its own files alive and is never subsumed.
 *
 * Paths are storage paths (see src/storage/checkpoint-storage.ts): relative, '/'-separated.
 */
import { ConfigError } from '../util/errors.ts';

export type CheckpointKind = 'checkpoint' | 'savepoint';

export const METADATA_FILE = '_metadata';
export const JOB_MARKER_FILE = '_weir_job';

const JOB_NAME = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;

/** Refuses job names that are not a single safe path segment. */
export function validateJobName(job: string): string {
  if (!JOB_NAME.test(job) || job === '.' || job === '..') {
    throw new ConfigError(`invalid job name ${JSON.stringify(job)}: use letters, digits, '.', '_' and '-' (one path segment)`);
  }
  return job;
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

/** `<job>/chk-<N>/` or `<job>/savepoint-<N>/` (with trailing slash). */
export function checkpointDir(job: string, checkpointId: number, kind: CheckpointKind = 'checkpoint'): string {
  return `${job}/${kind === 'savepoint' ? 'savepoint' : 'chk'}-${checkpointId}/`;
}

export function metadataPath(job: string, checkpointId: number, kind: CheckpointKind = 'checkpoint'): string {
  return `${checkpointDir(job, checkpointId, kind)}${METADATA_FILE}`;
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

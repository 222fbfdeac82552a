/**
 * Reads what a job directory in checkpoint storage holds: its `_metadata` files
 * (completed checkpoints and savepoints), every other object, the highest checkpoint id
 * ever used, and the orphans — objects that no readable `_metadata` references.
 *
 * Orphans come from aborted or failed checkpoints whose cleanup could not run (process
 * crash, FLINK-30461-style late uploads), or from checkpoints subsumed while the process
 * died half-way through deleting. Only objects in the job's own `shared/`, `taskowned/`,
 * `chk-<N>/` and `savepoint-<N>/` are ever orphan candidates; anything else under
 * `<job>/` is left alone. If any `_metadata` cannot be read, nothing may be deleted
 * (we cannot know what it references): `safeToDelete` is false. Temp files of writes
 * that never finished (storage.listTempFiles, local storage only) are orphans too.
 *
 * Ownership: a job directory weir did not create (no `_weir_job` marker, no `_metadata`,
 * yet not empty — e.g. someone's folder that happens to have a `shared/`) is 'foreign';
 * callers must then delete nothing in it (see jobOwnership).
 */
import type { CheckpointStorage, ObjectInfo } from '../storage/checkpoint-storage.ts';
import { ConfigError, errorMessage } from '../util/errors.ts';
import { classifyJobPath, jobMarkerPath, jobPrefix, validateJobName } from '../storage/job-layout.ts';
import { parseMetadata, referencedPaths } from './metadata.ts';
import type { CheckpointMetadata } from './types.ts';

export interface UnreadableMetadata {
  readonly path: string;
  readonly error: Error;
}

export interface JobScan {
  readonly job: string;
  /** Every object under `<job>/`, sorted by path. */
  readonly objects: readonly ObjectInfo[];
  /** Readable `_metadata` files, sorted by checkpoint id. */
  readonly metadata: readonly CheckpointMetadata[];
  readonly unreadable: readonly UnreadableMetadata[];
  /** Highest id of any `chk-<N>`/`savepoint-<N>` directory, with or without `_metadata` (0 if none). */
  readonly maxCheckpointId: number;
  /** Temp files of unfinished writes under `<job>/` (see CheckpointStorage.listTempFiles). */
  readonly temporaries: readonly ObjectInfo[];
  readonly ownership: JobOwnership;
}

/**
 * 'marked': weir's marker is there. 'legacy': no marker but a `_metadata` (a directory
 * from before the marker). 'empty': nothing there. 'foreign': files, but neither — weir
 * did not create this directory and must not delete anything in it.
 */
export type JobOwnership = 'marked' | 'legacy' | 'empty' | 'foreign';

export async function scanJob(storage: CheckpointStorage, job: string): Promise<JobScan> {
  validateJobName(job);
  const objects = await storage.list(jobPrefix(job));
  const metadata: CheckpointMetadata[] = [];
  const unreadable: UnreadableMetadata[] = [];
  let maxCheckpointId = 0;
  for (const o of objects) {
    const kind = classifyJobPath(job, o.path);
    if (kind?.area !== 'checkpoint-dir') continue;
    maxCheckpointId = Math.max(maxCheckpointId, kind.checkpointId);
    if (!kind.isMetadata) continue;
    try {
      const m = parseMetadata(await storage.read(o.path), o.path, job);
      if (m.checkpointId !== kind.checkpointId || m.kind !== kind.kind) {
        throw new ConfigError(`${o.path} describes ${m.kind} ${m.checkpointId}, not the directory it is in`);
      }
      metadata.push(m);
    } catch (err) {
      unreadable.push({ path: o.path, error: err instanceof Error ? err : new Error(errorMessage(err)) });
    }
  }
  metadata.sort((a, b) => a.checkpointId - b.checkpointId);
  const temporaries = (await storage.listTempFiles?.(jobPrefix(job))) ?? [];
  const marker = jobMarkerPath(job);
  // weir's own control files directly in <job>/ ("_lease", "_checkpoint_ids", …: the "_"
  // names are weir's) may be written before the marker; they make a directory neither
  // weir's nor foreign.
  const isControlFile = (path: string): boolean => !path.slice(job.length + 1).includes('/') && path.slice(job.length + 1).startsWith('_');
  const ownership: JobOwnership = objects.some((o) => o.path === marker)
    ? 'marked'
    : metadata.length > 0 || unreadable.length > 0
      ? 'legacy'
      : objects.every((o) => isControlFile(o.path)) && temporaries.every((o) => isControlFile(o.path)) ? 'empty' : 'foreign';
  return { job, objects, metadata, unreadable, maxCheckpointId, temporaries, ownership };
}

/** Writes weir's marker into a job directory weir created (or one from before the marker). */
export async function writeJobMarker(storage: CheckpointStorage, job: string): Promise<void> {
  const body = `${JSON.stringify({ weir: 'job directory', job })}\n`;
  await storage.write(jobMarkerPath(job), new TextEncoder().encode(body));
}

/** The one-line refusal for a 'foreign' job directory. */
export function foreignJobDirectoryError(uri: string, job: string, action: string): ConfigError {
  return new ConfigError(
    `refusing to ${action} ${uri}/${job}/: weir did not create it (no ${jobMarkerPath(job).slice(job.length + 1)} marker, no _metadata); ` +
      'choose another checkpoint directory or job name, or move its files away',
  );
}

/** Objects that no readable `_metadata` references (see the file comment for what is a candidate). */
export function findOrphans(scan: JobScan): ObjectInfo[] {
  const referenced = new Set<string>();
  for (const m of scan.metadata) for (const p of referencedPaths(m)) referenced.add(p);
  const unreadable = new Set(scan.unreadable.map((u) => u.path));
  const out: ObjectInfo[] = [];
  for (const o of scan.objects) {
    const kind = classifyJobPath(scan.job, o.path);
    if (kind === undefined || kind.area === 'other') continue;
    if (referenced.has(o.path) || unreadable.has(o.path)) continue;
    if (kind.area === 'checkpoint-dir' && kind.isMetadata) continue;
    out.push(o);
  }
  // Leftovers of unfinished writes: never referenced (no _metadata names a temp path).
  out.push(...scan.temporaries);
  return out;
}

/** Job names found at the top level of a storage root (directories holding checkpoint data). */
export async function listJobs(storage: CheckpointStorage): Promise<string[]> {
  const jobs = new Set<string>();
  for (const o of await storage.list('')) {
    const slash = o.path.indexOf('/');
    if (slash <= 0) continue;
    const job = o.path.slice(0, slash);
    const kind = classifyJobPath(job, o.path);
    if (kind !== undefined && kind.area !== 'other') jobs.add(job);
  }
  return [...jobs].sort();
}

/**
 * Which checkpoint a job resumes from (`--resume`): "latest", an id, or a path ending in
 * `chk-<N>` / `savepoint-<N>` (optionally `/_metadata`).
 *
 * "latest" never restores silently wrong state and does not give up while an intact
 * retained checkpoint exists: candidates are tried newest first; each is verified (every
 * referenced file downloaded, size and CRC-32C checked against its `_metadata`, whose own
 * checksum was checked when it was parsed) and the first intact one is chosen. Every
 * skipped checkpoint is reported through `warn`, naming the bad file. If none is intact
 * the result is a ConfigError listing why each was refused. A `_metadata` of a NEWER
 * format (written by a newer weir) is never skipped over: that is a ConfigError too.
 *
 * An explicit checkpoint is verified the same way during download by the backends; a
 * path naming another job's directory is refused here.
 */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { ConfigError, CorruptionError, errorMessage } from '../util/errors.ts';
import { verifyCheckpoint } from './inspection.ts';
import { scanJob } from './job-scan.ts';
import type { CheckpointMetadata } from './types.ts';

export interface ResumeSelection {
  readonly metadata: CheckpointMetadata;
  /** Newer checkpoints that were skipped, and why. */
  readonly skipped: readonly { readonly checkpointId: number | undefined; readonly path: string; readonly reason: string }[];
}

export async function selectResumeCheckpoint(
  storage: CheckpointStorage,
  job: string,
  resume: string | number,
  warn: (message: string) => void = () => undefined,
): Promise<ResumeSelection> {
  const scan = await scanJob(storage, job);
  const completed = scan.metadata;
  if (resume === 'latest') {
    const skipped: { checkpointId: number | undefined; path: string; reason: string }[] = [];
    const newest = completed.at(-1)?.checkpointId ?? 0;
    for (const u of scan.unreadable) {
      if (u.error instanceof ConfigError && !(u.error instanceof CorruptionError)) {
        throw new ConfigError(`cannot resume job "${job}": ${u.error.message}`, { cause: u.error });
      }
      const id = /(?:chk|savepoint)-(\d+)\//.exec(u.path);
      const checkpointId = id ? Number(id[1]) : undefined;
      if (checkpointId === undefined || checkpointId > newest) {
        skipped.push({ checkpointId, path: u.path, reason: errorMessage(u.error) });
        warn(`not resuming from ${u.path}: ${errorMessage(u.error)}`);
      }
    }
    const refused: string[] = skipped.map((s) => `${s.path}: ${s.reason}`);
    for (let i = completed.length - 1; i >= 0; i--) {
      const m = completed[i]!;
      const { problems } = await verifyCheckpoint(storage, m);
      if (problems.length === 0) return { metadata: m, skipped };
      const first = problems[0]!;
      const reason = `${first.path}: ${first.problem} (${first.detail})${problems.length > 1 ? ` and ${problems.length - 1} more` : ''}`;
      skipped.push({ checkpointId: m.checkpointId, path: first.path, reason });
      refused.push(`checkpoint ${m.checkpointId}: ${reason}`);
      warn(`checkpoint ${m.checkpointId} cannot be restored: ${reason}; ${i > 0 ? `trying checkpoint ${completed[i - 1]!.checkpointId}` : 'no older checkpoint is retained'}`);
    }
    if (refused.length === 0) throw new ConfigError(`no completed checkpoint of job "${job}" in ${storage.uri}`);
    throw new ConfigError(`no intact checkpoint of job "${job}" in ${storage.uri} to resume from: ${refused.join('; ')}`);
  }
  if (typeof resume === 'string') {
    const other = /(?:^|\/)([^/]+)\/(?:chk|savepoint)-\d+(?:\/_metadata)?\/?$/.exec(resume);
    if (other && other[1] !== job) {
      throw new ConfigError(`--resume ${resume} is a checkpoint of job "${other[1]}", not of this job "${job}" (set --job-name to resume that job)`);
    }
  }
  const m = typeof resume === 'number' ? [String(resume), String(resume)] : /(?:chk|savepoint)-(\d+)(?:\/_metadata)?\/?$/.exec(resume) ?? /^(\d+)$/.exec(resume);
  if (!m) throw new ConfigError(`--resume: expected "latest", a checkpoint id or a path ending in chk-<N>, got "${resume}"`);
  const id = Number(m[1]);
  const found = completed.find((c) => c.checkpointId === id);
  if (!found) {
    const bad = scan.unreadable.find((u) => new RegExp(`(?:chk|savepoint)-${id}/_metadata$`).test(u.path));
    if (bad) throw new ConfigError(`cannot resume from ${bad.path}: ${errorMessage(bad.error)}`, { cause: bad.error });
    throw new ConfigError(`checkpoint ${id} of job "${job}" not found (or not complete) in ${storage.uri}; completed: ${completed.map((c) => c.checkpointId).join(', ') || 'none'}`);
  }
  return { metadata: found, skipped: [] };
}

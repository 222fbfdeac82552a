/**
 * Which checkpoints of a job directory a run owns, i.e. may subsume and delete
 * (Flink's RecoveryClaimMode, adapted to one directory per job).
 *
 * Flink has NO_CLAIM (the default since 1.15: the restored snapshot stays the user's; the
 * job never deletes it and its first checkpoint is a full one, so nothing it writes
 * references the old files) and CLAIM (the job takes the snapshot over: it is subsumed
 * and deleted like the job's own checkpoints once newer ones complete). weir resumes in
 * the SAME job directory and continues incrementally from the restored files, so NO_CLAIM
 * would re-upload every file at the first checkpoint and keep the old ones forever. weir
 * therefore CLAIMS, with two guarantees Flink's CLAIM leaves to the user:
 *
 *  1. The restored checkpoint is owned but pinned: the run deletes it only after a newer
 *     checkpoint OF THIS RUN has completed (the store subsumes only when this run adds a
 *     checkpoint, and never at start).
 *  2. A run owns only the restored checkpoint's lineage — the restored checkpoint, the
 *     older checkpoints of the run that wrote it, and (recursively) what that run had
 *     restored from — plus the checkpoints it completes itself. Everything else in the
 *     directory is foreign and never deleted by this run: checkpoints NEWER than the
 *     restored one (a corrupt newest one `--resume latest` fell back past, or the future
 *     a user stepped back from with `--resume chk-1`), and every checkpoint of a run that
 *     was started with `--fresh`. So retention never deletes an intact checkpoint in
 *     favour of one that failed verification, and a fresh start deletes nothing of the
 *     earlier run. Foreign checkpoints stay registered (their files are referenced, so no
 *     sweep or subsumption takes them) and are not counted for `retained`.
 *
 * `_metadata` files written before runs had ids carry no `runId`: they count as one run
 * (''), so resuming a directory written by an older weir claims all its checkpoints up to
 * the restored one, as before.
 */
import type { CheckpointMetadata } from './types.ts';

/** Who is running: the run id and the checkpoint it restored from (undefined: a fresh start). */
export interface RunIdentity {
  readonly runId: string;
  readonly restoredFrom?: number;
}

function runOf(m: CheckpointMetadata): string {
  return m.runId ?? '';
}

/** Ids of the checkpoints (not savepoints) in `all` that `run` owns (see the file comment). */
export function ownedCheckpointIds(all: readonly CheckpointMetadata[], run: RunIdentity): Set<number> {
  const checkpoints = all.filter((m) => m.kind === 'checkpoint');
  const byId = new Map(all.map((m) => [m.checkpointId, m]));
  const owned = new Set<number>();
  for (const m of checkpoints) if (m.runId === run.runId) owned.add(m.checkpointId);
  // The lineage of the restored checkpoint (a savepoint too: its run's older checkpoints).
  const visitedRuns = new Set<string>();
  let point = run.restoredFrom === undefined ? undefined : byId.get(run.restoredFrom);
  while (point !== undefined) {
    const r = runOf(point);
    const upTo = point.checkpointId;
    if (point.kind === 'checkpoint') owned.add(upTo);
    if (visitedRuns.has(r)) break;
    visitedRuns.add(r);
    for (const m of checkpoints) if (runOf(m) === r && m.checkpointId < upTo) owned.add(m.checkpointId);
    // where the run that wrote `point` had started from (the same for all of its checkpoints)
    const parent = point.restoredFrom;
    point = parent !== undefined && parent < upTo ? byId.get(parent) : undefined;
  }
  return owned;
}

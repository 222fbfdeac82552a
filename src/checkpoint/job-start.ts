/**
 * How a run of a job starts on its checkpoint directory — the one place that decides
 * whether it may start at all, and from what:
 *
 *   1. take the job's lease (job-lease.ts): a second process fails here, naming the holder;
 *   2. look at what the directory holds; with completed checkpoints (or savepoints) and
 *      neither `resume` nor `fresh`, refuse in one line naming both options — a forgotten
 *      flag must never cost the earlier run's state;
 *   3. `resume`: choose the checkpoint (restore-select.ts: "latest" falls back past
 *      corrupt ones); `fresh`: start empty. Either way nothing is deleted here, and a
 *      fresh run owns none of the earlier checkpoints (restore-claim.ts), so it never
 *      deletes them: they stay in the same directory, under their own ids, until the
 *      user removes them;
 *   4. open the job's checkpoint id counter above every id in storage (ids continue
 *      across runs: a fresh run's first checkpoint is not chk-1 again).
 *
 * The run id is new for every start; it names the run's uploads (job-layout.ts), is
 * recorded in its `_metadata` files, and is what the lease and ownership refer to.
 */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { newRunId } from '../storage/job-layout.ts';
import type { Clock } from '../util/clock.ts';
import { ConfigError, errorMessage } from '../util/errors.ts';
import { StorageCheckpointIdCounter } from './checkpoint-id-counter.ts';
import { JobLease } from './job-lease.ts';
import { scanJob } from './job-scan.ts';
import type { RunIdentity } from './restore-claim.ts';
import { selectResumeCheckpoint } from './restore-select.ts';
import type { CheckpointMetadata } from './types.ts';

export interface JobStartOptions {
  readonly storage: CheckpointStorage;
  readonly job: string;
  readonly clock: Clock;
  /** "latest", a checkpoint id, or a path ending in chk-<N> / savepoint-<N>. */
  readonly resume?: string | number;
  /** Start with empty state although the directory holds checkpoints (they are kept). */
  readonly fresh?: boolean;
  /** Default: a new one. */
  readonly runId?: string;
  readonly leaseTtlMs?: number;
  /** For tests: liveness of a pid on this host, and the host name. */
  readonly isAlive?: (pid: number) => boolean;
  readonly host?: string;
  readonly pid?: number;
  /** Ids reserved per write of the counter. */
  readonly idBlock?: number;
  readonly warn?: (message: string) => void;
}

export interface JobStart {
  readonly run: RunIdentity;
  readonly restoreFrom: CheckpointMetadata | undefined;
  readonly lease: JobLease;
  readonly ids: StorageCheckpointIdCounter;
  /** End of the run: record the next id (no gap for the next run), release the lease. */
  close(): Promise<void>;
}

/** The one-line refusal when a directory with checkpoints is started without --resume or --fresh. */
export function startWithoutChoiceMessage(job: string, uri: string, newest: string): string {
  return `job "${job}" already has checkpoints in ${uri} (newest ${newest}): pass --resume latest to continue from them, or --fresh to start over with empty state (nothing is deleted; StreamEnvironment options resume: 'latest' / fresh: true)`;
}

export async function startJobRun(o: JobStartOptions): Promise<JobStart> {
  if (o.resume !== undefined && o.fresh === true) {
    throw new ConfigError('--resume and --fresh exclude each other: resume continues from a checkpoint, fresh starts with empty state');
  }
  const warn = o.warn ?? (() => undefined);
  const runId = o.runId ?? newRunId();
  const lease = await JobLease.acquire({
    storage: o.storage, job: o.job, runId, clock: o.clock, onWarning: warn,
    ...(o.leaseTtlMs !== undefined ? { ttlMs: o.leaseTtlMs } : {}),
    ...(o.isAlive ? { isAlive: o.isAlive } : {}),
    ...(o.host !== undefined ? { host: o.host } : {}),
    ...(o.pid !== undefined ? { pid: o.pid } : {}),
  });
  try {
    const scan = await scanJob(o.storage, o.job);
    let restoreFrom: CheckpointMetadata | undefined;
    if (o.resume === undefined) {
      if (o.fresh !== true && (scan.metadata.length > 0 || scan.unreadable.length > 0)) {
        const newest = scan.metadata.at(-1);
        const name = newest ? `${newest.kind === 'savepoint' ? 'savepoint' : 'chk'}-${newest.checkpointId}` : scan.unreadable[0]!.path;
        throw new ConfigError(startWithoutChoiceMessage(o.job, o.storage.uri, name));
      }
    } else if (o.resume === 'latest' && scan.metadata.length === 0 && scan.unreadable.length === 0) {
      // Start from the beginning only when nothing was ever completed (unreadable `_metadata` files must not be skipped silently).
      warn(`no completed checkpoint of job "${o.job}" in ${o.storage.uri}: starting from the beginning`);
    } else {
      restoreFrom = (await selectResumeCheckpoint(o.storage, o.job, o.resume, warn)).metadata;
    }
    const ids = await StorageCheckpointIdCounter.open({
      storage: o.storage, job: o.job, clock: o.clock, onWarning: warn, ...(o.idBlock !== undefined ? { block: o.idBlock } : {}),
    });
    await ids.advanceTo(scan.maxCheckpointId + 1);
    const run: RunIdentity = restoreFrom ? { runId, restoredFrom: restoreFrom.checkpointId } : { runId };
    let closed = false;
    return {
      run,
      restoreFrom,
      lease,
      ids,
      close: async () => {
        if (closed) return;
        closed = true;
        try {
          if (lease.lostTo === undefined) await ids.close();
        } catch (err) {
          warn(`could not record the next checkpoint id: ${errorMessage(err)}`);
        }
        await lease.release();
      },
    };
  } catch (err) {
    await lease.release().catch(() => undefined);
    throw err;
  }
}

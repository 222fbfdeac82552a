/**
 * JobLease: one writer per job directory (DESIGN.md §3.12).
 *
 * A run (one start of a job) holds `<job>/_lease` (src/storage/job-layout.ts) while it
 * may write, sweep or delete anything under `<job>/`. The lease is a small JSON record
 * naming its holder — run id, pid, host, start time, last heartbeat, time to live — so
 * a second process fails at start with one line naming the holder instead of sweeping
 * the first one's uploads and numbering checkpoints from 1 again.
 *
 * Acquire: read the lease; if there is none, `storage.create()` it (exclusive: local
 * link(2), S3 `If-None-Match: *`). If the lease exists, its holder is live unless
 *   - it is on this host and its pid is gone (a crashed or killed process), or
 *   - its heartbeat is older than its time to live (a holder on another host, or a pid
 *     that was reused).
 * A stale lease is deleted and created again (exclusively). After creating, the record is
 * read back and must name this run: on a store that ignores `If-None-Match` (s3rver does
 * for PutObject) two simultaneous creators both "succeed", and the read-back catches the
 * one whose record was overwritten.
 *
 * Holding: the holder rewrites its record every ttl/3 (heartbeat), first reading it
 * back: a record naming another run means the lease was taken over (this run was
 * paused past its ttl): `lost` becomes true and verify() throws from then on. The
 * coordinator calls verify() before publishing every `_metadata` (fencing: a run that
 * lost its lease never completes another checkpoint).
 *
 * Release: stop the heartbeat, delete the record if it still names this run.
 */
import { hostname } from 'node:os';
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { leasePath, validateRunId } from '../storage/job-layout.ts';
import type { Clock, TimerHandle } from '../util/clock.ts';
import { AlreadyExistsError, ConfigError, NotFoundError, errorMessage } from '../util/errors.ts';
import { retryTransient } from './transient-retry.ts';

export interface LeaseRecord {
  readonly version: 1;
  readonly runId: string;
  readonly pid: number;
  readonly host: string;
  readonly startedAt: number;
  readonly renewedAt: number;
  readonly ttlMs: number;
}

/** The job directory is held by another live run (or this run lost its lease). */
export class JobLeaseError extends ConfigError {}

export interface JobLeaseOptions {
  readonly storage: CheckpointStorage;
  readonly job: string;
  readonly runId: string;
  readonly clock: Clock;
  /** A lease whose heartbeat is older than this is stale. Default 30 s. */
  readonly ttlMs?: number;
  readonly pid?: number;
  readonly host?: string;
  /** Whether a process of this host is alive. Default: process.kill(pid, 0). */
  readonly isAlive?: (pid: number) => boolean;
  /** Heartbeat problems (the run goes on; verify() decides). */
  readonly onWarning?: (message: string) => void;
}

export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class JobLease {
  readonly path: string;
  private record: LeaseRecord;
  private timer: TimerHandle | undefined;
  private renewing: Promise<void> = Promise.resolve();
  private released = false;
  /** Set when a heartbeat found another run's record: this run must not publish anything any more. */
  lostTo: LeaseRecord | undefined;

  private constructor(private readonly o: JobLeaseOptions, record: LeaseRecord) {
    this.path = leasePath(o.job);
    this.record = record;
  }

  get runId(): string {
    return this.record.runId;
  }

  get ttlMs(): number {
    return this.record.ttlMs;
  }

  /** Takes the lease or throws JobLeaseError naming the live holder. */
  static async acquire(o: JobLeaseOptions): Promise<JobLease> {
    validateRunId(o.runId);
    const now = o.clock.now();
    const record: LeaseRecord = {
      version: 1,
      runId: o.runId,
      pid: o.pid ?? process.pid,
      host: o.host ?? hostname(),
      startedAt: now,
      renewedAt: now,
      ttlMs: o.ttlMs ?? 30_000,
    };
    const lease = new JobLease(o, record);
    for (let attempt = 1; attempt <= 3; attempt++) {
      // Look first: a store that ignores If-None-Match (s3rver) would let the create overwrite a live holder.
      const holder = await lease.readRecord();
      if (holder !== undefined) {
        if (holder.runId === o.runId) {
          // our own create landed but its answer was lost (a retried S3 PutObject answers 412)
          lease.schedule();
          return lease;
        }
        const stale = lease.staleReason(holder);
        if (stale === undefined) throw lease.heldError(holder);
        o.onWarning?.(`taking over the lease of run ${holder.runId} (${stale})`);
        await retryTransient(o.clock, () => o.storage.delete(lease.path));
        continue;
      }
      if (await lease.tryCreate()) {
        const back = await lease.readRecord();
        if (back?.runId !== o.runId) throw lease.heldError(back, 'it was created at the same moment by another process');
        lease.schedule();
        return lease;
      }
      // AlreadyExists: another process created it between our look and our create; look again.
    }
    throw lease.heldError(await lease.readRecord(), 'could not take it after 3 attempts');
  }

  /** Fencing check before publishing: throws JobLeaseError if this run no longer holds the lease. */
  async verify(): Promise<void> {
    if (this.lostTo !== undefined) throw this.lostError(this.lostTo);
    const back = await this.readRecord();
    if (back?.runId !== this.record.runId) {
      this.lostTo = back ?? { ...this.record, runId: '(none)' };
      throw this.lostError(this.lostTo);
    }
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.timer?.cancel();
    this.timer = undefined;
    await this.renewing;
    if (this.lostTo !== undefined) return;
    const back = await this.readRecord().catch(() => undefined);
    if (back?.runId === this.record.runId) await retryTransient(this.o.clock, () => this.o.storage.delete(this.path));
  }

  // ---- internals --------------------------------------------------------------------------

  private async tryCreate(): Promise<boolean> {
    const bytes = encode(this.record);
    const s = this.o.storage;
    try {
      if (s.create !== undefined) await retryTransient(this.o.clock, () => s.create!(this.path, bytes));
      else {
        // No exclusive create in this storage: check, then write; the read-back in acquire() decides.
        if ((await retryTransient(this.o.clock, () => s.stat(this.path))) !== undefined) return false;
        await retryTransient(this.o.clock, () => s.write(this.path, bytes));
      }
      return true;
    } catch (err) {
      if (err instanceof AlreadyExistsError) return false;
      throw err;
    }
  }

  private async readRecord(): Promise<LeaseRecord | undefined> {
    let bytes: Uint8Array;
    try {
      bytes = await retryTransient(this.o.clock, () => this.o.storage.read(this.path));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
    try {
      const r = JSON.parse(new TextDecoder().decode(bytes)) as Partial<LeaseRecord>;
      if (typeof r.runId !== 'string' || typeof r.pid !== 'number' || typeof r.host !== 'string'
        || typeof r.renewedAt !== 'number' || typeof r.ttlMs !== 'number' || typeof r.startedAt !== 'number') {
        throw new Error('missing fields');
      }
      return r as LeaseRecord;
    } catch (err) {
      throw new JobLeaseError(`${this.o.storage.uri}/${this.path} is not a weir lease (${errorMessage(err)}); delete it if no weir process runs this job`);
    }
  }

  /** Why the holder is no longer live, or undefined if it is. */
  private staleReason(h: LeaseRecord): string | undefined {
    const age = this.o.clock.now() - h.renewedAt;
    if (age > h.ttlMs) return `no heartbeat for ${Math.round(age / 1000)} s`;
    const host = this.o.host ?? hostname();
    const alive = this.o.isAlive ?? processIsAlive;
    if (h.host === host && !alive(h.pid)) return `pid ${h.pid} is not running`;
    return undefined;
  }

  private heldError(h: LeaseRecord | undefined, why?: string): JobLeaseError {
    const where = `${this.o.storage.uri}/${this.o.job}`;
    if (h === undefined) return new JobLeaseError(`cannot take the lease of job "${this.o.job}" in ${where}${why ? `: ${why}` : ''}`);
    const beat = Math.max(0, Math.round((this.o.clock.now() - h.renewedAt) / 1000));
    return new JobLeaseError(
      `job "${this.o.job}" in ${where} is in use by run ${h.runId} (pid ${h.pid} on ${h.host}, started ${new Date(h.startedAt).toISOString()}, heartbeat ${beat} s ago)${why ? `, ${why}` : ''}: stop that process first, or if it is gone wait ${Math.round(h.ttlMs / 1000)} s or delete ${where}/_lease`,
    );
  }

  private lostError(h: LeaseRecord): JobLeaseError {
    return new JobLeaseError(`run ${this.record.runId} lost the lease of job "${this.o.job}" to run ${h.runId} (pid ${h.pid} on ${h.host}); it publishes nothing more`);
  }

  private schedule(): void {
    if (this.released || this.lostTo !== undefined) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      this.renewing = this.renew().finally(() => this.schedule());
    }, Math.max(1, Math.floor(this.record.ttlMs / 3)));
  }

  private async renew(): Promise<void> {
    if (this.released) return;
    try {
      const back = await this.readRecord();
      if (back?.runId !== this.record.runId) {
        this.lostTo = back ?? { ...this.record, runId: '(none)' };
        this.o.onWarning?.(this.lostError(this.lostTo).message);
        return;
      }
      const next: LeaseRecord = { ...this.record, renewedAt: this.o.clock.now() };
      await retryTransient(this.o.clock, () => this.o.storage.write(this.path, encode(next)));
      this.record = next;
    } catch (err) {
      this.o.onWarning?.(`lease heartbeat of job "${this.o.job}" failed: ${errorMessage(err)}`);
    }
  }
}

function encode(r: LeaseRecord): Uint8Array {
  return new TextEncoder().encode(`${JSON.stringify(r)}\n`);
}

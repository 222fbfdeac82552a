/**
 * Executes flush and compaction jobs: on a worker thread (WorkerJobRunner, default) or
 * on the calling thread (InlineJobRunner, useWorker: false — same code, run from an
 * async job so the caller's await points are the same).
 *
 * The worker runs compaction-worker.js directly from the built package, or the .ts
 * source through tsx when weir runs from its sources (util/module-worker.ts).
 * A flush's buffers (the memtable image, or an encoded payload) are transferred, not copied.
 */
import type { Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker } from '../../util/module-worker.ts';
import { CorruptionError, PermanentStorageError } from '../../util/errors.ts';
import { runFlush } from './run-flush.ts';
import { runCompaction } from './run-compaction.ts';
import type { Job, JobResult } from './job-types.ts';
import { flushImageBuffers } from '../memtable/memtable.ts';
import { realFs } from '../vfs/real-fs.ts';
import type { Vfs } from '../vfs/vfs.ts';

export interface JobRunner {
  /** True when jobs run on another thread: the store then hands a flush the memtable image to sort and encode there. */
  readonly offThread: boolean;
  run(job: Job): Promise<JobResult>;
  close(): Promise<void>;
}

interface SerializedError {
  name: string;
  message: string;
  stack?: string | undefined;
  file?: string;
  offset?: number | undefined;
}

export function serializeError(err: unknown): SerializedError {
  if (err instanceof CorruptionError) return { name: err.name, message: err.message, stack: err.stack, file: err.file, offset: err.offset };
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: 'Error', message: String(err) };
}

function deserializeError(e: SerializedError): Error {
  if (e.name === 'CorruptionError' && e.file !== undefined) {
    const detail = e.message.replace(/^corruption in .*?: /, '');
    return new CorruptionError(e.file, e.offset, detail);
  }
  const inner = new Error(e.message);
  inner.name = e.name;
  if (e.stack !== undefined) inner.stack = e.stack;
  return new PermanentStorageError(`LSM background job failed: ${e.message}`, { cause: inner });
}

export class InlineJobRunner implements JobRunner {
  readonly offThread = false;
  private readonly fs: Vfs;
  /** `fs`: the store's file system (the worker thread always uses the real one). */
  constructor(fs: Vfs = realFs) {
    this.fs = fs;
  }
  async run(job: Job): Promise<JobResult> {
    await Promise.resolve();
    return job.kind === 'flush' ? runFlush(job, this.fs) : runCompaction(job, this.fs);
  }
  async close(): Promise<void> {}
}

export class WorkerJobRunner implements JobRunner {
  readonly offThread = true;
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: JobResult) => void; reject: (e: unknown) => void }>();
  failed: Error | null = null;

  constructor() {
    this.worker = startModuleWorker(siblingModule(import.meta.url, 'compaction-worker'));
    this.worker.unref();
    this.worker.on('message', (msg: { id: number; ok: boolean; result?: JobResult; error?: SerializedError }) => {
      const p = this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result!);
      else p.reject(deserializeError(msg.error!));
    });
    const fail = (err: Error): void => {
      this.failed = new PermanentStorageError(`LSM worker thread died: ${err.message}`, { cause: err });
      for (const p of this.pending.values()) p.reject(this.failed);
      this.pending.clear();
    };
    this.worker.on('error', fail);
    this.worker.on('exit', (code) => {
      if (this.pending.size > 0) fail(new Error(`worker exited with code ${code}`));
    });
  }

  run(job: Job): Promise<JobResult> {
    if (this.failed !== null) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise<JobResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      const transfer = job.kind !== 'flush' ? [] : 'buffer' in job.payload ? [job.payload.buffer] : flushImageBuffers(job.payload);
      this.worker.postMessage({ id, job }, transfer);
    }).finally(() => {
      if (this.pending.size === 0) this.worker.unref();
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}

/** The background lanes: flushes and compactions never share a thread (docs/lsm.md "Flush and compaction"). */
export type JobLane = 'flush' | 'compaction';

const shared = new Map<JobLane, { runner: WorkerJobRunner; refs: number }>();

/**
 * One worker thread per lane, shared by every store of the process: flushes of all
 * stores queue on the flush thread, compactions on the compaction thread, so a flush
 * (which a checkpoint waits for) never waits behind a compaction — RocksDB's separate
 * high-priority flush pool. Jobs of different stores queue in the lane's thread in
 * message order (a job is seconds of CPU at most; the machines weir targets have few
 * cores; one thread per store would cost ~40 MB and a module load each).
 * close() of the lane's last user terminates its thread.
 */
export function sharedWorkerRunner(lane: JobLane): JobRunner {
  let s = shared.get(lane);
  if (s === undefined || s.runner.failed !== null) {
    s = { runner: new WorkerJobRunner(), refs: 0 };
    shared.set(lane, s);
  }
  const mine = s;
  mine.refs++;
  let closed = false;
  return {
    offThread: true,
    run: (job) => mine.runner.run(job),
    close: async () => {
      if (closed) return;
      closed = true;
      mine.refs--;
      // The last user ends the thread: a worker left alive (even unref'd, with a job in
      // flight it is ref'd) kept finished `weir run` processes from exiting.
      if (mine.refs === 0) {
        if (shared.get(lane) === mine) shared.delete(lane);
        await mine.runner.close();
      }
    },
  };
}

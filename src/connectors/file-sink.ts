/**
 * Exactly-once file sink (two-phase commit over a directory).
 *
 *   write          records are buffered and appended to this subtask's in-progress
 *                  part file `.part-<subtask>-<txid>.inprogress` (hidden: not committed).
 *   pre-commit     at the barrier of checkpoint n the part file is closed (its rest
 *                  written and fsynced off the task's path — the checkpoint is
 *                  acknowledged after that) and becomes a pending transaction
 *                  {tmp, final, n}; the operator state lists every pending transaction.
 *   commit         on notifyCheckpointComplete(m): every pending transaction with
 *                  n <= m is renamed to its final name `part-<subtask>-<txid>` and the
 *                  directory fsynced.
 *   re-commit      after a restore, the transactions of the restored checkpoint are
 *                  committed again (idempotent: a tmp file still there is renamed; a final
 *                  file already there was committed before the crash). The pending list
 *                  is 'union' state: every subtask sees every transaction (renaming the
 *                  same file twice is harmless), so each subtask can then delete the
 *                  in-progress files of its own index (subtask 0: also of indices beyond
 *                  the new parallelism) that no restored transaction names — leftovers of
 *                  the attempt that crashed, never to be committed.
 *
 * Committed files are those whose names do not start with '.' or '_'. A record is in a
 * committed file iff the checkpoint after it completed; records after the restored
 * checkpoint are replayed by the source into new transactions, and their old
 * in-progress files are never committed — so committed output has no duplicates.
 *
 * Without checkpointing, finish() (end of input) commits everything.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Sink, SinkContext, SinkSnapshot, SinkWriter } from '../api/index.ts';
import { ConfigError } from '../util/errors.ts';

/** Options of {@link FileSink}. */
export interface FileSinkOptions<T> {
  /** Output directory (created when missing). Committed files are `part-<subtask>-<txid>`; names starting with '.' are in progress. */
  readonly directory: string;
  /** One line per record (no trailing newline). Default JSON.stringify. */
  readonly format?: (value: T) => string;
  /** Buffered bytes before an append to the part file. Default 1 MiB. */
  readonly bufferBytes?: number;
}

interface Transaction {
  readonly tmp: string;
  readonly final: string;
  readonly checkpointId: number;
}

/**
 * Exactly-once sink into files of a directory: one line per record, committed (renamed
 * into place) when the checkpoint after the record completes, or at the end of input
 * without checkpointing.
 */
export class FileSink<T> implements Sink<T> {
  /** Operator name: "file-sink". */
  readonly name = 'file-sink';
  /** @param options - the directory, the line format and the write buffer size */
  constructor(readonly options: FileSinkOptions<T>) {}

  async createWriter(ctx: SinkContext): Promise<SinkWriter<T>> {
    await mkdir(this.options.directory, { recursive: true });
    const w = new FileSinkWriter<T>(this.options, ctx);
    const restored = (ctx.restoredState ?? []) as Transaction[];
    await w.recommit(restored);
    await w.removeLeftovers(new Set(restored.map((t) => t.tmp)));
    return w;
  }
}

class FileSinkWriter<T> implements SinkWriter<T> {
  private readonly dir: string;
  private readonly format: (value: T) => string;
  private readonly bufferBytes: number;
  private lines: string[] = [];
  private buffered = 0;
  private current: { name: string; fh: Promise<FileHandle>; bytes: number } | undefined;
  /** Appends to the current part file, in order. */
  private chain: Promise<void> = Promise.resolve();
  private chainBusy = false;
  private failure: Error | undefined;
  private pending: Transaction[] = [];

  constructor(o: FileSinkOptions<T>, private readonly ctx: SinkContext) {
    this.dir = o.directory;
    this.format = o.format ?? ((v) => JSON.stringify(v));
    this.bufferBytes = o.bufferBytes ?? 1 << 20;
  }

  async recommit(txs: readonly Transaction[]): Promise<void> {
    for (const tx of txs) {
      if (typeof tx.tmp !== 'string' || typeof tx.final !== 'string' || tx.tmp.includes('/') || tx.final.includes('/')) {
        throw new ConfigError(`file sink: bad transaction in restored state: ${JSON.stringify(tx)}`);
      }
      await this.commit(tx);
    }
    if (txs.length > 0) await fsyncDir(this.dir);
  }

  /** Deletes this subtask's in-progress files that no restored transaction names (see the file comment). */
  async removeLeftovers(keep: ReadonlySet<string>): Promise<void> {
    const { subtaskIndex, parallelism } = this.ctx;
    for (const name of await readdir(this.dir)) {
      const m = /^\.part-(\d+)-[0-9a-f]+\.inprogress$/.exec(name);
      if (!m || keep.has(name)) continue;
      const index = Number(m[1]);
      if (index === subtaskIndex || (subtaskIndex === 0 && index >= parallelism)) await rm(join(this.dir, name), { force: true });
    }
  }

  private async commit(tx: Transaction): Promise<void> {
    try {
      await rename(join(this.dir, tx.tmp), join(this.dir, tx.final));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Already committed (before a crash)? Then the final file exists.
      const s = await stat(join(this.dir, tx.final)).catch(() => undefined);
      if (!s) throw new ConfigError(`file sink: transaction ${tx.tmp} of checkpoint ${tx.checkpointId} is lost (neither ${tx.tmp} nor ${tx.final} exists in ${this.dir})`, { cause: err });
    }
  }

  write(value: T): void {
    if (this.failure !== undefined) throw this.failure;
    const line = this.format(value) + '\n';
    this.lines.push(line);
    this.buffered += line.length;
    if (this.buffered >= this.bufferBytes) this.flush();
  }

  backpressure(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return this.chainBusy ? this.chain : undefined;
  }

  /** Queues the buffered lines for appending to the current part file. */
  private flush(): void {
    if (this.lines.length === 0) return;
    const data = this.lines.join('');
    this.lines = [];
    this.buffered = 0;
    if (!this.current) {
      const name = `part-${this.ctx.subtaskIndex}-${randomBytes(8).toString('hex')}`;
      const fh = open(join(this.dir, `.${name}.inprogress`), 'wx');
      void fh.catch(() => undefined);
      this.current = { name, fh, bytes: 0 };
    }
    const cur = this.current;
    cur.bytes += data.length;
    void this.enqueue(async () => {
      const fh = await cur.fh;
      await fh.write(data);
    });
  }

  private enqueue(step: () => Promise<void>): Promise<void> {
    this.chainBusy = true;
    const next = this.chain.then(step);
    this.chain = next.then(
      () => {
        if (this.chain === settled) this.chainBusy = false;
      },
      (err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(String(err));
        this.chainBusy = false;
      },
    );
    const settled = this.chain;
    return next;
  }

  snapshotState(checkpointId: number): SinkSnapshot {
    if (this.failure !== undefined) throw this.failure;
    this.flush();
    let done: Promise<void> | undefined;
    const cur = this.current;
    if (cur) {
      this.current = undefined;
      const tx: Transaction = { tmp: `.${cur.name}.inprogress`, final: cur.name, checkpointId };
      this.pending.push(tx);
      done = this.enqueue(async () => {
        const fh = await cur.fh;
        await fh.sync();
        await fh.close();
      });
    }
    return { items: this.pending.map((t) => ({ ...t })), mode: 'union', ...(done ? { done } : {}) };
  }

  async notifyCheckpointComplete(checkpointId: number): Promise<void> {
    const due = this.pending.filter((t) => t.checkpointId <= checkpointId);
    if (due.length === 0) return;
    await this.chain;
    if (this.failure !== undefined) throw this.failure;
    for (const tx of due) await this.commit(tx);
    await fsyncDir(this.dir);
    this.pending = this.pending.filter((t) => t.checkpointId > checkpointId);
  }

  async finish(): Promise<void> {
    if (this.ctx.checkpointingEnabled) return;
    const snap = this.snapshotState(Number.MAX_SAFE_INTEGER);
    await snap.done;
    await this.notifyCheckpointComplete(Number.MAX_SAFE_INTEGER);
  }

  async close(): Promise<void> {
    const cur = this.current;
    this.current = undefined;
    await this.chain;
    if (cur) await (await cur.fh.catch(() => undefined))?.close().catch(() => undefined);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

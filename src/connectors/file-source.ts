/**
 * Reads a text file line by line (UTF-8, '\n' or '\r\n'). The byte offset of the next
 * line to emit is the operator state, so a restore resumes exactly after the last line
 * whose effects the checkpoint holds. One split (parallelism 1).
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { PollResult, Source, SourceContext, SourceOutput, SourceReader } from '../api/index.ts';
import { ConfigError } from '../util/errors.ts';

const CHUNK = 1 << 20;

/**
 * Reads a UTF-8 text file line by line (without the line ends), with the byte offset in
 * checkpoints; a bounded source (ends at the end of the file). A missing file fails the
 * job with a ConfigError.
 */
export class FileSource implements Source<string> {
  /** Operator name; default "file-source". */
  readonly name: string;
  /** One reader: a file is one split. */
  readonly maxParallelism = 1;

  /**
   * @param path - the file to read
   * @param name - operator name (default "file-source")
   */
  constructor(readonly path: string, name?: string) {
    this.name = name ?? 'file-source';
  }

  createReader(ctx: SourceContext): SourceReader<string> {
    let offset = 0;
    if (ctx.restoredState) {
      const item = ctx.restoredState[0] as { path?: string; offset?: number } | undefined;
      if (ctx.subtaskIndex === 0 && item === undefined) throw new ConfigError(`file source ${this.path}: restored state has no offset`);
      offset = item?.offset ?? 0;
      if (item?.path !== undefined && item.path !== this.path) {
        throw new ConfigError(`file source: checkpoint was reading ${item.path}, this job reads ${this.path}`);
      }
    }
    return new FileReader(this.path, offset, ctx.subtaskIndex === 0);
  }
}

class FileReader implements SourceReader<string> {
  private fh: FileHandle | undefined;
  /** Bytes read from the file but not yet emitted start at `offset` (the state). */
  private buf: Buffer = Buffer.alloc(0);
  private pos = 0;
  private readOffset: number;
  private eof = false;
  private reading: Promise<void> | undefined;
  private error: Error | undefined;

  constructor(
    private readonly path: string,
    private offset: number,
    private readonly active: boolean,
  ) {
    this.readOffset = offset;
  }

  poll(out: SourceOutput<string>, max: number): PollResult {
    if (!this.active) return 'end';
    if (this.error !== undefined) throw this.error;
    let n = 0;
    const buf = this.buf;
    while (n < max) {
      const nl = buf.indexOf(10, this.pos);
      if (nl < 0) break;
      let end = nl;
      if (end > this.pos && buf[end - 1] === 13) end--;
      const line = buf.toString('utf8', this.pos, end);
      this.offset += nl + 1 - this.pos;
      this.pos = nl + 1;
      out.collect(line);
      n++;
    }
    if (n > 0) return 'more';
    if (this.eof) {
      if (this.pos < buf.length) {
        const line = buf.toString('utf8', this.pos);
        this.offset += buf.length - this.pos;
        this.pos = buf.length;
        out.collect(line);
        return 'more';
      }
      return 'end';
    }
    this.reading ??= this.readMore().then(
      () => { this.reading = undefined; },
      (err: unknown) => { this.reading = undefined; this.error = err instanceof Error ? err : new Error(String(err)); },
    );
    return this.reading;
  }

  private async readMore(): Promise<void> {
    this.fh ??= await open(this.path, 'r').catch((err: unknown) => {
      throw new ConfigError(`cannot open input ${this.path}: ${(err as Error).message}`, { cause: err });
    });
    const chunk = Buffer.allocUnsafe(CHUNK);
    const { bytesRead } = await this.fh.read(chunk, 0, CHUNK, this.readOffset);
    if (bytesRead === 0) {
      this.eof = true;
      return;
    }
    this.readOffset += bytesRead;
    const rest = this.buf.subarray(this.pos);
    this.buf = Buffer.concat([rest, chunk.subarray(0, bytesRead)]);
    this.pos = 0;
  }

  snapshotState(): unknown[] {
    return this.active ? [{ path: this.path, offset: this.offset }] : [];
  }

  async close(): Promise<void> {
    await this.reading;
    await this.fh?.close();
  }
}

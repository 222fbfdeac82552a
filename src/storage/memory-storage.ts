/**
 * CheckpointStorage in memory, for tests of the layers above (and as the reference the
 * contract suite checks the others against). Objects are copied on write and on read,
 * so a caller mutating its buffer can never change a stored object.
 */
import { AlreadyExistsError, NotFoundError, PermanentStorageError } from '../util/errors.ts';
import type { CheckpointStorage, ObjectInfo, WriteResult } from './checkpoint-storage.ts';
import { checkLocalSource, checksumBytes, fileChunks, writeFileAtomically } from './local-files.ts';
import type { Expectation } from './local-files.ts';
import { comparePaths, validateDeletePrefix, validatePath, validatePrefix } from './paths.ts';
import type { StreamingWrite } from './streaming-write.ts';

let instances = 0;

export class MemoryStorage implements CheckpointStorage, StreamingWrite {
  readonly uri: string;
  /** path → bytes. Owned by this object; only write*()/delete*() change it. */
  private readonly objects = new Map<string, Uint8Array>();
  private closed = false;

  constructor(options: { name?: string } = {}) {
    this.uri = `memory://${options.name ?? `mem-${++instances}`}`;
  }

  async write(path: string, data: Uint8Array): Promise<WriteResult> {
    this.open();
    validatePath(path);
    const copy = Uint8Array.from(data);
    this.objects.set(path, copy);
    return checksumBytes(copy);
  }

  async create(path: string, data: Uint8Array): Promise<WriteResult> {
    this.open();
    validatePath(path);
    if (this.objects.has(path)) throw new AlreadyExistsError(path);
    const copy = Uint8Array.from(data);
    this.objects.set(path, copy);
    return checksumBytes(copy);
  }

  async writeFile(path: string, localFile: string): Promise<WriteResult> {
    this.open();
    validatePath(path);
    await checkLocalSource(localFile);
    return this.writeStream(path, fileChunks(localFile));
  }

  async writeStream(path: string, source: AsyncIterable<Uint8Array>): Promise<WriteResult> {
    this.open();
    validatePath(path);
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of source) {
      chunks.push(Uint8Array.from(chunk));
      size += chunk.length;
    }
    const data = new Uint8Array(size);
    let off = 0;
    for (const c of chunks) {
      data.set(c, off);
      off += c.length;
    }
    // Published only now, after the whole source was read: a failing source leaves nothing.
    this.objects.set(path, data);
    return checksumBytes(data);
  }

  async read(path: string): Promise<Uint8Array> {
    this.open();
    validatePath(path);
    const data = this.objects.get(path);
    if (!data) throw new NotFoundError(`${this.uri}/${path}`);
    return Uint8Array.from(data);
  }

  async readToFile(path: string, localFile: string, expect?: Expectation): Promise<void> {
    const data = await this.read(path);
    await writeFileAtomically(localFile, [data], `${this.uri}/${path}`, expect);
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    this.open();
    validatePath(path);
    const data = this.objects.get(path);
    return data ? { path, size: data.length } : undefined;
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    this.open();
    validatePrefix(prefix);
    const out: ObjectInfo[] = [];
    for (const [path, data] of this.objects) {
      if (path.startsWith(prefix)) out.push({ path, size: data.length });
    }
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  async delete(path: string): Promise<void> {
    this.open();
    validatePath(path);
    this.objects.delete(path);
  }

  async deletePrefix(prefix: string): Promise<void> {
    this.open();
    validateDeletePrefix(prefix);
    for (const path of [...this.objects.keys()]) {
      if (path.startsWith(prefix)) this.objects.delete(path);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** Test helper: bytes stored in total. */
  totalBytes(): number {
    let n = 0;
    for (const data of this.objects.values()) n += data.length;
    return n;
  }

  /** Test helper: corrupt a stored object in place (flip one byte), to test checksum verification. */
  corrupt(path: string, offset = 0): void {
    const data = this.objects.get(path);
    if (!data || offset >= data.length) throw new NotFoundError(`${this.uri}/${path}`);
    data[offset] = data[offset]! ^ 0xff;
  }

  private open(): void {
    if (this.closed) throw new PermanentStorageError(`${this.uri} is closed`);
  }
}

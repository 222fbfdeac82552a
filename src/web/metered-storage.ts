/**
 * MeteredStorage: a CheckpointStorage wrapper that counts what goes through it (bytes
 * uploaded, downloaded, deleted; objects written, read, deleted) for `/metrics`. It
 * changes nothing: every call is forwarded as is, errors included.
 *
 * Deleted bytes: a delete carries no size, so the wrapper remembers the size of every
 * object written or listed through it (path → size) and counts that; a delete of an
 * object it never saw counts as an object with 0 bytes. The map forgets deleted paths,
 * so it holds at most the objects alive in storage that this process has seen.
 */
import { stat } from 'node:fs/promises';
import type { CheckpointStorage, ObjectInfo, WriteResult } from '../storage/checkpoint-storage.ts';
import { supportsStreamingWrite } from '../storage/streaming-write.ts';
import { PermanentStorageError } from '../util/errors.ts';

export interface StorageCounters {
  bytesUploaded: number;
  bytesDownloaded: number;
  bytesDeleted: number;
  objectsWritten: number;
  objectsRead: number;
  objectsDeleted: number;
  failedOperations: number;
}

export class MeteredStorage implements CheckpointStorage {
  readonly counters: StorageCounters = {
    bytesUploaded: 0, bytesDownloaded: 0, bytesDeleted: 0, objectsWritten: 0, objectsRead: 0, objectsDeleted: 0, failedOperations: 0,
  };
  private readonly sizes = new Map<string, number>();
  /** Present exactly when the inner storage streams writes (the capability is kept, not invented). */
  readonly writeStream?: (path: string, source: AsyncIterable<Uint8Array>) => Promise<WriteResult>;

  constructor(readonly inner: CheckpointStorage) {
    if (supportsStreamingWrite(inner)) {
      this.writeStream = async (path, source) => {
        const r = await this.count(inner.writeStream(path, source));
        this.wrote(path, r.size);
        return r;
      };
    }
  }

  get uri(): string {
    return this.inner.uri;
  }

  private async count<T>(op: Promise<T>): Promise<T> {
    try {
      return await op;
    } catch (err) {
      this.counters.failedOperations++;
      throw err;
    }
  }

  async write(path: string, data: Uint8Array): Promise<WriteResult> {
    const r = await this.count(this.inner.write(path, data));
    this.wrote(path, r.size);
    return r;
  }

  async create(path: string, data: Uint8Array): Promise<WriteResult> {
    const inner = this.inner;
    if (inner.create === undefined) throw new PermanentStorageError(`${inner.uri} does not support create`);
    const r = await this.count(inner.create(path, data));
    this.wrote(path, r.size);
    return r;
  }

  async writeFile(path: string, localFile: string): Promise<WriteResult> {
    const r = await this.count(this.inner.writeFile(path, localFile));
    this.wrote(path, r.size);
    return r;
  }

  private wrote(path: string, size: number): void {
    this.counters.bytesUploaded += size;
    this.counters.objectsWritten++;
    this.sizes.set(path, size);
  }

  async read(path: string): Promise<Uint8Array> {
    const data = await this.count(this.inner.read(path));
    this.counters.bytesDownloaded += data.byteLength;
    this.counters.objectsRead++;
    return data;
  }

  async readToFile(path: string, localFile: string, expect?: { size?: number; checksum?: string }): Promise<void> {
    await this.count(this.inner.readToFile(path, localFile, expect));
    const size = expect?.size ?? (await stat(localFile)).size;
    this.counters.bytesDownloaded += size;
    this.counters.objectsRead++;
  }

  stat(path: string): Promise<ObjectInfo | undefined> {
    return this.count(this.inner.stat(path));
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out = await this.count(this.inner.list(prefix));
    for (const o of out) this.sizes.set(o.path, o.size);
    return out;
  }

  /** The inner storage's leftovers of unfinished writes (none if it has no such listing). */
  async listTempFiles(prefix: string): Promise<ObjectInfo[]> {
    return (await this.count(this.inner.listTempFiles?.(prefix) ?? Promise.resolve([])));
  }

  async delete(path: string): Promise<void> {
    await this.count(this.inner.delete(path));
    this.deleted(path);
  }

  async deletePrefix(prefix: string): Promise<void> {
    await this.count(this.inner.deletePrefix(prefix));
    for (const p of [...this.sizes.keys()]) if (p.startsWith(prefix)) this.deleted(p);
  }

  private deleted(path: string): void {
    this.counters.objectsDeleted++;
    this.counters.bytesDeleted += this.sizes.get(path) ?? 0;
    this.sizes.delete(path);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

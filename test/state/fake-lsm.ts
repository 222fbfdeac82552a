/**
 * A tiny stand-in for the LSM engine (src/lsm/types.ts contract), used only by tests
 * that need to drive the exact file sequence (compaction between checkpoints) without
 * depending on the real engine's policies. Data lives in a Map; each snapshot() seals
 * the ops since the last one into an immutable "sstable" file (msgpack op log); a
 * manifest lists the files in order; compactAll() replaces every file by one holding
 * the merged data, as a compaction does.
 */
import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import type {
  LiveFile, LsmIterator, LsmOptions, LsmSnapshot, LsmStats, LsmStore, OpenFromSnapshotOptions, ScanOptions, WriteBatch,
} from '../../src/lsm/types.ts';
import type { LsmEngine } from '../../src/state/lsm-backend.ts';
import { compareBytes } from '../../src/util/bytes.ts';

const packr = new Packr({ useRecords: false });
type Op = ['p', Uint8Array, Uint8Array] | ['d', Uint8Array] | ['r', Uint8Array, Uint8Array];
const s = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const u = (x: string): Uint8Array => new Uint8Array(Buffer.from(x, 'latin1'));

class FakeBatch implements WriteBatch {
  ops: Op[] = [];
  put(key: Uint8Array, value: Uint8Array): this { this.ops.push(['p', key.slice(), value.slice()]); return this; }
  delete(key: Uint8Array): this { this.ops.push(['d', key.slice()]); return this; }
  deleteRange(start: Uint8Array, end: Uint8Array): this { this.ops.push(['r', start.slice(), end.slice()]); return this; }
  get count(): number { return this.ops.length; }
}

export class FakeLsm implements LsmStore {
  private data = new Map<string, Uint8Array>();
  private log: Op[] = [];
  private files: LiveFile[] = [];
  private fileNo = 0;
  private snapId = 0;
  private readonly session = randomBytes(4).toString('hex');
  writeStalled = false;

  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  static async fromSnapshot(o: OpenFromSnapshotOptions): Promise<FakeLsm> {
    const st = new FakeLsm(o.dir);
    const names = (packr.unpack(o.manifest) as { files: string[] }).files;
    for (const name of names) {
      const src = o.files.get(name);
      if (!src) throw new Error(`missing ${name}`);
      const path = join(o.dir, name);
      await copyFile(src, path);
      const bytes = await readFile(path);
      for (const op of packr.unpack(bytes) as Op[]) st.apply(op);
      st.files.push({ name, path, size: bytes.length, level: 0, smallest: new Uint8Array(), largest: new Uint8Array(), entries: 0 });
    }
    return st;
  }

  private apply(op: Op): void {
    if (op[0] === 'p') this.data.set(s(op[1]), new Uint8Array(op[2]));
    else if (op[0] === 'd') this.data.delete(s(op[1]));
    else {
      const a = s(op[1]);
      const b = s(op[2]);
      for (const k of [...this.data.keys()]) if (k >= a && k < b) this.data.delete(k);
    }
  }

  private record(op: Op): void {
    this.apply(op);
    this.log.push(op);
  }

  get(key: Uint8Array): Uint8Array | undefined { return this.data.get(s(key)); }
  put(key: Uint8Array, value: Uint8Array): void { this.record(['p', key.slice(), value.slice()]); }
  delete(key: Uint8Array): void { this.record(['d', key.slice()]); }
  deleteRange(start: Uint8Array, end: Uint8Array): void { this.record(['r', start.slice(), end.slice()]); }
  batch(): WriteBatch { return new FakeBatch(); }
  write(batch: WriteBatch): void { for (const op of (batch as FakeBatch).ops) this.record(op); }

  scan(o: ScanOptions = {}): LsmIterator {
    const keys = [...this.data.keys()].sort().filter((k) => {
      const kb = u(k);
      if (o.start && compareBytes(kb, o.start) < 0) return false;
      if (o.end && compareBytes(kb, o.end) >= 0) return false;
      if (o.prefix && !(kb.length >= o.prefix.length && compareBytes(kb.subarray(0, o.prefix.length), o.prefix) === 0)) return false;
      return true;
    });
    if (o.reverse) keys.reverse();
    const rows = keys.map((k): [Uint8Array, Uint8Array] => [u(k), this.data.get(k)!]);
    let i = 0;
    const it: LsmIterator = {
      next: () => (i < rows.length ? { done: false, value: rows[i++]! } : { done: true, value: undefined }),
      close: () => { i = rows.length; },
      [Symbol.iterator]: () => it,
    };
    return it;
  }

  async waitForWriteCapacity(): Promise<void> {}
  async flush(): Promise<void> { this.seal(); }
  async compactRange(): Promise<void> { this.compactAll(); }
  async compactOnce(): Promise<boolean> { return false; }
  async waitForIdle(): Promise<void> {}

  private newFile(ops: Op[]): LiveFile {
    const name = `${String(++this.fileNo).padStart(6, '0')}-${this.session}.sst`;
    const path = join(this.dir, name);
    const bytes = packr.pack(ops);
    writeFileSync(path, bytes);
    return { name, path, size: bytes.length, level: 0, smallest: new Uint8Array(), largest: new Uint8Array(), entries: ops.length };
  }

  /** Seals the ops since the last seal into a new file. */
  seal(): void {
    if (this.log.length === 0) return;
    this.files.push(this.newFile(this.log));
    this.log = [];
  }

  /** Replaces every file with one holding the merged data (a full compaction). */
  compactAll(): void {
    this.seal();
    const ops: Op[] = [...this.data.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, v]) => ['p', u(k), v]);
    this.files = ops.length > 0 ? [this.newFile(ops)] : [];
  }

  liveFiles(): LiveFile[] { return [...this.files]; }

  snapshot(): LsmSnapshot {
    this.seal();
    const files = [...this.files];
    const manifest = packr.pack({ files: files.map((f) => f.name) });
    return { id: ++this.snapId, ready: async () => ({ files, manifest }), release: () => undefined };
  }

  stats(): LsmStats {
    return {
      levels: [], memtableBytes: this.log.length * 16, sealedMemtables: 0, bytesWrittenByFlush: 0, bytesWrittenByCompaction: 0,
      bytesIngested: 0, writeAmplification: 0, flushes: 0, compactions: 0, blockCacheHits: 0, blockCacheMisses: 0,
      blockCacheBytes: 0, openTables: 0, stallMillis: 0, pinnedSnapshots: 0, obsoleteFilesHeld: 0,
    };
  }

  async close(): Promise<void> { this.seal(); }
  async abandon(): Promise<void> {}
}

export const fakeEngine: LsmEngine & { last?: FakeLsm } = {
  open(o: LsmOptions) {
    const st = new FakeLsm(o.dir);
    fakeEngine.last = st;
    return st;
  },
  async openFromSnapshot(o: OpenFromSnapshotOptions) {
    await mkdir(o.dir, { recursive: true });
    const st = await FakeLsm.fromSnapshot(o);
    fakeEngine.last = st;
    return st;
  },
};


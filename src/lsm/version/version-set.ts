/**
 * The VersionSet owns the current Version, the counters that outlive versions (last
 * sequence, next file number) and the per-file reference counts.
 *
 * File lifetime: a file's count = number of live Versions listing it (a Version is live
 * while current or pinned by an iterator/snapshot). When a count reaches 0 the file is
 * obsolete and handed to `deleteFile` (the store deletes it from disk after evicting it
 * from the table cache). Invariant: a file listed by any live Version is never deleted.
 *
 * Single-threaded: install() is synchronous (an O(#files) metadata swap), never awaited
 * in the middle.
 */
import { assert } from '../../util/assert.ts';
import { ConfigError } from '../../util/errors.ts';
import type { FileMeta } from './file-meta.ts';
import type { VersionEdit } from './version.ts';
import { applyEdit, Version } from './version.ts';

export class VersionSet {
  private _current: Version;
  private readonly fileRefs = new Map<string, number>();
  private readonly deleteFile: (file: FileMeta) => void;
  lastSequence: number;
  nextFileNumber: number;
  readonly numLevels: number;

  constructor(options: { levels: FileMeta[][]; lastSequence: number; nextFileNumber: number; numLevels: number; deleteFile: (file: FileMeta) => void }) {
    this.numLevels = options.numLevels;
    this.lastSequence = options.lastSequence;
    this.nextFileNumber = options.nextFileNumber;
    this.deleteFile = options.deleteFile;
    const levels = options.levels.map((l) => l.slice());
    while (levels.length < this.numLevels) levels.push([]);
    if (levels.length !== this.numLevels) throw new ConfigError(`the manifest has ${levels.length} levels, the store is configured with numLevels ${this.numLevels}`);
    this._current = this.makeVersion(applyEdit(levels, { added: [], deleted: [] }));
    this._current.ref();
  }

  get current(): Version {
    return this._current;
  }

  newFileNumber(): number {
    return this.nextFileNumber++;
  }

  private makeVersion(levels: FileMeta[][]): Version {
    const v = new Version(levels, (dead) => this.released(dead));
    for (const [, f] of v.allFiles()) this.fileRefs.set(f.name, (this.fileRefs.get(f.name) ?? 0) + 1);
    return v;
  }

  private released(v: Version): void {
    for (const [, f] of v.allFiles()) {
      const n = this.fileRefs.get(f.name);
      assert(n !== undefined && n > 0, () => `file ${f.name} reference count broken`);
      if (n === 1) {
        this.fileRefs.delete(f.name);
        this.deleteFile(f);
      } else this.fileRefs.set(f.name, n - 1);
    }
  }

  /** Makes base+edit the current version. The edit must apply to the current version. */
  install(edit: VersionEdit): Version {
    const next = this.makeVersion(applyEdit(this._current.levels, edit));
    next.ref();
    const old = this._current;
    this._current = next;
    old.unref();
    return next;
  }

  /** Files referenced by some live Version but not by the current one. */
  obsoleteFilesHeld(): number {
    return this.fileRefs.size - this._current.fileCount;
  }

  isLive(name: string): boolean {
    return this.fileRefs.has(name);
  }
}

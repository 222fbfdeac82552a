/**
 * A Version: the immutable set of tables, per level, at one point in time.
 *
 *  - L0: files may overlap; ordered NEWEST FIRST (by maxSeq). For every user key, the
 *    L0 entries are newer than the entries below (automatic L0→L1 compactions take all
 *    of L0; compactRange takes an overlap-closed subset, see picker.ts l0Closure).
 *  - L1..Ln: files sorted by `smallest`, point ranges disjoint.
 *  - For a user key, newer point versions live in lower-numbered levels; range
 *    tombstones may be anywhere and are read through `tombstones()` (one fragmented
 *    index over every file's tombstones, built lazily, O(log n) per probe).
 *
 * Lifetime: a Version is referenced by the version set while current, and by each
 * iterator / snapshot that pinned it (ref/unref). Its files are deleted only when no
 * referenced Version lists them (VersionSet owns the per-file counts).
 */
import { assert } from '../../util/assert.ts';
import { compareBytes } from '../../util/bytes.ts';
import { fileIndexContaining, type FileMeta } from './file-meta.ts';
import { FragmentedTombstones } from '../range-tombstones.ts';

export class Version {
  readonly levels: readonly (readonly FileMeta[])[];
  /** Owned by VersionSet: number of holders (current + pins). */
  refs = 0;
  private tombIndex: FragmentedTombstones | null = null;
  private readonly onUnreferenced: (v: Version) => void;

  constructor(levels: FileMeta[][], onUnreferenced: (v: Version) => void) {
    for (let l = 1; l < levels.length; l++) {
      const files = levels[l]!;
      for (let i = 1; i < files.length; i++) {
        assert(compareBytes(files[i - 1]!.largest, files[i]!.smallest) < 0, () => `L${l} files overlap: ${files[i - 1]!.name} and ${files[i]!.name}`);
      }
    }
    const l0 = levels[0]!;
    for (let i = 1; i < l0.length; i++) assert(l0[i - 1]!.maxSeq > l0[i]!.maxSeq, 'L0 not ordered newest first');
    this.levels = levels;
    this.onUnreferenced = onUnreferenced;
  }

  ref(): this {
    this.refs++;
    return this;
  }

  unref(): void {
    assert(this.refs > 0, 'Version unref below zero');
    this.refs--;
    if (this.refs === 0) this.onUnreferenced(this);
  }

  *allFiles(): Generator<[number, FileMeta]> {
    for (let l = 0; l < this.levels.length; l++) for (const f of this.levels[l]!) yield [l, f];
  }

  get fileCount(): number {
    let n = 0;
    for (const files of this.levels) n += files.length;
    return n;
  }

  levelBytes(level: number): number {
    let n = 0;
    for (const f of this.levels[level] ?? []) n += f.size;
    return n;
  }

  tombstones(): FragmentedTombstones {
    if (this.tombIndex === null) {
      const all = [];
      for (const files of this.levels) for (const f of files) for (const t of f.tombstones) all.push(t);
      this.tombIndex = new FragmentedTombstones(all);
    }
    return this.tombIndex;
  }

  /** In level >= 1: index of the only file whose point range may contain key, or -1. */
  findFile(level: number, key: Uint8Array): number {
    return fileIndexContaining(this.levels[level]!, key);
  }

  maxSequence(): number {
    let m = 0;
    for (const files of this.levels) for (const f of files) if (f.maxSeq > m) m = f.maxSeq;
    return m;
  }
}

/** A change from one version to the next (what a flush or compaction produced). */
export interface VersionEdit {
  readonly deleted: readonly { level: number; name: string }[];
  readonly added: readonly { level: number; file: FileMeta }[];
}

/** Applies an edit to a version's levels; returns new level arrays (the input is not modified). */
export function applyEdit(base: readonly (readonly FileMeta[])[], edit: VersionEdit): FileMeta[][] {
  const levels = base.map((files) => files.slice());
  for (const d of edit.deleted) {
    const files = levels[d.level]!;
    const i = files.findIndex((f) => f.name === d.name);
    assert(i >= 0, () => `version edit deletes ${d.name} which is not in L${d.level}`);
    files.splice(i, 1);
  }
  for (const a of edit.added) levels[a.level]!.push(a.file);
  levels[0]!.sort((a, b) => b.maxSeq - a.maxSeq);
  for (let l = 1; l < levels.length; l++) levels[l]!.sort((a, b) => compareBytes(a.smallest, b.smallest));
  return levels;
}

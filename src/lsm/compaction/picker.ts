/**
 * Leveled compaction policy (LevelDB/RocksDB style):
 *  - score(L0) = files / l0CompactionTrigger; score(Ln) = bytes / target(n), with
 *    target(1) = levelBaseBytes and target(n+1) = target(n) × levelMultiplier;
 *  - the level with the highest score >= 1 is compacted into the next one;
 *  - automatic L0 → L1 takes ALL L0 files plus the L1 files overlapping them;
 *    compactRange takes the L0 files overlapping the range and, transitively, every L0
 *    file overlapping those (l0Closure), so L0 stays newer than L1 key by key; Ln → Ln+1 takes one file (round-robin by a
 *    per-level cursor on keys) plus the overlapping Ln+1 files;
 *  - a single input file with nothing overlapping below is moved, not rewritten.
 * The last level is never compacted further.
 */
import { compareBytes } from '../../util/bytes.ts';
import type { Version } from '../version/version.ts';
import { overlapsPoints, type FileMeta } from '../version/file-meta.ts';

export interface PickerOptions {
  l0CompactionTrigger: number;
  levelBaseBytes: number;
  levelMultiplier: number;
  numLevels: number;
}

export interface CompactionPick {
  level: number;
  outputLevel: number;
  inputs: { level: number; file: FileMeta }[];
  /** Smallest key of the inputs' range (placeholder bound for a tombstone-only output). */
  lo: Uint8Array;
  trivialMove: boolean;
}

export function levelTarget(o: PickerOptions, level: number): number {
  return o.levelBaseBytes * o.levelMultiplier ** (level - 1);
}

export function levelScores(v: Version, o: PickerOptions): number[] {
  const scores: number[] = [];
  for (let l = 0; l < o.numLevels - 1; l++) {
    scores.push(l === 0 ? v.levels[0]!.length / o.l0CompactionTrigger : v.levelBytes(l) / levelTarget(o, l));
  }
  return scores;
}

/**
 * Key range of the inputs, range tombstones included (a tombstone's exclusive end is
 * used as an inclusive bound: conservative). Taking every next-level file this range
 * touches lets a compaction drop what the inputs' tombstones hide, and then the
 * tombstones themselves.
 */
function bounds(files: readonly FileMeta[]): [Uint8Array, Uint8Array] {
  let lo = files[0]!.smallest;
  let hi = files[0]!.largest;
  for (const f of files) {
    if (compareBytes(f.smallest, lo) < 0) lo = f.smallest;
    if (compareBytes(f.largest, hi) > 0) hi = f.largest;
    for (const t of f.tombstones) {
      if (compareBytes(t.start, lo) < 0) lo = t.start;
      if (compareBytes(t.end, hi) > 0) hi = t.end;
    }
  }
  return [lo, hi];
}

/** Builds the pick for `files` of `level` compacted into level + 1. */
export function expand(v: Version, level: number, files: readonly FileMeta[]): CompactionPick {
  const [lo, hi] = bounds(files);
  const below = v.levels[level + 1]!.filter((f) => overlapsPoints(f, lo, hi));
  const inputs = [...files.map((file) => ({ level, file })), ...below.map((file) => ({ level: level + 1, file }))];
  const trivialMove = files.length === 1 && below.length === 0 && (level > 0 || v.levels[0]!.length === 1) && files[0]!.tombstones.length === 0;
  return { level, outputLevel: level + 1, inputs, lo, trivialMove };
}

export function pickCompaction(v: Version, o: PickerOptions, cursors: (Uint8Array | undefined)[]): CompactionPick | null {
  const scores = levelScores(v, o);
  let best = -1;
  let bestScore = 1;
  for (let l = 0; l < scores.length; l++) {
    if (scores[l]! >= bestScore && v.levels[l]!.length > 0) {
      best = l;
      bestScore = scores[l]!;
    }
  }
  if (best < 0) return null;
  if (best === 0) return expand(v, 0, v.levels[0]!);
  const files = v.levels[best]!;
  const cursor = cursors[best];
  let pick = files[0]!;
  if (cursor !== undefined) pick = files.find((f) => compareBytes(f.smallest, cursor) > 0) ?? files[0]!;
  cursors[best] = pick.largest;
  return expand(v, best, [pick]);
}

/**
 * L0 files may overlap each other: a compaction that takes one must take every L0 file
 * overlapping it, transitively (as LevelDB's GetOverlappingInputs for level 0), so that
 * for every key the L0 files left behind stay newer than what goes below. L0 files
 * disjoint from that closure may stay: compactRange of one key range does not rewrite
 * the rest of L0 (the seed's CP3 compacts (1),(2),(3) and leaves (4)).
 */
export function l0Closure(level0: readonly FileMeta[], seed: readonly FileMeta[]): FileMeta[] {
  const picked = new Set(seed);
  for (let grew = true; grew; ) {
    grew = false;
    const [lo, hi] = bounds([...picked]);
    for (const f of level0) {
      if (!picked.has(f) && overlapsPoints(f, lo, hi)) {
        picked.add(f);
        grew = true;
      }
    }
  }
  return level0.filter((f) => picked.has(f));
}

/** For compactRange: the files of `level` touching [start, end], or null if none. */
export function pickRange(v: Version, level: number, start: Uint8Array | undefined, end: Uint8Array | undefined): CompactionPick | null {
  const files = v.levels[level]!.filter((f) => overlapsPoints(f, start, end));
  if (files.length === 0) return null;
  const p = expand(v, level, level === 0 ? l0Closure(v.levels[0]!, files) : files);
  return { ...p, trivialMove: false };
}

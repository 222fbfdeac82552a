/**
 * Key groups (DESIGN.md §2): the unit in which keyed state moves between subtasks.
 *
 *   keyGroup  = murmur3_x86_32(serializedKey, seed 0) mod maxParallelism
 *   subtask   = floor(keyGroup * parallelism / maxParallelism)
 *   range(i)  = [ceil(i * maxP / p), floor(((i + 1) * maxP - 1) / p)]
 *
 * The last two are Flink's KeyGroupRangeAssignment formulas, so a subtask owns one
 * contiguous range of key groups and the ranges of 0..p-1 partition [0, maxP).
 * maxParallelism is at most 32768 so a key group fits the 2-byte key prefix.
 */
import type { KeyGroupRange } from './handles.ts';
import { ConfigError } from '../util/errors.ts';

export const MAX_MAX_PARALLELISM = 32768;

/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's reference `MurmurHash3_x86_32`),
 * over bytes (data[start, end): the whole array by default). Hand-written: it runs once
 * per record. Returns an unsigned 32-bit int.
 */
export function murmur3(data: Uint8Array, seed = 0, start = 0, end = data.length): number {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const len = end - start;
  const nblocks = len >>> 2;
  let h = seed | 0;
  let i = start;
  for (let b = 0; b < nblocks; b++, i += 4) {
    let k = data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  // Tail: the 1–3 bytes left, little-endian (the reference's fall-through switch).
  const tail = len & 3;
  if (tail > 0) {
    let k = 0;
    if (tail === 3) k ^= data[i + 2]! << 16;
    if (tail >= 2) k ^= data[i + 1]! << 8;
    k ^= data[i]!;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function checkMaxParallelism(maxParallelism: number): void {
  if (!Number.isInteger(maxParallelism) || maxParallelism < 1 || maxParallelism > MAX_MAX_PARALLELISM) {
    throw new ConfigError(`maxParallelism must be an integer in [1, ${MAX_MAX_PARALLELISM}], got ${maxParallelism}`);
  }
}

function checkParallelism(maxParallelism: number, parallelism: number): void {
  checkMaxParallelism(maxParallelism);
  if (!Number.isInteger(parallelism) || parallelism < 1 || parallelism > maxParallelism) {
    throw new ConfigError(`parallelism must be an integer in [1, maxParallelism=${maxParallelism}], got ${parallelism}`);
  }
}

/** Key group of a serialized key. */
export function keyGroupOf(keyBytes: Uint8Array, maxParallelism: number): number {
  return murmur3(keyBytes) % maxParallelism;
}

/** Index of the subtask (0-based) that owns a key group. */
export function subtaskForKeyGroup(keyGroup: number, maxParallelism: number, parallelism: number): number {
  return Math.floor((keyGroup * parallelism) / maxParallelism);
}

/** The contiguous, inclusive key-group range owned by subtask `index` of `parallelism`. */
export function keyGroupRangeForSubtask(maxParallelism: number, parallelism: number, index: number): KeyGroupRange {
  checkParallelism(maxParallelism, parallelism);
  if (!Number.isInteger(index) || index < 0 || index >= parallelism) {
    throw new ConfigError(`subtask index ${index} out of [0, ${parallelism})`);
  }
  const start = Math.floor((index * maxParallelism + parallelism - 1) / parallelism);
  const end = Math.floor(((index + 1) * maxParallelism - 1) / parallelism);
  return { start, end };
}

export function rangeContains(range: KeyGroupRange, keyGroup: number): boolean {
  return keyGroup >= range.start && keyGroup <= range.end;
}

export function rangeSize(range: KeyGroupRange): number {
  return range.end < range.start ? 0 : range.end - range.start + 1;
}

/** Intersection of two ranges (possibly empty: end < start). */
export function intersectRanges(a: KeyGroupRange, b: KeyGroupRange): KeyGroupRange {
  return { start: Math.max(a.start, b.start), end: Math.min(a.end, b.end) };
}

export function rangesEqual(a: KeyGroupRange, b: KeyGroupRange): boolean {
  return a.start === b.start && a.end === b.end;
}

/** Default maxParallelism, as Flink derives it: roundUpPow2(1.5 × parallelism) clamped to [128, 32768]. */
export function defaultMaxParallelism(parallelism: number): number {
  const target = Math.ceil(parallelism * 1.5);
  let p = 1;
  while (p < target && p < MAX_MAX_PARALLELISM) p *= 2;
  return Math.min(MAX_MAX_PARALLELISM, Math.max(128, p));
}

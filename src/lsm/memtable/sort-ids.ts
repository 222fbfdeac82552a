/**
 * A merge sort of integer ids (distinct memtable keys) written as a generator that
 * yields after about `sliceWork` comparisons, so that sorting a large sealed memtable
 * for its flush can be spread over many event-loop turns (the caller awaits between
 * slices). Bottom-up: insertion-sorted runs of 16, then merge passes; a pass skips the
 * merge of two runs that are already in order (appends and sorted restores cost O(n)).
 *
 * `cmp` must be a strict total order on the ids (keys are distinct). The result may be
 * `ids` itself or a second buffer of the same length.
 */

const RUN = 16;

export function* sortIds(ids: Int32Array, cmp: (a: number, b: number) => number, sliceWork = 65536): Generator<void, Int32Array, void> {
  const n = ids.length;
  let work = 0;
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = lo + RUN < n ? lo + RUN : n;
    for (let i = lo + 1; i < hi; i++) {
      const x = ids[i]!;
      let j = i - 1;
      while (j >= lo && cmp(ids[j]!, x) > 0) {
        ids[j + 1] = ids[j]!;
        j--;
      }
      ids[j + 1] = x;
    }
    work += RUN * 3;
    if (work >= sliceWork) {
      work = 0;
      yield;
    }
  }
  if (n <= RUN) return ids;
  let src: Int32Array = ids;
  let dst: Int32Array = new Int32Array(n);
  for (let w = RUN; w < n; w *= 2) {
    for (let lo = 0; lo < n; lo += 2 * w) {
      const mid = lo + w < n ? lo + w : n;
      const hi = lo + 2 * w < n ? lo + 2 * w : n;
      if (mid >= hi || cmp(src[mid - 1]!, src[mid]!) < 0) {
        dst.set(src.subarray(lo, hi), lo);
        work += (hi - lo) >>> 4;
      } else {
        let i = lo;
        let j = mid;
        let k = lo;
        while (i < mid && j < hi) {
          const a = src[i]!;
          const b = src[j]!;
          if (cmp(b, a) < 0) {
            dst[k++] = b;
            j++;
          } else {
            dst[k++] = a;
            i++;
          }
          if (++work >= sliceWork) {
            work = 0;
            yield;
          }
        }
        while (i < mid) dst[k++] = src[i++]!;
        while (j < hi) dst[k++] = src[j++]!;
      }
      if (work >= sliceWork) {
        work = 0;
        yield;
      }
    }
    const t = src;
    src = dst;
    dst = t;
  }
  return src;
}

/** Runs a sortIds generator to the end (no slicing). */
export function sortIdsNow(ids: Int32Array, cmp: (a: number, b: number) => number): Int32Array {
  const g = sortIds(ids, cmp, Number.MAX_SAFE_INTEGER);
  for (;;) {
    const r = g.next();
    if (r.done === true) return r.value;
  }
}

/** Merges two ascending id arrays (disjoint keys) into one. */
export function mergeIds(a: Int32Array, b: Int32Array, cmp: (x: number, y: number) => number): Int32Array {
  const out = new Int32Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length && j < b.length) out[k++] = cmp(b[j]!, a[i]!) < 0 ? b[j++]! : a[i++]!;
  while (i < a.length) out[k++] = a[i++]!;
  while (j < b.length) out[k++] = b[j++]!;
  return out;
}

/**
 * sortIds for ids that carry two numeric key prefixes (memtable.ts): the prefixes travel
 * with the ids as (p1, p2, id) records, so the merge passes read and write memory
 * sequentially instead of looking every compared id up in the prefix arrays (the flush
 * sort was memory-bound on those lookups). `tie` orders two ids whose prefixes are equal.
 */
export function* sortIdsByPrefixes(
  ids: Int32Array, p1: Float64Array, p2: Float64Array, tie: (a: number, b: number) => number, sliceWork = 65536,
): Generator<void, Int32Array, void> {
  const n = ids.length;
  let src = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const id = ids[i]!;
    src[3 * i] = p1[id]!;
    src[3 * i + 1] = p2[id]!;
    src[3 * i + 2] = id;
  }
  yield;
  let work = 0;
  // a < b as records at offsets x (in s) and y (in t).
  const less = (s: Float64Array, x: number, t: Float64Array, y: number): boolean => {
    const a1 = s[x]!;
    const b1 = t[y]!;
    if (a1 !== b1) return a1 < b1;
    const a2 = s[x + 1]!;
    const b2 = t[y + 1]!;
    if (a2 !== b2) return a2 < b2;
    return tie(s[x + 2]!, t[y + 2]!) < 0;
  };
  for (let lo = 0; lo < n; lo += RUN) {
    const hi = lo + RUN < n ? lo + RUN : n;
    for (let i = lo + 1; i < hi; i++) {
      const r1 = src[3 * i]!;
      const r2 = src[3 * i + 1]!;
      const r3 = src[3 * i + 2]!;
      let j = i - 1;
      for (; j >= lo; j--) {
        const q1 = src[3 * j]!;
        const q2 = src[3 * j + 1]!;
        const gt = q1 !== r1 ? q1 > r1 : q2 !== r2 ? q2 > r2 : tie(src[3 * j + 2]!, r3) > 0;
        if (!gt) break;
        src[3 * j + 3] = q1;
        src[3 * j + 4] = q2;
        src[3 * j + 5] = src[3 * j + 2]!;
      }
      src[3 * j + 3] = r1;
      src[3 * j + 4] = r2;
      src[3 * j + 5] = r3;
    }
    work += RUN * 3;
    if (work >= sliceWork) {
      work = 0;
      yield;
    }
  }
  let dst = new Float64Array(3 * n);
  for (let w = RUN; w < n; w *= 2) {
    for (let lo = 0; lo < n; lo += 2 * w) {
      const mid = lo + w < n ? lo + w : n;
      const hi = lo + 2 * w < n ? lo + 2 * w : n;
      if (mid >= hi || less(src, 3 * (mid - 1), src, 3 * mid)) {
        dst.set(src.subarray(3 * lo, 3 * hi), 3 * lo);
        work += (hi - lo) >>> 4;
      } else {
        let i = lo;
        let j = mid;
        let k = 3 * lo;
        while (i < mid && j < hi) {
          const from = less(src, 3 * j, src, 3 * i) ? 3 * j++ : 3 * i++;
          dst[k] = src[from]!;
          dst[k + 1] = src[from + 1]!;
          dst[k + 2] = src[from + 2]!;
          k += 3;
          if (++work >= sliceWork) {
            work = 0;
            yield;
          }
        }
        if (i < mid) dst.set(src.subarray(3 * i, 3 * mid), k);
        else if (j < hi) dst.set(src.subarray(3 * j, 3 * hi), k);
      }
      if (work >= sliceWork) {
        work = 0;
        yield;
      }
    }
    const t = src;
    src = dst;
    dst = t;
  }
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = src[3 * i + 2]!;
  return out;
}

/**
 * Two state patterns the Nexmark queries need, written on weir's keyed state as a user
 * would: count-distinct (a MapState used as the set of values seen, so a repeat costs
 * one point lookup and the set lives in the state backend, not in memory) and top-N
 * (the N best records of a key, kept sorted in one ValueState).
 */
import type { KeyedStateStore } from '../../../src/index.ts';

/** Adds `value` to the distinct set `name` of the current key; true when it was not in it yet. */
export function addDistinct(state: KeyedStateStore, name: string, value: string | number): boolean {
  const set = state.getMapState<string | number, 1>(name);
  if (set.has(value)) return false;
  set.put(value, 1);
  return true;
}

/**
 * Inserts `value` into the current key's top-N list `name` (best first by `better`:
 * negative when a ranks before b). Returns the new list when it changed, else undefined.
 */
export function offerTopN<T>(state: KeyedStateStore, name: string, n: number, value: T, better: (a: T, b: T) => number): T[] | undefined {
  const s = state.getValueState<T[]>(name);
  const list = s.value() ?? [];
  let i = list.length;
  while (i > 0 && better(value, list[i - 1]!) < 0) i--;
  if (i >= n) return undefined;
  list.splice(i, 0, value);
  if (list.length > n) list.length = n;
  s.update(list);
  return list;
}

/**
 * A short, safe text of a record for error messages: never throws (circular objects,
 * BigInt, Map/Set, class instances, getters that throw), never grows past `maxChars`
 * (cut with "…"). Only called on failure paths, so it may allocate freely.
 */
import { inspect } from 'node:util';

/** Characters of a record shown in an error message. */
export const RECORD_PREVIEW_CHARS = 200;

/**
 * `util.inspect` on one line (depth 3, at most 20 array items, strings cut at
 * `maxChars`), then cut to `maxChars` characters with a trailing "…" when longer.
 */
export function previewRecord(record: unknown, maxChars = RECORD_PREVIEW_CHARS): string {
  let s: string;
  try {
    s = inspect(record, { depth: 3, breakLength: Infinity, maxArrayLength: 20, maxStringLength: maxChars, compact: true, getters: false });
  } catch (err) {
    s = `<record that cannot be shown: ${err instanceof Error ? err.message : 'unknown error'}>`;
  }
  return s.length > maxChars ? `${s.slice(0, maxChars)}…` : s;
}

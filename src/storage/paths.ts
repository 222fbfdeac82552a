/**
 * Object path and prefix validation, shared by every CheckpointStorage implementation
 * (see checkpoint-storage.ts). A path comes from our own code, but also from a
 * `_metadata` file read back from storage, which may be crafted: validation is what
 * keeps `../../etc/passwd` from ever reaching the filesystem or another S3 prefix.
 *
 * Rules for a path: a non-empty string of '/'-separated segments; no leading or
 * trailing '/', no empty segment ("a//b"), no "." or ".." segment, no backslash, no NUL
 * or other control character, at most MAX_PATH_BYTES UTF-8 bytes (S3's key limit minus
 * room for a prefix), and no segment containing the local implementation's temp marker.
 *
 * A prefix is "" (everything), or a valid path optionally followed by one '/'.
 * Prefix matching is plain string-prefix matching, as in S3: "a/" matches "a/x" and
 * "a/b/c" but not "ab/x"; "job/chk-1" matches "job/chk-1/x" AND "job/chk-10/x".
 */
import { ConfigError } from '../util/errors.ts';

export const MAX_PATH_BYTES = 900;

/** Local temp files carry this marker; user paths may not, so list() can skip them safely. */
export const TEMP_MARKER = '.weir-tmp-';

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

function describe(path: string): string {
  return JSON.stringify(path.length > 120 ? `${path.slice(0, 120)}…` : path);
}

/** Throws ConfigError unless `path` is a valid object path. Returns it for chaining. */
export function validatePath(path: string): string {
  if (typeof path !== 'string' || path.length === 0) {
    throw new ConfigError('invalid storage path: empty');
  }
  const bad = (why: string): never => {
    throw new ConfigError(`invalid storage path ${describe(path)}: ${why}`);
  };
  if (CONTROL.test(path)) bad('contains a NUL or control character');
  if (path.includes('\\')) bad('contains a backslash');
  if (path.startsWith('/')) bad('must be relative (no leading "/")');
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) bad(`longer than ${MAX_PATH_BYTES} bytes`);
  for (const segment of path.split('/')) {
    if (segment === '') bad('contains an empty segment');
    if (segment === '.' || segment === '..') bad(`contains a "${segment}" segment`);
    if (segment.includes(TEMP_MARKER)) bad(`contains the reserved marker "${TEMP_MARKER}"`);
  }
  return path;
}

const TEMP_SUFFIX = new RegExp(`${TEMP_MARKER.replace(/[.]/g, '\\.')}[0-9a-f]{12}$`);

/** True if `path` names a temp file of an unfinished local write ("<object path>.weir-tmp-<12 hex>"). */
export function isTempPath(path: string): boolean {
  return typeof path === 'string' && TEMP_SUFFIX.test(path) && path.lastIndexOf('/') < path.lastIndexOf(TEMP_MARKER);
}

/**
 * Throws ConfigError unless `path` is a temp path whose object path (the path without the
 * suffix) is valid: the only paths with the marker that delete() accepts.
 */
export function validateTempPath(path: string): string {
  if (!isTempPath(path)) throw new ConfigError(`invalid temp path ${describe(path)}`);
  validatePath(path.slice(0, path.lastIndexOf(TEMP_MARKER)));
  return path;
}

/** Throws ConfigError unless `prefix` is "" or a valid path with an optional trailing '/'. */
export function validatePrefix(prefix: string): string {
  if (typeof prefix !== 'string') throw new ConfigError('invalid storage prefix: not a string');
  if (prefix === '') return prefix;
  try {
    validatePath(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
  } catch (err) {
    throw new ConfigError(`invalid storage prefix ${describe(prefix)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return prefix;
}

/**
 * deletePrefix() takes a directory-like prefix: "" (everything) or ending in '/'.
 * "job/chk-1" would also delete "job/chk-10/…", which is never what the caller meant.
 */
export function validateDeletePrefix(prefix: string): string {
  validatePrefix(prefix);
  if (prefix !== '' && !prefix.endsWith('/')) {
    throw new ConfigError(
      `invalid deletePrefix ${describe(prefix)}: must end with "/" (a bare prefix would also match its siblings, e.g. chk-1 → chk-10)`,
    );
  }
  return prefix;
}

/** Orders paths by their UTF-8 bytes, which is S3's listing order. */
export function comparePaths(a: string, b: string): number {
  if (a === b) return 0;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

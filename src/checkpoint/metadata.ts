/**
 * The `_metadata` file of a completed checkpoint or savepoint: UTF-8 JSON of
 * CheckpointMetadata (src/checkpoint/types.ts), pretty-printed so `cat` is an
 * inspection tool.
 *
 * Format versions (the `formatVersion` member; METADATA_FORMAT_VERSION is what this
 * build writes):
 *
 *   1  the only version. The document ends with a `"checksum"` member, the CRC-32C (hex)
 *      of the file with that member removed (bytes up to the `,` before it, then
 *      `\n}\n`). The member is REQUIRED: a version-1 file without it, with it renamed,
 *      moved, malformed or not matching the bytes is a CorruptionError naming the file.
 *      (Files from the development builds of 24 Nov 2026 that predate the member are
 *      refused too: accepting "no checksum" is exactly what lets one altered byte — the
 *      member's name — switch the check off.)
 *   >1 refused with a ConfigError before anything else is checked (an older weir must
 *      not guess at fields, or an integrity scheme, it does not know, and must never
 *      delete files a newer format references).
 *
 * A future version 2 adds its row here with its own integrity rule; a version whose rule
 * allows "no checksum" must never be introduced, since the version number itself is
 * covered by the checksum and a reader trusts it only after the checksum held.
 *
 * Every path in a `_metadata` is checked to be inside `<job>/` (no '..', no other job's
 * files): a crafted or mis-copied `_metadata` can then never make restore read, or
 * subsumption delete, anything outside the job's own directory.
 *
 * A flipped byte anywhere (a key-group range, a size, a path, the checksum member's own
 * name) therefore fails parsing with a CorruptionError naming the file, so restore never
 * proceeds from a silently altered `_metadata`.
 */
import { assert } from '../util/assert.ts';
import { crc32c, crc32cHex } from '../util/crc32c.ts';
import { CorruptionError, ConfigError } from '../util/errors.ts';
import { isInsideJob, validateJobName } from '../storage/job-layout.ts';
import { METADATA_FORMAT_VERSION } from './types.ts';
import type { CheckpointMetadata, KeyedStateHandle, SubtaskState } from './types.ts';

export function serializeMetadata(metadata: CheckpointMetadata): Uint8Array {
  validateMetadata(metadata);
  return sealMetadataJson(`${JSON.stringify(metadata, null, 1)}\n`);
}

/**
 * Appends the checksum member to a JSON object's text (which must end with "\n}\n", as
 * JSON.stringify(x, null, 1) + "\n" does). No validation: serializeMetadata() is the way
 * to write a `_metadata`; this exists on its own so tests can craft files that pass the
 * integrity check and must then be refused for what they say.
 */
export function sealMetadataJson(json: string): Uint8Array {
  const body = new TextEncoder().encode(json);
  assert(body.length >= 3 && body[body.length - 3] === 0x0a && body[body.length - 2] === 0x7d && body[body.length - 1] === 0x0a, 'metadata JSON ends with \\n}\\n');
  const head = body.subarray(0, body.length - 3); // without "\n}\n"
  const trailer = new TextEncoder().encode(`,\n "checksum": "${crc32cHex(crc32c(body))}"\n}\n`);
  const out = new Uint8Array(head.length + trailer.length);
  out.set(head, 0);
  out.set(trailer, head.length);
  return out;
}

const TRAILER = /,\n "checksum": "([0-9a-f]{8})"\n\}\n$/;

/**
 * Version 1's integrity rule (see the header): the checksum member must be there, last,
 * in its exact form, and match. Returns the bytes the checksum covers.
 */
function checkIntegrity(bytes: Uint8Array, source: string): Uint8Array {
  // The trailer is ASCII and short: look only at the last bytes.
  const tailStart = Math.max(0, bytes.length - 40);
  const tail = new TextDecoder('latin1').decode(bytes.subarray(tailStart));
  const m = TRAILER.exec(tail);
  if (m === null) {
    const why = /"checksum"/.test(tail) ? 'malformed checksum member' : 'no "checksum" member (required by format version 1)';
    throw new CorruptionError(source, undefined, `${why}; the file was altered or truncated`);
  }
  const cut = tailStart + m.index;
  const body = new Uint8Array(cut + 3);
  body.set(bytes.subarray(0, cut), 0);
  body.set([0x0a, 0x7d, 0x0a], cut);
  const actual = crc32cHex(crc32c(body));
  if (actual !== m[1]) throw new CorruptionError(source, undefined, `checksum ${actual}, expected ${m[1]} (the file was altered)`);
  return body;
}

/**
 * Parses and validates a `_metadata`. `source` names the file in error messages.
 * Throws CorruptionError for bytes that are not a valid metadata document, ConfigError
 * for a newer format version or paths outside the job directory.
 */
export function parseMetadata(bytes: Uint8Array, source: string, expectedJob?: string): CheckpointMetadata {
  // The version decides the integrity rule, so it is read first (a newer version may
  // protect itself differently); nothing else is trusted before that rule held.
  const version = formatVersionOf(parseJson(bytes, source), source);
  if (version > METADATA_FORMAT_VERSION) {
    throw new ConfigError(
      `${source} has metadata format version ${version}, newer than the ${METADATA_FORMAT_VERSION} this weir understands; use a newer weir`,
    );
  }
  assert(METADATA_FORMAT_VERSION === 1, 'a new metadata format version needs its integrity rule here');
  const doc = parseJson(checkIntegrity(bytes, source), source);
  try {
    checkShape(doc);
  } catch (err) {
    throw new CorruptionError(source, undefined, (err as Error).message, { cause: err });
  }
  const metadata = doc as unknown as CheckpointMetadata;
  if (expectedJob !== undefined && metadata.job !== expectedJob) {
    throw new ConfigError(`${source} belongs to job ${JSON.stringify(metadata.job)}, not ${JSON.stringify(expectedJob)}`);
  }
  try {
    validateMetadata(metadata);
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(`${source}: ${err.message}`, { cause: err });
    throw err;
  }
  return metadata;
}

function parseJson(bytes: Uint8Array, source: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new CorruptionError(source, undefined, 'not valid UTF-8 JSON', { cause: err });
  }
  if (!isObject(doc)) throw new CorruptionError(source, undefined, 'not a JSON object');
  return doc;
}

function formatVersionOf(doc: Record<string, unknown>, source: string): number {
  const version = doc['formatVersion'];
  if (typeof version !== 'number' || !Number.isInteger(version) || version < 1) {
    throw new CorruptionError(source, undefined, 'missing or invalid formatVersion');
  }
  return version;
}

/** Every storage path a metadata references (shared and private), in order, without duplicates. */
export function referencedPaths(metadata: CheckpointMetadata): string[] {
  const out = new Set<string>();
  for (const s of metadata.subtasks) {
    if (!s.keyed) continue;
    for (const f of s.keyed.sharedFiles) out.add(f.path);
    for (const f of s.keyed.privateFiles) out.add(f.path);
  }
  return [...out];
}

export function keyedHandles(metadata: CheckpointMetadata): KeyedStateHandle[] {
  const out: KeyedStateHandle[] = [];
  for (const s of metadata.subtasks) if (s.keyed) out.push(s.keyed);
  return out;
}

/**
 * Semantic checks: job name, every path inside `<job>/`, handles agree with their subtask,
 * subtasks unique and within the recorded parallelism. Throws ConfigError.
 */
export function validateMetadata(metadata: CheckpointMetadata): void {
  validateJobName(metadata.job);
  const parallelism = new Map<string, number>();
  for (const op of metadata.operators) {
    if (parallelism.has(op.operatorId)) throw new ConfigError(`operator ${op.operatorId} listed twice`);
    parallelism.set(op.operatorId, op.parallelism);
  }
  const seen = new Set<string>();
  for (const s of metadata.subtasks) {
    const p = parallelism.get(s.operatorId);
    if (p === undefined) throw new ConfigError(`subtask of unknown operator ${s.operatorId}`);
    if (s.subtaskIndex < 0 || s.subtaskIndex >= p) {
      throw new ConfigError(`subtask ${s.operatorId}/${s.subtaskIndex} outside parallelism ${p}`);
    }
    const id = `${s.operatorId}\u0000${s.subtaskIndex}`;
    if (seen.has(id)) throw new ConfigError(`subtask ${s.operatorId}/${s.subtaskIndex} listed twice`);
    seen.add(id);
    if (s.keyed) validateHandle(metadata, s);
  }
}

function validateHandle(metadata: CheckpointMetadata, s: SubtaskState): void {
  const h = s.keyed!;
  const where = `subtask ${s.operatorId}/${s.subtaskIndex}`;
  if (h.operatorId !== s.operatorId || h.subtaskIndex !== s.subtaskIndex) {
    throw new ConfigError(`${where}: keyed handle belongs to ${h.operatorId}/${h.subtaskIndex}`);
  }
  if (h.maxParallelism !== metadata.maxParallelism) {
    throw new ConfigError(`${where}: handle maxParallelism ${h.maxParallelism} != ${metadata.maxParallelism}`);
  }
  const r = h.keyGroupRange;
  if (r.start < 0 || r.end < r.start - 1 || r.end >= metadata.maxParallelism) {
    throw new ConfigError(`${where}: key group range [${r.start}, ${r.end}] outside [0, ${metadata.maxParallelism - 1}]`);
  }
  for (const f of [...h.sharedFiles, ...h.privateFiles]) {
    if (!isInsideJob(metadata.job, f.path)) {
      throw new ConfigError(`${where}: path ${JSON.stringify(f.path)} is not inside the job directory ${metadata.job}/`);
    }
  }
}

// ---- structural checks (throw plain errors, wrapped as CorruptionError by parseMetadata)

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function need(cond: boolean, what: string): asserts cond {
  if (!cond) throw new Error(`invalid field ${what}`);
}

function int(v: unknown, what: string): void {
  need(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0, what);
}

function str(v: unknown, what: string): void {
  need(typeof v === 'string' && v.length > 0, what);
}

function checkShape(doc: Record<string, unknown>): void {
  str(doc['job'], 'job');
  int(doc['checkpointId'], 'checkpointId');
  need(doc['kind'] === 'checkpoint' || doc['kind'] === 'savepoint', 'kind');
  int(doc['triggerTime'], 'triggerTime');
  int(doc['completeTime'], 'completeTime');
  int(doc['maxParallelism'], 'maxParallelism');
  need((doc['maxParallelism'] as number) >= 1, 'maxParallelism');
  int(doc['fullSize'], 'fullSize');
  int(doc['checkpointedSize'], 'checkpointedSize');
  if (doc['runId'] !== undefined) str(doc['runId'], 'runId');
  if (doc['restoredFrom'] !== undefined) int(doc['restoredFrom'], 'restoredFrom');
  const ops = doc['operators'];
  need(Array.isArray(ops), 'operators');
  for (const [i, op] of ops.entries()) {
    need(isObject(op), `operators[${i}]`);
    str(op['operatorId'], `operators[${i}].operatorId`);
    int(op['parallelism'], `operators[${i}].parallelism`);
    need((op['parallelism'] as number) >= 1, `operators[${i}].parallelism`);
  }
  const subtasks = doc['subtasks'];
  need(Array.isArray(subtasks), 'subtasks');
  for (const [i, s] of subtasks.entries()) {
    const at = `subtasks[${i}]`;
    need(isObject(s), at);
    str(s['operatorId'], `${at}.operatorId`);
    int(s['subtaskIndex'], `${at}.subtaskIndex`);
    if (s['keyed'] !== undefined) checkHandleShape(s['keyed'], `${at}.keyed`);
    if (s['operatorState'] !== undefined) {
      need(Array.isArray(s['operatorState']), `${at}.operatorState`);
      for (const [j, e] of (s['operatorState'] as unknown[]).entries()) {
        need(isObject(e), `${at}.operatorState[${j}]`);
        str(e['name'], `${at}.operatorState[${j}].name`);
        need(e['mode'] === 'split' || e['mode'] === 'union', `${at}.operatorState[${j}].mode`);
        need(Array.isArray(e['items']), `${at}.operatorState[${j}].items`);
      }
    }
  }
}

function checkHandleShape(h: unknown, at: string): void {
  need(isObject(h), at);
  need(h['format'] === 'lsm' || h['format'] === 'heap', `${at}.format`);
  need(h['mode'] === 'incremental' || h['mode'] === 'full', `${at}.mode`);
  str(h['backendId'], `${at}.backendId`);
  str(h['operatorId'], `${at}.operatorId`);
  int(h['subtaskIndex'], `${at}.subtaskIndex`);
  int(h['maxParallelism'], `${at}.maxParallelism`);
  int(h['checkpointId'], `${at}.checkpointId`);
  int(h['fullSize'], `${at}.fullSize`);
  int(h['incrementalSize'], `${at}.incrementalSize`);
  const r = h['keyGroupRange'];
  need(isObject(r), `${at}.keyGroupRange`);
  int(r['start'], `${at}.keyGroupRange.start`);
  int(r['end'], `${at}.keyGroupRange.end`);
  need(Array.isArray(h['sharedFiles']), `${at}.sharedFiles`);
  for (const [i, f] of (h['sharedFiles'] as unknown[]).entries()) {
    const w = `${at}.sharedFiles[${i}]`;
    need(isObject(f), w);
    str(f['registryKey'], `${w}.registryKey`);
    str(f['localName'], `${w}.localName`);
    str(f['path'], `${w}.path`);
    int(f['size'], `${w}.size`);
    str(f['checksum'], `${w}.checksum`);
    int(f['uploadedBy'], `${w}.uploadedBy`);
    need(typeof f['reused'] === 'boolean', `${w}.reused`);
  }
  need(Array.isArray(h['privateFiles']), `${at}.privateFiles`);
  for (const [i, f] of (h['privateFiles'] as unknown[]).entries()) {
    const w = `${at}.privateFiles[${i}]`;
    need(isObject(f), w);
    str(f['name'], `${w}.name`);
    str(f['path'], `${w}.path`);
    int(f['size'], `${w}.size`);
    str(f['checksum'], `${w}.checksum`);
  }
  need(Array.isArray(h['states']), `${at}.states`);
}

/**
 * The MANIFEST: a complete description of one version (not a log of edits).
 *
 * Why one whole-state file instead of LevelDB's MANIFEST log + CURRENT: a version is
 * small (~150 bytes per table; 10k tables = 1.5 MB), there is no WAL to keep in step
 * with, and a snapshot must ship exactly one self-contained manifest anyway. Writing it
 * as temp file + fsync + rename + directory fsync makes the switch atomic, so CURRENT's
 * indirection buys nothing. The same bytes are what LsmSnapshot.ready() returns.
 *
 * Layout (UTF-8 text, inspectable with `cat`):
 *   line 1: "weir-lsm-manifest 1"
 *   line 2: JSON {lastSequence, nextFileNumber, levels: [[file…]…]}, keys as hex
 *   line 3: "crc32c <8 hex>" over line 1 + "\n" + line 2 exactly
 * Any mismatch raises CorruptionError naming the manifest.
 */
import { join } from 'node:path';
import { CorruptionError } from '../../util/errors.ts';
import { crc32c, crc32cHex } from '../../util/crc32c.ts';
import { toHex } from '../../util/bytes.ts';
import type { FileMeta } from './file-meta.ts';
import type { Vfs } from '../vfs/vfs.ts';

export const MANIFEST_NAME = 'MANIFEST';
export const MANIFEST_TMP_NAME = `${MANIFEST_NAME}.tmp`;
const HEADER = 'weir-lsm-manifest 1';

export interface ManifestData {
  lastSequence: number;
  nextFileNumber: number;
  levels: FileMeta[][];
}

interface FileJson {
  number: number;
  name: string;
  size: number;
  smallest: string;
  largest: string;
  entries: number;
  minSeq: number;
  maxSeq: number;
  tombstones: [string, string, number][];
}

function fromHex(s: string, where: string): Uint8Array {
  if (s.length % 2 !== 0 || !/^[0-9a-f]*$/.test(s)) throw new CorruptionError(where, undefined, `bad hex key "${s.slice(0, 20)}"`);
  return Uint8Array.from(Buffer.from(s, 'hex'));
}

export function encodeManifest(m: ManifestData): Uint8Array {
  const body = JSON.stringify({
    lastSequence: m.lastSequence,
    nextFileNumber: m.nextFileNumber,
    levels: m.levels.map((files) =>
      files.map((f): FileJson => ({
        number: f.number,
        name: f.name,
        size: f.size,
        smallest: toHex(f.smallest),
        largest: toHex(f.largest),
        entries: f.entries,
        minSeq: f.minSeq,
        maxSeq: f.maxSeq,
        tombstones: f.tombstones.map((t) => [toHex(t.start), toHex(t.end), t.seq]),
      })),
    ),
  });
  const signed = `${HEADER}\n${body}`;
  const bytes = Buffer.from(signed, 'utf8');
  return Buffer.from(`${signed}\ncrc32c ${crc32cHex(crc32c(bytes))}\n`, 'utf8');
}

export function decodeManifest(bytes: Uint8Array, where: string): ManifestData {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const lines = text.split('\n');
  if (lines[0] !== HEADER) throw new CorruptionError(where, 0, 'not a weir LSM manifest');
  if (lines.length < 3) throw new CorruptionError(where, undefined, 'truncated manifest');
  const signed = `${lines[0]}\n${lines[1]}`;
  const crcLine = lines[2]!;
  const expect = `crc32c ${crc32cHex(crc32c(Buffer.from(signed, 'utf8')))}`;
  if (crcLine !== expect) throw new CorruptionError(where, signed.length, `manifest checksum mismatch (${crcLine} != ${expect})`);
  let parsed: { lastSequence: number; nextFileNumber: number; levels: FileJson[][] };
  try {
    parsed = JSON.parse(lines[1]!);
  } catch (e) {
    throw new CorruptionError(where, HEADER.length + 1, 'manifest body is not JSON', { cause: e });
  }
  if (!Number.isSafeInteger(parsed.lastSequence) || !Number.isSafeInteger(parsed.nextFileNumber) || !Array.isArray(parsed.levels)) {
    throw new CorruptionError(where, undefined, 'manifest fields missing');
  }
  return {
    lastSequence: parsed.lastSequence,
    nextFileNumber: parsed.nextFileNumber,
    levels: parsed.levels.map((files) =>
      files.map((f): FileMeta => ({
        number: f.number,
        name: f.name,
        size: f.size,
        smallest: fromHex(f.smallest, where),
        largest: fromHex(f.largest, where),
        entries: f.entries,
        minSeq: f.minSeq,
        maxSeq: f.maxSeq,
        tombstones: f.tombstones.map(([s, e, seq]) => ({ start: fromHex(s, where), end: fromHex(e, where), seq })),
      })),
    ),
  };
}

/**
 * Writes dir/MANIFEST atomically and durably: MANIFEST.tmp, write, fsync, close, rename
 * over MANIFEST, fsync of the directory. When this resolves the new MANIFEST survives
 * a crash; if it rejects, the previous MANIFEST may still be the one on disk (or the new
 * one, if only the directory fsync failed): the caller must treat the store as failed
 * and must not act on the new version (docs/lsm.md "Durability order").
 */
export async function writeManifestFile(dir: string, bytes: Uint8Array, fs: Vfs): Promise<void> {
  const tmp = join(dir, MANIFEST_TMP_NAME);
  const f = await fs.createAsync(tmp);
  try {
    await f.write(bytes);
    await f.sync();
  } finally {
    await f.close();
  }
  await fs.renameAsync(tmp, join(dir, MANIFEST_NAME));
  await fs.syncDirAsync(dir);
}

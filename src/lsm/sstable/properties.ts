/**
 * The properties block: facts about a table that the engine (and `weir inspect`) can
 * read without scanning it. Encoded as a block (restartInterval 1) of
 * name → value, names sorted; numbers are varint64, keys raw bytes, strings UTF-8.
 * Unknown names are ignored by readers (forward compatible); missing required names
 * are corruption.
 */
import { CorruptionError } from '../../util/errors.ts';
import { BlockBuilder } from './block-builder.ts';
import { BlockIterator, type Block } from './block.ts';
import { getVarint, putVarint, varintPos, varintValue } from './format.ts';

export interface TableProperties {
  /** Point entries (puts + point deletes) in data blocks. */
  pointEntries: number;
  /** Point deletes among pointEntries. */
  deletions: number;
  rangeTombstones: number;
  dataBlocks: number;
  /** Bytes of data blocks as stored (compressed, with trailers). */
  dataSize: number;
  indexSize: number;
  filterSize: number;
  /** Sum of internal key lengths and value lengths before prefix compression/codec. */
  rawKeySize: number;
  rawValueSize: number;
  /**
   * Smallest and largest user key covered by the table, range tombstones included (a
   * tombstone [s, e) contributes s and e; e is exclusive, so `largest` may be a key the
   * table has no entry for: overlap checks that treat it as inclusive stay correct).
   * Empty arrays for an empty table.
   */
  smallestKey: Uint8Array;
  largestKey: Uint8Array;
  minSeq: number;
  maxSeq: number;
  compression: string;
  blockSize: number;
  restartInterval: number;
  bloomBitsPerKey: number;
  /** Wall-clock ms given by the caller's Clock (0 if not given). */
  creationTime: number;
  /** Free-form: who wrote the table ("flush", "compaction L1→L2", …). */
  creator: string;
}

const NUMBER_PROPS = [
  'pointEntries', 'deletions', 'rangeTombstones', 'dataBlocks', 'dataSize', 'indexSize', 'filterSize',
  'rawKeySize', 'rawValueSize', 'minSeq', 'maxSeq', 'blockSize', 'restartInterval', 'bloomBitsPerKey', 'creationTime',
] as const;
const BYTES_PROPS = ['smallestKey', 'largestKey'] as const;
const STRING_PROPS = ['compression', 'creator'] as const;

const PREFIX = 'weir.';
const utf8 = new TextEncoder();
const utf8d = new TextDecoder('utf-8', { fatal: true });

export function encodeProperties(p: TableProperties, restartInterval = 1): Uint8Array {
  const entries: [string, Uint8Array][] = [];
  const scratch = new Uint8Array(10);
  for (const name of NUMBER_PROPS) entries.push([PREFIX + name, scratch.slice(0, putVarint(scratch, 0, p[name]))]);
  for (const name of BYTES_PROPS) entries.push([PREFIX + name, p[name]]);
  for (const name of STRING_PROPS) entries.push([PREFIX + name, utf8.encode(p[name])]);
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const builder = new BlockBuilder(restartInterval);
  for (const [name, value] of entries) builder.add(utf8.encode(name), value);
  return builder.finish().slice();
}

export function decodeProperties(block: Block): TableProperties {
  const found = new Map<string, Uint8Array>();
  const it = new BlockIterator(block, false);
  for (it.seekToFirst(); it.valid; it.next()) found.set(utf8d.decode(it.key), new Uint8Array(it.value));
  const missing = (name: string): never => {
    throw new CorruptionError(block.fileName, block.fileOffset, `properties block lacks ${PREFIX}${name}`);
  };
  const out: Partial<Record<string, number | string | Uint8Array>> = {};
  for (const name of NUMBER_PROPS) {
    const v = found.get(PREFIX + name) ?? missing(name);
    if (!getVarint(v, 0, v.length) || varintPos !== v.length) {
      throw new CorruptionError(block.fileName, block.fileOffset, `property ${PREFIX}${name} is not a varint`);
    }
    out[name] = varintValue;
  }
  for (const name of BYTES_PROPS) out[name] = found.get(PREFIX + name) ?? missing(name);
  for (const name of STRING_PROPS) {
    const v = found.get(PREFIX + name) ?? missing(name);
    try {
      out[name] = utf8d.decode(v);
    } catch (err) {
      throw new CorruptionError(block.fileName, block.fileOffset, `property ${PREFIX}${name} is not UTF-8`, { cause: err });
    }
  }
  return out as unknown as TableProperties;
}

/**
 * Serializers for keys, namespaces and values.
 *
 * - `msgpackSerializer` (the default everywhere): msgpackr with records off, so plain
 *   objects, arrays, strings, numbers, booleans and null round-trip and the same value
 *   always gives the same bytes (needed: keys are hashed and compared as bytes).
 * - Order-preserving serializers for MapState user keys, whose entries iterate in
 *   byte order of the serialized key: `stringKeySerializer` (UTF-8: byte order = code
 *   point order), `float64KeySerializer` (IEEE-754 big-endian with the sign flipped:
 *   byte order = numeric order, -0 < +0, NaN last), `int32KeySerializer` (4 bytes).
 *
 * Custom serializers implement Serializer<T>; an optional `id` is recorded in a
 * snapshot's meta so a restore can tell which serializer wrote the keys. serialize()
 * must return bytes it never modifies afterwards (the heap backend keeps them as the
 * stored value), and equal keys must serialize to equal bytes (keys are hashed).
 */
import { Packr } from 'msgpackr';
import type { Serializer } from './types.ts';
import { StateError } from '../util/errors.ts';

export interface NamedSerializer<T> extends Serializer<T> {
  readonly id: string;
}

const packr = new Packr({ useRecords: false, moreTypes: false });

/** Longest string the fast path encodes (ASCII only; longer or non-ASCII strings go to msgpackr). */
const FAST_STRING_MAX = 0xff;

/**
 * The msgpack bytes msgpackr (with the options above) writes for 32-bit integers and
 * short ASCII strings, written directly — byte-identical (property-tested against
 * msgpackr in test/state/msgpack-fast-path.test.ts), because key bytes are persisted
 * and hashed for routing. Writes into out at off; returns the end offset, or -1 when
 * the value is not one of these (the caller falls back to msgpackr). out needs room for
 * 5 bytes (numbers) or 2 + length (strings).
 */
export function writeMsgpackFast(value: unknown, out: Uint8Array, off: number): number {
  if (typeof value === 'number') {
    if (value >>> 0 === value) {
      // Non-negative up to 2^32-1 (and -0, which msgpackr also writes as 0).
      if (value < 0x80) {
        out[off] = value;
        return off + 1;
      }
      if (value < 0x100) {
        out[off] = 0xcc;
        out[off + 1] = value;
        return off + 2;
      }
      if (value < 0x10000) {
        out[off] = 0xcd;
        out[off + 1] = value >>> 8;
        out[off + 2] = value & 0xff;
        return off + 3;
      }
      out[off] = 0xce;
      out[off + 1] = value >>> 24;
      out[off + 2] = (value >>> 16) & 0xff;
      out[off + 3] = (value >>> 8) & 0xff;
      out[off + 4] = value & 0xff;
      return off + 5;
    }
    if (value >> 0 === value) {
      if (value >= -0x20) {
        out[off] = 0x100 + value;
        return off + 1;
      }
      if (value >= -0x80) {
        out[off] = 0xd0;
        out[off + 1] = value + 0x100;
        return off + 2;
      }
      if (value >= -0x8000) {
        out[off] = 0xd1;
        out[off + 1] = (value >> 8) & 0xff;
        out[off + 2] = value & 0xff;
        return off + 3;
      }
      out[off] = 0xd2;
      out[off + 1] = (value >>> 24) & 0xff;
      out[off + 2] = (value >>> 16) & 0xff;
      out[off + 3] = (value >>> 8) & 0xff;
      out[off + 4] = value & 0xff;
      return off + 5;
    }
    return -1;
  }
  if (typeof value === 'string') {
    const n = value.length;
    if (n > FAST_STRING_MAX) return -1;
    const start = n < 0x20 ? off + 1 : off + 2;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c >= 0x80) return -1;
      out[start + i] = c;
    }
    if (n < 0x20) {
      out[off] = 0xa0 | n;
    } else {
      out[off] = 0xd9;
      out[off + 1] = n;
    }
    return start + n;
  }
  return -1;
}

/** The most bytes writeMsgpackFast writes. */
export const MSGPACK_FAST_MAX_BYTES = 2 + FAST_STRING_MAX;

/**
 * Decodes the forms writeMsgpackFast writes (integers; fixstr/str8 of ASCII) when they
 * span exactly `bytes`; undefined otherwise (the caller falls back to msgpackr). The
 * result equals msgpackr's for these bytes.
 */
function readMsgpackFast(bytes: Uint8Array): unknown {
  const n = bytes.length;
  if (n === 0) return undefined;
  const b = bytes[0]!;
  if (n === 1) {
    if (b < 0x80) return b;
    if (b >= 0xe0) return b - 0x100;
    return undefined;
  }
  switch (b) {
    case 0xcc:
      return n === 2 ? bytes[1]! : undefined;
    case 0xcd:
      return n === 3 ? (bytes[1]! << 8) | bytes[2]! : undefined;
    case 0xce:
      return n === 5 ? ((bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]!) >>> 0 : undefined;
    case 0xd0:
      return n === 2 ? (bytes[1]! << 24) >> 24 : undefined;
    case 0xd1:
      return n === 3 ? (((bytes[1]! << 8) | bytes[2]!) << 16) >> 16 : undefined;
    case 0xd2:
      return n === 5 ? (bytes[1]! << 24) | (bytes[2]! << 16) | (bytes[3]! << 8) | bytes[4]! : undefined;
    default:
      break;
  }
  if ((b & 0xe0) === 0xa0 && n === 1 + (b & 0x1f) && n <= 16) {
    for (let i = 1; i < n; i++) if (bytes[i]! >= 0x80) return undefined;
    return String.fromCharCode.apply(null, bytes.subarray(1) as unknown as number[]);
  }
  return undefined;
}

const intScratch = new Uint8Array(5);

/**
 * The 32-bit integer whose msgpack bytes (as writeMsgpackFast writes them) are exactly
 * bytes[start, end), or undefined (other values, or a non-canonical encoding).
 */
export function msgpackIntAt(bytes: Uint8Array, start: number, end: number): number | undefined {
  const v = readMsgpackFast(bytes.subarray(start, end));
  if (typeof v !== 'number') return undefined;
  const n = writeMsgpackFast(v, intScratch, 0);
  if (n !== end - start) return undefined;
  for (let i = 0; i < n; i++) if (intScratch[i] !== bytes[start + i]) return undefined;
  return v;
}

/**
 * A fresh array with src[start, end). For the few bytes of the fast path a loop into
 * `new Uint8Array` is ~2x faster than `slice` (measured, Node 20): less GC work too.
 */
export function copyRange(src: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  for (let i = start; i < end; i++) out[i - start] = src[i]!;
  return out;
}

/** Scratch for serialize's fast path (copied out: results must never change afterwards). */
const scratch = new Uint8Array(MSGPACK_FAST_MAX_BYTES);

export const msgpackSerializer: NamedSerializer<any> = {
  id: 'msgpack',
  serialize(value: unknown): Uint8Array {
    const end = writeMsgpackFast(value, scratch, 0);
    if (end >= 0) return copyRange(scratch, 0, end);
    // msgpackr returns a view into a shared, append-only buffer: earlier results stay valid.
    return packr.pack(value);
  },
  deserialize(bytes: Uint8Array): unknown {
    const v = readMsgpackFast(bytes);
    if (v !== undefined) return v;
    return hasProtoKey(bytes) ? objectsFromMaps(mapPackr.unpack(bytes)) : packr.unpack(bytes);
  },
};

/**
 * msgpackr decodes a map key "__proto__" as "__proto_" (its guard against prototype
 * pollution), so a value with such a key — a count per word kept in an object, and the
 * word was "__proto__" — came back changed. Values whose bytes hold that string (msgpack
 * fixstr a9 + "__proto__") are decoded with maps as Maps instead, and the Maps turned into
 * plain objects whose "__proto__" is an own data property (as JSON.parse makes it),
 * never the prototype.
 */
const mapPackr = new Packr({ useRecords: false, moreTypes: false, mapsAsObjects: false });
const PROTO_KEY = [0xa9, ...new TextEncoder().encode('__proto__')];

function hasProtoKey(bytes: Uint8Array): boolean {
  outer: for (let i = bytes.indexOf(0xa9); i >= 0 && i + PROTO_KEY.length <= bytes.length; i = bytes.indexOf(0xa9, i + 1)) {
    for (let j = 1; j < PROTO_KEY.length; j++) if (bytes[i + j] !== PROTO_KEY[j]) continue outer;
    return true;
  }
  return false;
}

function objectsFromMaps(v: unknown): unknown {
  if (v instanceof Map) {
    const o: Record<string, unknown> = {};
    for (const [k, x] of v) Object.defineProperty(o, String(k), { value: objectsFromMaps(x), enumerable: true, writable: true, configurable: true });
    return o;
  }
  if (Array.isArray(v)) return v.map(objectsFromMaps);
  return v;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export const stringKeySerializer: NamedSerializer<string> = {
  id: 'string-utf8',
  serialize(value: string): Uint8Array {
    if (typeof value !== 'string') throw new StateError(`stringKeySerializer: not a string: ${typeof value}`);
    return utf8Encoder.encode(value);
  },
  deserialize(bytes: Uint8Array): string {
    return utf8Decoder.decode(bytes);
  },
};

/** f64 big-endian; positive: flip the sign bit, negative: flip every bit. */
export const float64KeySerializer: NamedSerializer<number> = {
  id: 'float64-ordered',
  serialize(value: number): Uint8Array {
    if (typeof value !== 'number') throw new StateError(`float64KeySerializer: not a number: ${typeof value}`);
    const out = new Uint8Array(8);
    new DataView(out.buffer).setFloat64(0, value, false);
    if ((out[0]! & 0x80) === 0) {
      out[0] = out[0]! | 0x80;
    } else {
      for (let i = 0; i < 8; i++) out[i] = ~out[i]! & 0xff;
    }
    return out;
  },
  deserialize(bytes: Uint8Array): number {
    if (bytes.length !== 8) throw new StateError(`float64KeySerializer: expected 8 bytes, got ${bytes.length}`);
    const b = new Uint8Array(bytes);
    if ((b[0]! & 0x80) !== 0) {
      b[0] = b[0]! & 0x7f;
    } else {
      for (let i = 0; i < 8; i++) b[i] = ~b[i]! & 0xff;
    }
    return new DataView(b.buffer).getFloat64(0, false);
  },
};

/** Signed 32-bit integers, big-endian with the sign bit flipped. */
export const int32KeySerializer: NamedSerializer<number> = {
  id: 'int32-ordered',
  serialize(value: number): Uint8Array {
    if (!Number.isInteger(value) || value < -0x8000_0000 || value > 0x7fff_ffff) {
      throw new StateError(`int32KeySerializer: not a 32-bit integer: ${value}`);
    }
    const u = (value ^ 0x8000_0000) >>> 0;
    return Uint8Array.of(u >>> 24, (u >>> 16) & 0xff, (u >>> 8) & 0xff, u & 0xff);
  },
  deserialize(bytes: Uint8Array): number {
    if (bytes.length !== 4) throw new StateError(`int32KeySerializer: expected 4 bytes, got ${bytes.length}`);
    const u = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    return (u ^ 0x8000_0000) | 0;
  },
};

/** Raw bytes, unchanged (the caller keeps ownership; copy if you mutate). */
export const bytesSerializer: NamedSerializer<Uint8Array> = {
  id: 'bytes',
  serialize: (value) => value,
  deserialize: (bytes) => bytes,
};

export function serializerId(s: Serializer<unknown> | undefined): string {
  if (s === undefined) return msgpackSerializer.id;
  const id = (s as Partial<NamedSerializer<unknown>>).id;
  return typeof id === 'string' ? id : 'custom';
}

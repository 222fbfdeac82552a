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

export const msgpackSerializer: NamedSerializer<any> = {
  id: 'msgpack',
  serialize(value: unknown): Uint8Array {
    // msgpackr returns a view into a shared, append-only buffer: earlier results stay valid.
    return packr.pack(value);
  },
  deserialize(bytes: Uint8Array): unknown {
    return packr.unpack(bytes);
  },
};

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

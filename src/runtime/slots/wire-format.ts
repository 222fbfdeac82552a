/**
 * How stream elements cross a thread: records in batches, serialised once per batch
 * with msgpack into a fresh ArrayBuffer that is transferred (moved, not copied) with
 * postMessage; their timestamps as a Float64Array (NaN: none), transferred too, and left
 * out when no record of the batch has one. Control
 * elements (barrier, watermark, idle/active, end) travel as small plain objects in
 * their own message, in order with the batches of the same channel (a MessagePort
 * delivers in order).
 *
 * Why msgpack + transfer and not a SharedArrayBuffer ring or structured clone:
 * bench/throughput/cross-thread.ts measures the three; docs/runtime.md has the numbers.
 */
import { Packr } from 'msgpackr';
import { ACTIVE, Barrier, END, IDLE, Watermark, type ControlElement } from '../elements.ts';

const packr = new Packr({ useRecords: false });

/**
 * The records of one batch as msgpack, in an ArrayBuffer of their own (for
 * postMessage(…, [bytes.buffer])); their timestamps travel beside as a Float64Array, and
 * only when one of them has a timestamp (remote-channel.ts).
 */
export function encodeValues(values: readonly unknown[]): Uint8Array {
  // msgpackr packs into a reused internal buffer: copy out the batch's bytes into an ArrayBuffer of its own.
  return new Uint8Array(packr.pack(values));
}

export function decodeValues(bytes: Uint8Array): unknown[] {
  return packr.unpack(bytes) as unknown[];
}

export type EncodedControl =
  | { readonly k: 'barrier'; readonly id: number; readonly ts: number; readonly ck: 'checkpoint' | 'savepoint' }
  | { readonly k: 'watermark'; readonly ts: number }
  | { readonly k: 'idle' | 'active' | 'end' };

export function encodeControl(e: ControlElement): EncodedControl {
  switch (e.kind) {
    case 'barrier': {
      const b = e as Barrier;
      return { k: 'barrier', id: b.checkpointId, ts: b.timestamp, ck: b.checkpointKind };
    }
    case 'watermark':
      return { k: 'watermark', ts: (e as Watermark).timestamp };
    default:
      return { k: e.kind };
  }
}

export function decodeControl(e: EncodedControl): ControlElement {
  switch (e.k) {
    case 'barrier':
      return new Barrier(e.id, e.ts, e.ck);
    case 'watermark':
      return new Watermark(e.ts);
    case 'idle':
      return IDLE;
    case 'active':
      return ACTIVE;
    case 'end':
      return END;
  }
}

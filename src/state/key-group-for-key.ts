/**
 * Routing helper: the key group of a record key, computed exactly as the backends do in
 * setCurrentKey (same serializer, same hash), so the runtime sends every record to the
 * subtask whose backend owns its key group.
 *
 * It runs once per record on every keyBy edge with more than one consumer, so the
 * default serializer's common keys (32-bit integers, short ASCII strings) take
 * writeMsgpackFast's path: written into a scratch buffer and hashed in place, nothing
 * allocated — the same bytes msgpackSerializer.serialize returns, so the same key group.
 */
import type { Serializer } from './types.ts';
import { keyGroupOf, murmur3 } from './key-groups.ts';
import { MSGPACK_FAST_MAX_BYTES, msgpackSerializer, writeMsgpackFast } from './serializers.ts';

const scratch = new Uint8Array(MSGPACK_FAST_MAX_BYTES);

export function keyGroupForKey(key: unknown, maxParallelism: number, keySerializer: Serializer<unknown> = msgpackSerializer): number {
  if (keySerializer === msgpackSerializer) {
    const end = writeMsgpackFast(key, scratch, 0);
    if (end >= 0) return murmur3(scratch, 0, 0, end) % maxParallelism;
  }
  return keyGroupOf(keySerializer.serialize(key), maxParallelism);
}

/**
 * Routing helper: the key group of a record key, computed exactly as the backends do in
 * setCurrentKey (same serializer, same hash), so the runtime sends every record to the
 * subtask whose backend owns its key group.
 */
import type { Serializer } from './types.ts';
import { keyGroupOf } from './key-groups.ts';
import { msgpackSerializer } from './serializers.ts';

export function keyGroupForKey(key: unknown, maxParallelism: number, keySerializer: Serializer<unknown> = msgpackSerializer): number {
  return keyGroupOf(keySerializer.serialize(key), maxParallelism);
}

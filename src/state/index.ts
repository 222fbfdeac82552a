/**
 * src/state's public surface: keyed state for user code, the two backends and their
 * snapshot strategies, key groups, serializers. See DESIGN.md §1–2.
 */
import type { KeyedStateBackend, StateDescriptor } from './types.ts';
import { unreachable } from '../util/assert.ts';
import { createHeapBackend } from './heap-backend.ts';
import type { BackendOptions } from './backend-base.ts';
import { createLsmBackend } from './lsm-backend.ts';
import type { LsmBackendOptions } from './lsm-backend.ts';

export type * from './types.ts';
export type * from './handles.ts';
/** Engine statistics of an lsm backend's store (for metrics and the REST API; web must not import src/lsm). */
export type { LsmStats } from '../lsm/types.ts';
export type { BackendOptions, BackendExtraOptions } from './backend-base.ts';
export { HeapKeyedBackend, createHeapBackend } from './heap-backend.ts';
export { LsmKeyedBackend, createLsmBackend, openLsmBackendWith, defaultLsmEngine } from './lsm-backend.ts';
export type { LsmBackendOptions, LsmEngine } from './lsm-backend.ts';
export {
  murmur3, keyGroupOf, subtaskForKeyGroup, keyGroupRangeForSubtask, rangeContains, rangeSize, intersectRanges,
  defaultMaxParallelism, MAX_MAX_PARALLELISM,
} from './key-groups.ts';
export {
  msgpackSerializer, stringKeySerializer, float64KeySerializer, int32KeySerializer, bytesSerializer,
} from './serializers.ts';
export type { NamedSerializer } from './serializers.ts';
export type { TimerDomain } from './timer-queue.ts';

export type StateBackendKind = 'heap' | 'lsm';

/**
 * Opens a keyed state backend of the given kind, restoring `opts.restoreFrom` (the key
 * groups of `opts.keyGroupRange`). lsm options (incremental, lsmOptions) are ignored by heap.
 */
export function createKeyedStateBackend(kind: StateBackendKind, opts: BackendOptions | LsmBackendOptions): Promise<KeyedStateBackend> {
  return kind === 'heap' ? createHeapBackend(opts) : createLsmBackend(opts);
}

/** The key group of a record key, as the backends compute it (for routing records to subtasks). */
export { keyGroupForKey } from './key-group-for-key.ts';

/** The state a descriptor names (for APIs that declare state up front). */
export function stateFromDescriptor(backend: KeyedStateBackend, d: StateDescriptor): unknown {
  switch (d.kind) {
    case 'value':
      return backend.getValueState(d.name, d.serializer);
    case 'list':
      return backend.getListState(d.name, d.serializer);
    case 'map':
      return backend.getMapState(d.name, d.keySerializer, d.valueSerializer);
    case 'reducing':
      return backend.getReducingState(d.name, d.reduce, d.serializer);
    case 'aggregating':
      return backend.getAggregatingState(d.name, d.aggregate, d.accumulatorSerializer);
    default:
      return unreachable(d, 'unknown state kind');
  }
}

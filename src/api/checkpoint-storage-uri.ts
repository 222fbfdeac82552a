/** Opens checkpoint storage from what a user writes: a directory, `file://…` or `s3://bucket/prefix` (src/storage's createStorage). */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { createStorage } from '../storage/create-storage.ts';
import { wrapWithFaults } from '../storage/faults-from-env.ts';

export function openCheckpointStorage(spec: string | CheckpointStorage): CheckpointStorage {
  // WEIR_FAULTS (test-only) wraps it in a FaultInjectingStorage: src/storage/faults-from-env.ts.
  return typeof spec === 'string' ? wrapWithFaults(createStorage(spec), process.env['WEIR_FAULTS']) : spec;
}

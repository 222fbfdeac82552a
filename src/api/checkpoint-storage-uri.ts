/** Opens checkpoint storage from what a user writes: a directory, `file://…` or `s3://bucket/prefix` (src/storage's createStorage). */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { createStorage } from '../storage/create-storage.ts';

export function openCheckpointStorage(spec: string | CheckpointStorage): CheckpointStorage {
  return typeof spec === 'string' ? createStorage(spec) : spec;
}

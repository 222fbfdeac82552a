/** The storage layer's public surface (DESIGN.md §1): durable bytes for checkpoints. */
export type { CheckpointStorage, ConcurrencyLimit, ObjectInfo, WriteResult } from './checkpoint-storage.ts';
export { createStorage } from './create-storage.ts';
export type { CreateStorageOptions } from './create-storage.ts';
export { MemoryStorage } from './memory-storage.ts';
export { LocalStorage } from './local-storage.ts';
export type { LocalStorageOptions } from './local-storage.ts';
export { S3Storage, classifyS3Error } from './s3-storage.ts';
export type { RetryInfo, S3Credentials, S3StorageOptions, S3StorageStats } from './s3-storage.ts';
export { FaultInjectingStorage, ALL_STORAGE_OPS, seededRandom } from './fault-injecting-storage.ts';
export type { FaultCounters, FaultInjectionOptions, FaultTiming, StorageOp } from './fault-injecting-storage.ts';
export { limitConcurrency } from './concurrency.ts';
export type { ConcurrencyLimitStats } from './concurrency.ts';
export { supportsStreamingWrite } from './streaming-write.ts';
export type { StreamingWrite } from './streaming-write.ts';
export { validatePath, validatePrefix, validateDeletePrefix, comparePaths } from './paths.ts';

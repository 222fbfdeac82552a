/**
 * Public surface of the sstable layer, used by the rest of the LSM engine (flush,
 * compaction, versions, the store). Format spec: ./format.ts.
 */
export { TableWriter } from './table-writer.ts';
export type { TableWriterOptions, TableWriteResult, RangeTombstone } from './table-writer.ts';
export { TableReader, TableIterator } from './table-reader.ts';
export type { GetResult, TableRegion } from './table-reader.ts';
export type { TableProperties } from './properties.ts';
export { BlockCache } from '../cache/block-cache.ts';
export type { BlockCacheStats } from '../cache/block-cache.ts';
export { TableCache } from '../cache/table-cache.ts';
export type { TableCacheOptions, TableHandle, TableCacheStats } from '../cache/table-cache.ts';
export { DEFAULT_COMPRESSION } from '../compression.ts';
export type { CompressionName } from '../compression.ts';

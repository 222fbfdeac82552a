/**
 * An optional capability beyond CheckpointStorage: write an object from an async stream
 * of chunks. Memory, local and S3 storage implement it. It exists so that a writer can
 * upload bytes it produces on the fly, and so that FaultInjectingStorage can make a
 * write fail half way *inside* the real implementation (the source throws after half
 * the bytes), which is how the contract suite proves writes are atomic.
 *
 * Same atomicity as write(): if the source throws, nothing becomes visible.
 * The source is consumed at most once, so implementations do not retry it.
 */
import type { CheckpointStorage, WriteResult } from './checkpoint-storage.ts';

export interface StreamingWrite {
  writeStream(path: string, source: AsyncIterable<Uint8Array>): Promise<WriteResult>;
}

export function supportsStreamingWrite(storage: CheckpointStorage): storage is CheckpointStorage & StreamingWrite {
  return typeof (storage as Partial<StreamingWrite>).writeStream === 'function';
}

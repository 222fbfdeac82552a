/**
 * State handles: what a subtask's snapshot leaves in checkpoint storage, and what a
 * restore needs to rebuild it. Produced by src/state (snapshot strategies), stored
 * in `_metadata` by src/checkpoint, counted by its SharedStateRegistry.
 *
 * (DESIGN.md lists state handles under src/checkpoint; they live here because the
 * state backends produce and consume them and src/state must not import
 * src/checkpoint. src/checkpoint re-exports them.)
 *
 * All shapes are plain JSON (no classes, no bigint) so `_metadata` is inspectable.
 */

/** Inclusive range of key groups [start, end]. */
export interface KeyGroupRange {
  readonly start: number;
  readonly end: number;
}

/** An immutable file shared between checkpoints (an sstable). */
export interface SharedFileRef {
  /**
   * Shared state registry key: operator + subtask + original local file name, as in
   * the seed's `op-2-1-sstable-(1)`: `${operatorId}-${subtaskIndex}-${localName}`.
   */
  readonly registryKey: string;
  /** The file's name in the local LSM store (what the manifest refers to). */
  readonly localName: string;
  /** Path in checkpoint storage, relative to the storage root: `<job>/shared/<unique>`. */
  readonly path: string;
  readonly size: number;
  /** CRC-32C of the whole file, hex. */
  readonly checksum: string;
  /** Checkpoint id whose snapshot uploaded this file. */
  readonly uploadedBy: number;
  /** True when this checkpoint re-references an earlier upload (the seed's placeholder). */
  readonly reused: boolean;
}

/** A file owned by exactly one checkpoint's handle (manifest, state meta, heap data). */
export interface PrivateFileRef {
  /** Role of the file inside the handle, e.g. "MANIFEST", "meta", "heap-kg-0-127". */
  readonly name: string;
  /** `<job>/taskowned/<unique>`. */
  readonly path: string;
  readonly size: number;
  readonly checksum: string;
}

export type KeyedStateHandleFormat = 'lsm' | 'heap';

export interface KeyedStateHandle {
  readonly format: KeyedStateHandleFormat;
  /** 'incremental' references earlier uploads; 'full' is self-contained (savepoints, full mode, heap). */
  readonly mode: 'incremental' | 'full';
  /** Random id of the backend instance that wrote it (new for every open/restore). */
  readonly backendId: string;
  readonly operatorId: string;
  readonly subtaskIndex: number;
  readonly keyGroupRange: KeyGroupRange;
  readonly maxParallelism: number;
  readonly checkpointId: number;
  readonly sharedFiles: readonly SharedFileRef[];
  readonly privateFiles: readonly PrivateFileRef[];
  /** Bytes of every file this handle needs (what a restore downloads). */
  readonly fullSize: number;
  /** Bytes this checkpoint uploaded (new shared files + private files). */
  readonly incrementalSize: number;
  /** Registered states (name → id, kind), so a restore can check compatibility. */
  readonly states: readonly { readonly name: string; readonly id: number; readonly kind: string }[];
}

/** Where and how a snapshot writes: given to KeyedStateBackend.snapshot by the task. */
export interface SnapshotTarget {
  /** Job directory inside the storage root, e.g. "wordcount". */
  readonly jobPath: string;
  readonly checkpointId: number;
  /** 'savepoint' forces a full, self-contained snapshot and never changes the incremental base (FLINK-23949). */
  readonly kind: 'checkpoint' | 'savepoint';
}

/**
 * SharedStateRegistry: reference counts of the files that completed checkpoints share
 * (the seed's "shared state registry": `op-2-1-sstable-(1) -> dfs:/cp-1/23-23-42 : 2`).
 *
 * Identity. Entries are identified by the file's PATH in checkpoint storage; the
 * registry key (`<operator>-<subtask>-<local file name>`) is kept on each entry for
 * display and lookup. Keying the counts by path instead of by registry key is deliberate
 * (Flink moved the same way after FLINK-29913): with concurrent checkpoints, two
 * checkpoints based on the same confirmed base may both upload the same local sstable
 * under two different unique paths; both are live and both must be counted. In the
 * ordinary case (one path per key) this is exactly the seed's registry.
 *
 * Rules (checked by problems() before the coordinator publishes a `_metadata`, and
 * asserted by registerCheckpoint()):
 *  - a re-referenced file (`reused: true`) must be registered already, with the same
 *    size and checksum: otherwise the checkpoint would point at a file that may be
 *    deleted (FLINK-25395);
 *  - a new upload (`reused: false`) must not be at a path already registered: names in
 *    shared/ are unique and never reused.
 *
 * Ownership: the CompletedCheckpointStore owns the registry and is its only mutator.
 * The registry never deletes anything; unregisterCheckpoint() returns what reached 0.
 * Savepoints are never registered (they are self-contained).
 */
import { assert } from '../util/assert.ts';
import type { CheckpointMetadata, SharedFileRef } from './types.ts';

export interface SharedStateEntry {
  /** Registry key, as in the seed: `op-2-1-sstable-(1)`. */
  readonly key: string;
  readonly path: string;
  readonly size: number;
  readonly checksum: string;
  /** Number of registered (retained) checkpoints that reference this file. */
  readonly refCount: number;
  /** Checkpoint id that uploaded the file. */
  readonly createdBy: number;
  /** Highest registered checkpoint id that references the file. */
  readonly lastUsedBy: number;
}

interface MutableEntry {
  key: string;
  path: string;
  size: number;
  checksum: string;
  refCount: number;
  createdBy: number;
  lastUsedBy: number;
}

export interface RegisterOptions {
  /**
   * Recovery from storage registers checkpoints whose re-referenced files may have been
   * uploaded by a checkpoint that is already gone; the first sight of a path then creates
   * its entry. Never set this for a freshly completed checkpoint.
   */
  readonly recovering?: boolean;
}

function sharedRefs(metadata: CheckpointMetadata): SharedFileRef[] {
  const out: SharedFileRef[] = [];
  for (const s of metadata.subtasks) if (s.keyed) out.push(...s.keyed.sharedFiles);
  return out;
}

export class SharedStateRegistry {
  /** path → entry. Invariant: every entry has refCount >= 1. */
  private readonly byPath = new Map<string, MutableEntry>();
  /** Ids of the checkpoints whose references are counted (guards double (un)registration). */
  private readonly registeredIds = new Set<number>();

  /** Why registerCheckpoint(metadata) would be refused; empty when it may be registered. */
  problems(metadata: CheckpointMetadata, options: RegisterOptions = {}): string[] {
    const out: string[] = [];
    if (metadata.kind !== 'checkpoint') out.push(`checkpoint ${metadata.checkpointId} is a ${metadata.kind}; savepoints are not registered`);
    if (this.registeredIds.has(metadata.checkpointId)) out.push(`checkpoint ${metadata.checkpointId} is already registered`);
    const newInThis = new Map<string, SharedFileRef>();
    for (const ref of sharedRefs(metadata)) {
      const entry = this.byPath.get(ref.path);
      const sameFile = (size: number, checksum: string): boolean => size === ref.size && checksum === ref.checksum;
      if (ref.reused) {
        const known = entry ?? (options.recovering ? newInThis.get(ref.path) : undefined);
        if (known === undefined) {
          if (!options.recovering) {
            out.push(`${ref.registryKey} re-references ${ref.path}, which no retained checkpoint registered (it may already be deleted)`);
          } else {
            newInThis.set(ref.path, ref);
          }
        } else if (!sameFile(known.size, known.checksum)) {
          out.push(`${ref.registryKey} re-references ${ref.path} with size/checksum ${ref.size}/${ref.checksum}, registered as ${known.size}/${known.checksum}`);
        }
      } else {
        if (entry !== undefined) {
          if (!(options.recovering && sameFile(entry.size, entry.checksum))) {
            out.push(`${ref.registryKey} is a new upload at ${ref.path}, but that path is already registered (as ${entry.key}, uploaded by checkpoint ${entry.createdBy}); shared file names must be unique`);
          }
        }
        const earlier = newInThis.get(ref.path);
        if (earlier !== undefined && !sameFile(earlier.size, earlier.checksum)) {
          out.push(`${ref.path} is referenced twice in checkpoint ${metadata.checkpointId} with different size/checksum`);
        }
        newInThis.set(ref.path, ref);
      }
    }
    return out;
  }

  /** +1 for every shared file the checkpoint references. */
  registerCheckpoint(metadata: CheckpointMetadata, options: RegisterOptions = {}): void {
    const problems = this.problems(metadata, options);
    assert(problems.length === 0, () => `cannot register checkpoint ${metadata.checkpointId}: ${problems.join('; ')}`);
    this.registeredIds.add(metadata.checkpointId);
    for (const ref of sharedRefs(metadata)) {
      const entry = this.byPath.get(ref.path);
      if (entry === undefined) {
        this.byPath.set(ref.path, {
          key: ref.registryKey,
          path: ref.path,
          size: ref.size,
          checksum: ref.checksum,
          refCount: 1,
          createdBy: ref.uploadedBy,
          lastUsedBy: metadata.checkpointId,
        });
      } else {
        entry.refCount++;
        entry.lastUsedBy = Math.max(entry.lastUsedBy, metadata.checkpointId);
        entry.createdBy = Math.min(entry.createdBy, ref.uploadedBy);
      }
    }
  }

  /** −1 for every shared file the checkpoint references; returns (and forgets) the entries that reached 0. */
  unregisterCheckpoint(metadata: CheckpointMetadata): SharedStateEntry[] {
    assert(this.registeredIds.has(metadata.checkpointId), () => `checkpoint ${metadata.checkpointId} is not registered`);
    this.registeredIds.delete(metadata.checkpointId);
    const released: SharedStateEntry[] = [];
    for (const ref of sharedRefs(metadata)) {
      const entry = this.byPath.get(ref.path);
      assert(entry !== undefined && entry.refCount > 0, () => `unregister of checkpoint ${metadata.checkpointId}: ${ref.path} is not registered`);
      entry.refCount--;
      if (entry.refCount === 0) {
        this.byPath.delete(ref.path);
        released.push({ ...entry });
      }
    }
    return released;
  }

  /**
   * The entries as they will be once these registered checkpoints are unregistered
   * (counts lowered, entries at 0 left out), without changing anything: what a view shows
   * while their subsumption runs.
   */
  entriesWithout(checkpoints: readonly CheckpointMetadata[]): SharedStateEntry[] {
    const drop = new Map<string, number>();
    for (const m of checkpoints) {
      if (!this.registeredIds.has(m.checkpointId)) continue;
      for (const ref of sharedRefs(m)) drop.set(ref.path, (drop.get(ref.path) ?? 0) + 1);
    }
    return this.entries().flatMap((e) => {
      const refCount = e.refCount - (drop.get(e.path) ?? 0);
      return refCount > 0 ? [{ ...e, refCount }] : [];
    });
  }

  isRegistered(path: string): boolean {
    return this.byPath.has(path);
  }

  getByPath(path: string): SharedStateEntry | undefined {
    const e = this.byPath.get(path);
    return e === undefined ? undefined : { ...e };
  }

  /** Entries with this registry key (normally at most one; see "Identity" above). */
  lookup(key: string): SharedStateEntry[] {
    return this.entries().filter((e) => e.key === key);
  }

  /** All entries, sorted by key then path. */
  entries(): SharedStateEntry[] {
    return [...this.byPath.values()]
      .map((e) => ({ ...e }))
      .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  registeredCheckpointIds(): number[] {
    return [...this.registeredIds].sort((a, b) => a - b);
  }

  get size(): number {
    return this.byPath.size;
  }
}

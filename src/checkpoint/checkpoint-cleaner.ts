/**
 * CheckpointsCleaner (Flink's name): deletes what a checkpoint that did not complete
 * uploaded — on abort, and for acknowledgements that arrive after their checkpoint ended
 * (FLINK-30461: late uploads must not leak) — and tracks that background work so a stop
 * can wait for it (a clean stop leaves no aborted upload behind).
 *
 * Deletion safety: a candidate is a new upload (never a re-referenced shared file) of the
 * given states; it is deleted only if it is inside `<job>/` and `isProtected` says no
 * retained checkpoint, savepoint or pending checkpoint references it. Protection is decided
 * when discard() is called: a path unprotected then cannot become referenced later, since
 * completions only re-reference registered files and new uploads have unique names.
 */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { isInsideJob } from '../storage/job-layout.ts';
import { assert } from '../util/assert.ts';
import { errorMessage } from '../util/errors.ts';
import type { CheckpointEvent } from './coordinator-types.ts';
import type { SubtaskState } from './types.ts';

export interface CleanerOptions {
  readonly job: string;
  readonly storage: CheckpointStorage;
  readonly isProtected: (path: string) => boolean;
  readonly emit: (event: CheckpointEvent) => void;
}

/** The new uploads of these states (what an aborted checkpoint may have to delete). */
export function uploadsOf(states: readonly SubtaskState[]): string[] {
  const out: string[] = [];
  for (const s of states) {
    const h = s.keyed;
    if (h === undefined) continue;
    for (const f of h.sharedFiles) if (!f.reused) out.push(f.path);
    for (const f of h.privateFiles) out.push(f.path);
  }
  return out;
}

export class CheckpointCleaner {
  private readonly background = new Set<Promise<unknown>>();

  constructor(private readonly o: CleanerOptions) {}

  /** Deletes, in the background, the uploads of these states that nothing references. */
  discard(checkpointId: number, states: readonly SubtaskState[], late: boolean): void {
    const candidates = uploadsOf(states);
    if (candidates.length === 0) return;
    const doomed = [...new Set(candidates)].filter((path) => isInsideJob(this.o.job, path) && !this.o.isProtected(path));
    this.track((async () => {
      const deleted: string[] = [];
      const failed: string[] = [];
      for (const path of doomed) {
        try {
          await this.o.storage.delete(path);
          deleted.push(path);
        } catch (err) {
          failed.push(`${path}: ${errorMessage(err)}`);
        }
      }
      this.o.emit({ type: 'cleanup', checkpointId, deleted, failed, late });
    })());
  }

  /** Tracks other background work of the coordinator (its completion chain). */
  track(work: Promise<unknown>): void {
    const tracked = work.catch(() => undefined).finally(() => this.background.delete(tracked));
    this.background.add(tracked);
  }

  /** Resolves when no tracked work is running; `before` is awaited first in every round. */
  async whenIdle(before: () => Promise<void> = async () => undefined): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      await before();
      if (this.background.size === 0) return;
      await Promise.allSettled([...this.background]);
    }
    assert(false, 'background work did not settle');
  }
}

/**
 * Checkpoint id counters (Flink's CheckpointIDCounter): ids strictly increase for the life
 * of a job — across checkpoints, savepoints, in-process restarts and processes — and are
 * never handed out twice. A transactional sink names its transactions by (job, subtask,
 * checkpoint id) and the dashboard keys its rows by id, so a reused id is a collision.
 *
 * InMemoryCheckpointIdCounter: for a coordinator on its own (tests, tools): starts where
 * it is told and counts up; durable only through what checkpoints leave in storage.
 *
 * StorageCheckpointIdCounter: the one a run uses. `<job>/_checkpoint_ids` holds
 * `{ "reservedBelow": R }`: no id >= R was ever handed out. The counter hands out ids
 * only below its durable reservation and extends the reservation (R += block) in the
 * background when half of it is used, so triggering stays synchronous. After a crash
 * the next run starts at R (skipping at most `block` ids, as a database sequence with a
 * cache does); a clean close() writes R = next, so the next run continues without a gap.
 * Only the holder of the job's lease (job-lease.ts) writes the file.
 */
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { checkpointIdsPath } from '../storage/job-layout.ts';
import type { Clock } from '../util/clock.ts';
import { CorruptionError, NotFoundError, errorMessage } from '../util/errors.ts';
import { retryTransient } from './transient-retry.ts';

export interface CheckpointIdCounter {
  /** The id the next call of next() returns (if it returns one). */
  peek(): number;
  /** Hands out the next id, or undefined while no durable reservation covers it (the caller declines the trigger). */
  next(): number | undefined;
  /** Moves the counter up to at least `id` (ids in storage from before); durable before it resolves. */
  advanceTo(id: number): Promise<void>;
}

export class InMemoryCheckpointIdCounter implements CheckpointIdCounter {
  constructor(private nextId = 1) {}

  peek(): number {
    return this.nextId;
  }

  next(): number {
    return this.nextId++;
  }

  async advanceTo(id: number): Promise<void> {
    this.nextId = Math.max(this.nextId, id);
  }
}

export interface StorageCheckpointIdCounterOptions {
  readonly storage: CheckpointStorage;
  readonly job: string;
  readonly clock: Clock;
  /** Ids reserved per durable write. Default 16. */
  readonly block?: number;
  readonly onWarning?: (message: string) => void;
}

export class StorageCheckpointIdCounter implements CheckpointIdCounter {
  private readonly path: string;
  private readonly block: number;
  private nextId: number;
  /** Durable: no id >= this was handed out (by any run). */
  private reservedBelow: number;
  private extending: Promise<void> | undefined;

  private constructor(private readonly o: StorageCheckpointIdCounterOptions, next: number) {
    this.path = checkpointIdsPath(o.job);
    this.block = Math.max(2, o.block ?? 16);
    this.nextId = next;
    this.reservedBelow = next;
  }

  /** Reads the job's counter (absent: 1) and reserves the first block. Call while holding the job's lease. */
  static async open(o: StorageCheckpointIdCounterOptions): Promise<StorageCheckpointIdCounter> {
    let start = 1;
    try {
      const bytes = await retryTransient(o.clock, () => o.storage.read(checkpointIdsPath(o.job)));
      const doc = JSON.parse(new TextDecoder().decode(bytes)) as { reservedBelow?: unknown };
      if (typeof doc.reservedBelow !== 'number' || !Number.isSafeInteger(doc.reservedBelow) || doc.reservedBelow < 1) throw new Error('no reservedBelow');
      start = doc.reservedBelow;
    } catch (err) {
      if (!(err instanceof NotFoundError)) {
        if (err instanceof SyntaxError || (err instanceof Error && err.message === 'no reservedBelow')) {
          throw new CorruptionError(checkpointIdsPath(o.job), undefined, `not a checkpoint id counter: ${errorMessage(err)}`);
        }
        throw err;
      }
    }
    const counter = new StorageCheckpointIdCounter(o, start);
    await counter.reserve(start + counter.block);
    return counter;
  }

  peek(): number {
    return this.nextId;
  }

  next(): number | undefined {
    if (this.nextId >= this.reservedBelow) {
      this.extend();
      return undefined;
    }
    const id = this.nextId++;
    if (this.reservedBelow - this.nextId <= this.block / 2) this.extend();
    return id;
  }

  async advanceTo(id: number): Promise<void> {
    if (id <= this.nextId) return;
    this.nextId = id;
    if (this.nextId + this.block / 2 >= this.reservedBelow) await this.reserve(this.nextId + this.block);
  }

  /** Clean end of the run: the next run continues at peek() (no gap). */
  async close(): Promise<void> {
    await this.extending;
    await this.write(this.nextId);
    this.reservedBelow = this.nextId;
  }

  private extend(): void {
    if (this.extending !== undefined) return;
    this.extending = this.reserve(this.nextId + this.block)
      .catch((err: unknown) => this.o.onWarning?.(`could not reserve checkpoint ids in ${this.path}: ${errorMessage(err)}`))
      .finally(() => {
        this.extending = undefined;
      });
  }

  private async reserve(below: number): Promise<void> {
    await this.write(below);
    this.reservedBelow = Math.max(this.reservedBelow, below);
  }

  private async write(below: number): Promise<void> {
    const bytes = new TextEncoder().encode(`${JSON.stringify({ reservedBelow: below })}\n`);
    await retryTransient(this.o.clock, () => this.o.storage.write(this.path, bytes));
  }
}

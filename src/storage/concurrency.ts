/**
 * limitConcurrency(n): at most n tasks in flight, the rest queued in FIFO order
 * (p-limit style). Used for parallel uploads and downloads of sstables.
 *
 * Invariant: active <= limit; a queued task starts only when a running one settles.
 * A task that throws synchronously or rejects frees its slot all the same.
 */
import { assert } from '../util/assert.ts';
import type { ConcurrencyLimit } from './checkpoint-storage.ts';

export interface ConcurrencyLimitStats {
  readonly active: number;
  readonly pending: number;
}

export function limitConcurrency(limit: number): ConcurrencyLimit & { stats(): ConcurrencyLimitStats } {
  assert(Number.isInteger(limit) && limit >= 1, () => `concurrency limit must be an integer >= 1, got ${limit}`);
  let active = 0;
  const queue: Array<() => void> = [];

  const next = (): void => {
    active--;
    assert(active >= 0, 'concurrency limit: more releases than acquisitions');
    const start = queue.shift();
    if (start) start();
  };

  const run = <T>(task: () => Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const start = (): void => {
        active++;
        assert(active <= limit, 'concurrency limit exceeded');
        // An async wrapper turns a synchronous throw into a rejection.
        const promise = (async () => task())();
        // The slot is released before the caller's promise settles, so when an await on
        // limit(task) returns, stats() already shows the slot free.
        promise.then(
          (value) => {
            next();
            resolve(value);
          },
          (err: unknown) => {
            next();
            // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the task's own rejection, passed through unchanged
            reject(err);
          },
        );
      };
      if (active < limit) start();
      else queue.push(start);
    });

  return Object.assign(run, { stats: (): ConcurrencyLimitStats => ({ active, pending: queue.length }) });
}

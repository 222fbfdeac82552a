/**
 * Retries a small storage operation of the checkpoint machinery's own bookkeeping (the
 * job lease, the checkpoint id counter) while it fails with a TransientStorageError:
 * at most `attempts` tries, `delayMs` doubling in between (on the injected clock). A run
 * must not fail to start, or lose its lease, over one dropped request; any other error
 * is thrown at once. (S3Storage already retries its requests; this covers every storage.)
 */
import type { Clock } from '../util/clock.ts';
import { isTransient } from '../util/errors.ts';

export async function retryTransient<T>(clock: Clock, fn: () => Promise<T>, attempts = 6, delayMs = 20): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!isTransient(err) || attempt >= attempts) throw err;
      await clock.sleep(delayMs * 2 ** (attempt - 1));
    }
  }
}

/**
 * Fair sharing of the event loop between the tasks of one process.
 *
 * Tasks process batches synchronously and await only settled promises while they have
 * work, which runs as microtasks: without a macrotask turn now and then, timers (the
 * coordinator's triggers) and I/O callbacks (uploads of a checkpoint's asynchronous
 * part, sink writes) would starve. Every task asks `shouldYield()` after a batch; once
 * the current turn has used its budget, the task awaits `yield()` (setImmediate), so
 * one turn of the event loop lasts about `budgetMs` whatever the number of tasks, and
 * an asynchronous snapshot that needs N I/O round trips takes about N turns.
 */
import type { Clock } from '../util/clock.ts';

export class TurnBudget {
  private turnStart: number;

  constructor(
    private readonly clock: Clock,
    private readonly budgetMs = 2,
  ) {
    this.turnStart = clock.monotonic();
  }

  shouldYield(): boolean {
    return this.clock.monotonic() - this.turnStart >= this.budgetMs;
  }

  yield(): Promise<void> {
    return new Promise((resolve) =>
      setImmediate(() => {
        this.turnStart = this.clock.monotonic();
        resolve();
      }),
    );
  }
}

/**
 * The task's mailbox (Flink's MailboxProcessor): actions that must run on the task's
 * loop between batches — barrier injection at a source, checkpoint notifications,
 * processing-time timers, end-of-input release. Anyone may enqueue (it only queues and
 * wakes the loop); only the loop runs them, so operators and state backends are never
 * touched from outside the loop.
 *
 * Invariants: actions run in the order they were enqueued; one `runAll()` runs the
 * actions present when it started (an action enqueued meanwhile waits for the next
 * round, so a self-rescheduling action cannot starve record processing).
 */
import type { Signal } from '../signal.ts';

export type MailboxAction = () => void | Promise<void>;

export class Mailbox {
  private readonly actions: MailboxAction[] = [];

  constructor(private readonly wakeUp: Signal) {}

  enqueue(action: MailboxAction): void {
    this.actions.push(action);
    this.wakeUp.notify();
  }

  hasMail(): boolean {
    return this.actions.length > 0;
  }

  /** Runs the actions queued now, one at a time, until done or `stopped()` says so. */
  async runAll(stopped: () => boolean): Promise<void> {
    let n = this.actions.length;
    while (n-- > 0 && !stopped()) {
      const action = this.actions.shift()!;
      await action();
    }
  }
}

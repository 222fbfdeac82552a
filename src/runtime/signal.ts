/**
 * A reusable wake-up: a task awaits `wait()` when it has nothing to do, and anything
 * that gives it work (a channel push, a mailbox action, cancellation) calls `notify()`.
 * A notify is never lost: it leaves a flag that makes the next wait() return at once
 * (at worst a spurious wake-up, after which the task finds nothing and waits again).
 */
export class Signal {
  private pending = false;
  private resolve: (() => void) | undefined;

  notify(): void {
    this.pending = true;
    const r = this.resolve;
    if (r) {
      this.resolve = undefined;
      r();
    }
  }

  wait(): Promise<void> {
    if (this.pending) {
      this.pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.resolve = resolve;
    });
  }
}

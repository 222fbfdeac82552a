/**
 * CheckpointRequestDecider (Flink's name): when the periodic trigger fires, whether a
 * checkpoint starts now, later (min pause), or when a slot frees (max concurrent); and
 * whether a manual request is refused. Savepoints are never refused for concurrency.
 *
 * Ownership: the coordinator tells it when a checkpoint ends (onCheckpointEnded) and how
 * many are in flight; the decider owns the periodic timer and calls `trigger` from it.
 */
import type { Clock, TimerHandle } from '../util/clock.ts';
import type { CheckpointKind } from './coordinator-types.ts';

export interface RequestDeciderOptions {
  readonly clock: Clock;
  /** Periodic interval in ms; 0 = only on request. */
  readonly interval: number;
  readonly minPause: number;
  readonly maxConcurrent: number;
  /** Checkpoints (not savepoints) in flight now. */
  readonly inFlight: () => number;
  /** Start a periodic checkpoint now. */
  readonly trigger: () => void;
  /** Why a periodic trigger did not start one. */
  readonly skipped: (reason: string) => void;
}

export class CheckpointRequestDecider {
  private timer: TimerHandle | undefined;
  /** The periodic trigger found maxConcurrent checkpoints in flight; trigger when one ends. */
  private waitingForSlot = false;
  private lastEndMono: number | undefined;
  private started = false;
  private stopped = false;
  /** Periodic triggering suspended (the job's input ended and its final checkpoint completed). */
  private paused = false;

  constructor(private readonly o: RequestDeciderOptions) {}

  /** Why a request of this kind must be refused now (undefined: it may start). */
  refusal(kind: CheckpointKind): string | undefined {
    if (kind === 'checkpoint' && this.o.inFlight() >= this.o.maxConcurrent) {
      return `${this.o.inFlight()} checkpoint(s) in flight, maxConcurrent is ${this.o.maxConcurrent}`;
    }
    return undefined;
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    if (this.o.interval > 0) this.schedule(this.o.interval);
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /**
   * Suspends periodic triggering until resume(): the job has nothing left to checkpoint
   * (its final checkpoint completed while the tasks drain), so a trigger would only be
   * refused and logged as a failed checkpoint.
   */
  pause(): void {
    this.paused = true;
    this.waitingForSlot = false;
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Resumes periodic triggering after pause(). */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.started && !this.stopped && this.o.interval > 0) this.schedule(this.o.interval);
  }

  /** A checkpoint (not a savepoint) ended, completed or aborted. */
  onCheckpointEnded(): void {
    this.lastEndMono = this.o.clock.monotonic();
    if (this.waitingForSlot && !this.stopped && !this.paused && this.started && this.o.interval > 0) {
      this.waitingForSlot = false;
      this.schedule(this.pauseRemaining());
    }
  }

  private schedule(delay: number): void {
    this.timer?.cancel();
    this.timer = this.o.clock.setTimeout(() => this.onTimer(), Math.max(0, delay));
  }

  private onTimer(): void {
    this.timer = undefined;
    if (this.stopped || this.paused) return;
    if (this.o.inFlight() >= this.o.maxConcurrent) {
      this.waitingForSlot = true;
      this.o.skipped(`maxConcurrent (${this.o.maxConcurrent}) checkpoints in flight`);
      return;
    }
    const pauseLeft = this.pauseRemaining();
    if (pauseLeft > 0) {
      this.o.skipped(`minPause: ${pauseLeft} ms left`);
      this.schedule(pauseLeft);
      return;
    }
    this.o.trigger();
    this.schedule(this.o.interval);
  }

  private pauseRemaining(): number {
    if (this.o.minPause <= 0 || this.lastEndMono === undefined) return 0;
    return Math.max(0, this.lastEndMono + this.o.minPause - this.o.clock.monotonic());
  }
}

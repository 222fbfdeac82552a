/**
 * Event time at a task with several input channels (Flink's StatusWatermarkValve): the
 * task's watermark is the minimum over its inputs that are active (not idle) or ended
 * (an ended input counts at MAX_WATERMARK); when every live input is idle the task
 * tells downstream it is idle, and active again when one wakes up.
 *
 * Invariants: the watermark passed on only grows; idle/active markers alternate (never
 * two of the same kind in a row downstream).
 */
import { MAX_WATERMARK, MIN_WATERMARK } from '../elements.ts';

export interface ValveOutput {
  /** The combined watermark advanced. */
  emitWatermark(timestamp: number): void;
  /** Every live input is idle (true), or one is active again (false). */
  emitIdle(idle: boolean): void;
}

export class StatusWatermarkValve {
  private readonly watermark: number[];
  private readonly idle: boolean[];
  private readonly ended: boolean[];
  private combined = MIN_WATERMARK;
  private idleDownstream = false;

  constructor(
    private readonly inputs: number,
    private readonly out: ValveOutput,
  ) {
    this.watermark = new Array<number>(inputs).fill(MIN_WATERMARK);
    this.idle = new Array<boolean>(inputs).fill(false);
    this.ended = new Array<boolean>(inputs).fill(false);
  }

  /** Event time at the task's input (what operators see as the current watermark). */
  current(): number {
    return this.combined;
  }

  onWatermark(input: number, timestamp: number): void {
    this.watermark[input] = timestamp;
    if (this.idle[input]) this.idle[input] = false;
    this.update();
  }

  onIdle(input: number, idle: boolean): void {
    this.idle[input] = idle;
    this.update();
  }

  /** Input ended: it no longer holds event time back. */
  onEnd(input: number): void {
    this.ended[input] = true;
    this.watermark[input] = MAX_WATERMARK;
    this.update();
  }

  private update(): void {
    let min = MAX_WATERMARK;
    let active = 0;
    for (let i = 0; i < this.inputs; i++) {
      if (this.idle[i] && !this.ended[i]) continue;
      active++;
      if (this.watermark[i]! < min) min = this.watermark[i]!;
    }
    if (active === 0) {
      if (!this.idleDownstream) {
        this.idleDownstream = true;
        this.out.emitIdle(true);
      }
      return;
    }
    if (this.idleDownstream) {
      this.idleDownstream = false;
      this.out.emitIdle(false);
    }
    if (min > this.combined) {
      this.combined = min;
      this.out.emitWatermark(min);
    }
  }
}

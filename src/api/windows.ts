/** Event-time window assigners (sizes in milliseconds). */
import type { WindowAssigner } from '../runtime/functions.ts';

/** Fixed-size, non-overlapping windows: `TumblingEventTimeWindows.of(60_000)`. */
export const TumblingEventTimeWindows = {
  /** Windows of `size` ms, aligned to the epoch plus `offset`. */
  of(size: number, offset = 0): WindowAssigner {
    if (!(size > 0)) throw new RangeError(`window size must be > 0, got ${size}`);
    return { kind: 'tumbling', size, offset };
  },
};

/** Fixed-size windows that start every `slide` ms (a record is in size/slide windows). */
export const SlidingEventTimeWindows = {
  /** Windows of `size` ms starting every `slide` ms, plus `offset`. */
  of(size: number, slide: number, offset = 0): WindowAssigner {
    if (!(size > 0) || !(slide > 0)) throw new RangeError(`window size and slide must be > 0, got ${size}/${slide}`);
    return { kind: 'sliding', size, slide, offset };
  },
};

/** Per-key sessions: a window closes after `gap` ms without records. */
export const EventTimeSessionWindows = {
  /** Sessions separated by at least `gap` ms of inactivity. */
  withGap(gap: number): WindowAssigner {
    if (!(gap > 0)) throw new RangeError(`session gap must be > 0, got ${gap}`);
    return { kind: 'session', gap };
  },
};

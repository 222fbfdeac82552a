/** Event-time window assigners (sizes in milliseconds). */
import type { WindowAssigner } from '../runtime/functions.ts';

export const TumblingEventTimeWindows = {
  of(size: number, offset = 0): WindowAssigner {
    if (!(size > 0)) throw new RangeError(`window size must be > 0, got ${size}`);
    return { kind: 'tumbling', size, offset };
  },
};

export const SlidingEventTimeWindows = {
  of(size: number, slide: number, offset = 0): WindowAssigner {
    if (!(size > 0) || !(slide > 0)) throw new RangeError(`window size and slide must be > 0, got ${size}/${slide}`);
    return { kind: 'sliding', size, slide, offset };
  },
};

export const EventTimeSessionWindows = {
  withGap(gap: number): WindowAssigner {
    if (!(gap > 0)) throw new RangeError(`session gap must be > 0, got ${gap}`);
    return { kind: 'session', gap };
  },
};

/**
 * NexmarkSource: the Nexmark event stream as a replayable weir source. Event number i
 * is generated from i alone (see generator.ts), so the event numbers are cut into
 * `splits` interleaved splits (split s holds s, s + splits, …) dealt to the subtasks;
 * a split's position is operator state, so a restored job replays exactly the events
 * after the checkpoint. A subtask emits its events in event-number order (not split by
 * split), so with outOfOrderGroupSize 1 its timestamps never go backwards. Each record
 * carries its event time (the event's dateTime).
 */
import type { PollResult, Source, SourceContext, SourceOutput, SourceReader } from '../../api/index.ts';
import { ConfigError } from '../../util/errors.ts';
import type { GeneratorConfigOptions } from './config.ts';
import { NexmarkGenerator } from './generator.ts';
import { eventTimestamp, type NexmarkEvent } from './model.ts';

/** Options of {@link NexmarkSource}: the generator's configuration, the number of splits and the operator name. */
export interface NexmarkSourceOptions extends GeneratorConfigOptions {
  /** Units of rescaling; default 16. */
  readonly splits?: number;
  /** Operator name; default "nexmark". */
  readonly name?: string;
}

interface SplitState {
  readonly split: number;
  /** Next local position: the next event number is split + next * splits. */
  next: number;
}

/**
 * The Nexmark event stream (people, auctions, bids) as a replayable source: positions
 * are operator state, so a restored job replays exactly the events after the checkpoint.
 * Each record carries its event time. The constructor throws a ConfigError for an
 * invalid configuration or split count.
 */
export class NexmarkSource implements Source<NexmarkEvent> {
  /** Operator name: `options.name`, default "nexmark". */
  readonly name: string;
  /** Number of splits (the most subtasks that get events). */
  readonly splits: number;
  private readonly options: NexmarkSourceOptions;

  constructor(options: NexmarkSourceOptions = {}) {
    const { splits, name, ...rest } = options;
    this.options = rest;
    this.name = name ?? 'nexmark';
    this.splits = splits ?? 16;
    if (!Number.isInteger(this.splits) || this.splits < 1) throw new ConfigError(`nexmark splits must be a positive integer, got ${this.splits}`);
    // validates the configuration now rather than in the first subtask
    new NexmarkGenerator(rest);
  }

  createReader(ctx: SourceContext): SourceReader<NexmarkEvent> {
    const states: SplitState[] = ctx.restoredState
      ? ctx.restoredState.map((item) => {
          const s = item as SplitState;
          if (!Number.isInteger(s.split) || !Number.isInteger(s.next) || s.split < 0 || s.split >= this.splits) {
            throw new ConfigError(`nexmark: bad split state ${JSON.stringify(item)} (splits: ${this.splits})`);
          }
          return { split: s.split, next: s.next };
        })
      : Array.from({ length: this.splits }, (_, s) => s).filter((s) => s % ctx.parallelism === ctx.subtaskIndex).map((split) => ({ split, next: 0 }));
    return new NexmarkReader(new NexmarkGenerator(this.options), this.splits, states);
  }
}

class NexmarkReader implements SourceReader<NexmarkEvent> {
  /** Owned splits ordered by their next event number (a tiny priority queue). */
  private readonly queue: SplitState[];

  constructor(
    private readonly gen: NexmarkGenerator,
    private readonly splits: number,
    private readonly states: SplitState[],
  ) {
    this.queue = [...states].sort((a, b) => this.nextIndex(a) - this.nextIndex(b));
  }

  private nextIndex(s: SplitState): number {
    return s.split + s.next * this.splits;
  }

  poll(out: SourceOutput<NexmarkEvent>, max: number): PollResult {
    const q = this.queue;
    const count = this.gen.maxEvents;
    for (let n = 0; n < max; n++) {
      const head = q[0];
      if (head === undefined) return 'end';
      const index = this.nextIndex(head);
      if (index >= count) return 'end'; // the smallest next index is past the end: all are
      head.next++;
      const event = this.gen.event(index);
      out.collect(event, eventTimestamp(event));
      // re-insert the head at its place (usually the end: indices advance in lockstep)
      const ni = index + this.splits;
      let i = 1;
      while (i < q.length && this.nextIndex(q[i]!) < ni) {
        q[i - 1] = q[i]!;
        i++;
      }
      q[i - 1] = head;
    }
    return 'more';
  }

  snapshotState(): unknown[] {
    return this.states.map((s) => ({ split: s.split, next: s.next }));
  }
}

/**
 * A deterministic generator source: record i = generate(i) for i in [0, count) (or
 * forever). The index space is cut into `splits` interleaved splits (split s holds
 * s, s + splits, s + 2·splits, …); a split's position is in operator state, so after a
 * restore the same records follow, and on rescale the splits are dealt to the new
 * subtasks. Optionally rate-limited (records per second per job, shared by the splits).
 */
import type { PollResult, Source, SourceContext, SourceOutput, SourceReader } from '../api/index.ts';
import { ConfigError } from '../util/errors.ts';

export interface GeneratorSourceOptions<T> {
  /** Record number `index` (0-based); must be a pure function of the index so that a restore replays the same records. */
  readonly generate: (index: number) => T;
  /** Number of records; undefined = unbounded. */
  readonly count?: number;
  /** Event timestamp of record i (optional). */
  readonly timestamp?: (index: number) => number;
  /** Units of rescaling; default 32. */
  readonly splits?: number;
  /** Records per second for the whole source (undefined = as fast as possible). */
  readonly ratePerSecond?: number;
  /** Operator name; default "generator". */
  readonly name?: string;
}

interface SplitState {
  readonly split: number;
  /** Next local position: the next index is split + next * splits. */
  next: number;
}

/**
 * Records `generate(0)`, `generate(1)`, … (bounded by `count`, or forever), replayable
 * from checkpoints and rescalable by splits; for tests, demos and benchmarks. The
 * constructor throws a ConfigError for a split count that is not a positive integer or
 * a negative count.
 */
export class GeneratorSource<T> implements Source<T> {
  /** Operator name: `options.name`, default "generator". */
  readonly name: string;
  /** Number of splits (the most subtasks that get records): `options.splits`, default 32. */
  readonly splits: number;

  /** @param options - the record function, count, splits, rate and event timestamps */
  constructor(readonly options: GeneratorSourceOptions<T>) {
    this.name = options.name ?? 'generator';
    this.splits = options.splits ?? 32;
    if (!Number.isInteger(this.splits) || this.splits < 1) throw new ConfigError(`generator splits must be a positive integer, got ${this.splits}`);
    if (options.count !== undefined && !(options.count >= 0)) throw new ConfigError(`generator count must be >= 0, got ${options.count}`);
  }

  createReader(ctx: SourceContext): SourceReader<T> {
    const states: SplitState[] = ctx.restoredState
      ? ctx.restoredState.map((item) => {
          const s = item as SplitState;
          if (!Number.isInteger(s.split) || !Number.isInteger(s.next)) throw new ConfigError(`generator: bad split state ${JSON.stringify(item)}`);
          return { split: s.split, next: s.next };
        })
      : Array.from({ length: this.splits }, (_, s) => s).filter((s) => s % ctx.parallelism === ctx.subtaskIndex).map((split) => ({ split, next: 0 }));
    return new GeneratorReader(this.options, this.splits, states, ctx);
  }
}

class GeneratorReader<T> implements SourceReader<T> {
  private cursor = 0;
  private readonly count: number;
  private readonly ratePerSubtask: number | undefined;
  private startedAt: number | undefined;
  private emitted = 0;

  constructor(
    private readonly o: GeneratorSourceOptions<T>,
    private readonly splits: number,
    private readonly states: SplitState[],
    private readonly ctx: SourceContext,
  ) {
    this.count = o.count ?? Number.POSITIVE_INFINITY;
    this.ratePerSubtask = o.ratePerSecond === undefined ? undefined : (o.ratePerSecond * Math.max(1, states.length)) / splits;
  }

  poll(out: SourceOutput<T>, max: number): PollResult {
    const { generate, timestamp } = this.o;
    let budget = max;
    if (this.ratePerSubtask !== undefined) {
      const now = this.ctx.clock.monotonic();
      this.startedAt ??= now;
      const allowed = Math.floor(((now - this.startedAt) / 1000) * this.ratePerSubtask) + 1 - this.emitted;
      if (allowed <= 0) return this.ctx.clock.sleep(Math.max(1, Math.ceil(1000 / this.ratePerSubtask)));
      budget = Math.min(budget, allowed);
    }
    const states = this.states;
    const splits = this.splits;
    let emitted = 0;
    let exhausted = 0;
    for (let guard = 0; emitted < budget && exhausted < states.length && guard < states.length * 2 + budget; guard++) {
      const s = states[this.cursor]!;
      this.cursor = this.cursor + 1 === states.length ? 0 : this.cursor + 1;
      const chunk = Math.min(64, budget - emitted);
      let n = 0;
      for (; n < chunk; n++) {
        const index = s.split + s.next * splits;
        if (index >= this.count) break;
        s.next++;
        const v = generate(index);
        if (timestamp) out.collect(v, timestamp(index));
        else out.collect(v);
      }
      emitted += n;
      exhausted = n === 0 ? exhausted + 1 : 0;
    }
    this.emitted += emitted;
    if (states.length === 0 || (emitted === 0 && exhausted >= states.length)) return 'end';
    return 'more';
  }

  snapshotState(): unknown[] {
    return this.states.map((s) => ({ split: s.split, next: s.next }));
  }
}

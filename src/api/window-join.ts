/**
 * Window joins and co-groups (Flink's JoinedStreams / CoGroupedStreams):
 *
 *   persons.join(auctions).where((p) => p.id).equalTo((a) => a.seller)
 *     .window(TumblingEventTimeWindows.of(10_000))
 *     .apply((p, a) => ({ name: p.name, auction: a.id }))
 *
 * Both inputs are tagged and keyed (see connected-streams.ts) into one event-time window
 * operator; when a window fires, `apply` gets every pair of one key in that window
 * (an inner join), `coGroup(...).apply` gets the two lists. Window contents are keyed
 * state, so they are checkpointed, restored and rescaled like any window.
 */
import type { Collector, KeySelector, TimeWindow, WindowAssigner } from '../runtime/functions.ts';
import { WindowOperator } from '../runtime/operators/window.ts';
import { ConfigError } from '../util/errors.ts';
import { taggedInputs, type TaggedRecord } from './connected-streams.ts';
import type { DataStream } from './data-stream.ts';
import type { GraphBuilder, Transformation } from './transformation.ts';

type NewStream = <R>(t: Transformation) => DataStream<R>;

interface TwoInputs<T1, T2> {
  readonly env: GraphBuilder;
  readonly first: DataStream<T1>;
  readonly second: DataStream<T2>;
  readonly newStream: NewStream;
  readonly kind: 'join' | 'coGroup';
}

/** `a.join(b)` or `a.coGroup(b)`: give the first input's key with `where()`, then the second's with `equalTo()`. */
export class JoinedStreams<T1, T2> {
  /** @internal Made by DataStream.join() and DataStream.coGroup(). */
  constructor(private readonly s: TwoInputs<T1, T2>) {}

  /** The first input's key; `equalTo(key2)` gives the second input's key (records join when the keys are equal). */
  where<K>(key1: KeySelector<T1, K>): {
    /** The second input's key. */
    equalTo: (key2: KeySelector<T2, K>) => JoinWhereEqual<K, T1, T2>;
  } {
    return { equalTo: (key2) => new JoinWhereEqual(this.s, key1, key2) };
  }
}

/** A window join or co-group with both keys: choose the event-time window next. */
export class JoinWhereEqual<K, T1, T2> {
  /** @internal Made by JoinedStreams.where().equalTo(). */
  constructor(
    private readonly s: TwoInputs<T1, T2>,
    private readonly key1: KeySelector<T1, K>,
    private readonly key2: KeySelector<T2, K>,
  ) {}

  /** Event-time windows the two inputs are joined in (e.g. `TumblingEventTimeWindows.of(10_000)`); records need event timestamps. */
  window(assigner: WindowAssigner): WindowedJoin<K, T1, T2> {
    return new WindowedJoin(this.s, this.key1, this.key2, assigner);
  }
}

/** A window join or co-group ready to apply: `apply()` for a join, `applyGroups()` for a co-group. */
export class WindowedJoin<K, T1, T2> {
  private lateness = 0;

  /** @internal Made by JoinWhereEqual.window(). */
  constructor(
    private readonly s: TwoInputs<T1, T2>,
    private readonly key1: KeySelector<T1, K>,
    private readonly key2: KeySelector<T2, K>,
    private readonly assigner: WindowAssigner,
  ) {}

  /** Keep windows this long after they fire; late records within it re-fire them. */
  allowedLateness(ms: number): this {
    if (!(ms >= 0)) throw new ConfigError(`allowed lateness must be >= 0, got ${ms}`);
    this.lateness = ms;
    return this;
  }

  /** join: every pair (left, right) of a key in a window; coGroup streams must use applyGroups. */
  apply<R>(fn: (left: T1, right: T2, window: TimeWindow) => R): DataStream<R> {
    if (this.s.kind !== 'join') throw new ConfigError('coGroup(...).window(...) takes applyGroups(), not apply()');
    return this.build<R>((_key, window, lefts, rights, out) => {
      for (const l of lefts) for (const r of rights) out.collect(fn(l, r, window));
    });
  }

  /** Both inputs' records of a key in a window, as two lists (either may be empty for a coGroup; never both). */
  applyGroups<R>(fn: (key: K, window: TimeWindow, lefts: readonly T1[], rights: readonly T2[], out: Collector<R>) => void): DataStream<R> {
    return this.build<R>(fn);
  }

  private build<R>(fn: (key: K, window: TimeWindow, lefts: readonly T1[], rights: readonly T2[], out: Collector<R>) => void): DataStream<R> {
    const { env, first, second, newStream, kind } = this.s;
    const { inputs, keySelector } = taggedInputs(env, first.transformation, second.transformation, { key1: this.key1, key2: this.key2 });
    const { assigner, lateness } = this;
    const t = env.addTransformation({
      name: `${kind}(${assigner.kind})`,
      inputs,
      createOperator: () =>
        new WindowOperator(
          assigner,
          {
            kind: 'process',
            process: (key: K, window: TimeWindow, elements: readonly TaggedRecord<T1, T2>[], out: Collector<R>) => {
              const lefts: T1[] = [];
              const rights: T2[] = [];
              for (const e of elements) {
                if (e.input === 1) lefts.push(e.value as T1);
                else rights.push(e.value as T2);
              }
              if (kind === 'join' && (lefts.length === 0 || rights.length === 0)) return;
              fn(key, window, lefts, rights, out);
            },
          },
          keySelector!,
          lateness,
          undefined,
        ),
      keyed: { keySelector: keySelector! },
    });
    return newStream<R>(t);
  }
}

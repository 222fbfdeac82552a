/**
 * The keyed count of bench/throughput/run.ts as a job module (what worker threads load:
 * each worker builds the graph with this code). Arguments: --keys N --records M.
 *
 *   npx weir run bench/throughput/keyed-count-job.ts --workers 2 --parallelism 2 -- --keys 100000 --records 2000000
 */
import { parseArgs } from 'node:util';
import { GeneratorSource, type KeyedProcessFunction, type Sink, type StreamEnvironment, type ValueState } from '../../src/index.ts';

/** Record i's key: a multiplicative hash spreads consecutive records over all keys. */
export const keyOf = (i: number, keys: number): number => (Math.imul(i, 0x9e3779b1) >>> 0) % keys;

/** Discards records (the job's records-out metric counts them). */
class DiscardingSink implements Sink<number> {
  readonly name = 'discard';
  createWriter() {
    return { write: () => undefined };
  }
}

/** Keyed count; the state handle is taken once in open() (it follows the current key). A factory: one instance per subtask. */
function counter(): KeyedProcessFunction<number, number, number> {
  let count!: ValueState<number>;
  return {
    open(ctx) {
      count = ctx.getValueState<number>('count');
    },
    processElement(_k, _ctx, out) {
      const c = (count.value() ?? 0) + 1;
      count.update(c);
      out.collect(c);
    },
  };
}

export default function keyedCount(env: StreamEnvironment, args: string[]): void {
  const { values } = parseArgs({ args, options: { keys: { type: 'string', default: '100000' }, records: { type: 'string', default: '2000000' } } });
  const keys = Number(values.keys);
  env
    .fromSource(new GeneratorSource({ generate: (i) => keyOf(i, keys), count: Number(values.records), splits: 8 }))
    .keyBy((k) => k)
    .process<number>(counter)
    .sinkTo(new DiscardingSink());
}

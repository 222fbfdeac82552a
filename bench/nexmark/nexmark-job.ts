/**
 * One Nexmark query as a job module (what worker threads load: each builds the graph with
 * this code). Arguments: --query qN --events N [--rate R]. bench/nexmark/run.ts uses it.
 *
 *   npx weir run bench/nexmark/nexmark-job.ts --workers 2 --parallelism 2 -- --query q5 --events 1000000
 */
import { parseArgs } from 'node:util';
import { NexmarkSource, WatermarkStrategy, type NexmarkEvent, type Sink, type StreamEnvironment } from '../../src/index.ts';
import { ConfigError } from '../../src/util/errors.ts';
import { queries } from './queries/index.ts';

/** Discards records (the job's records-out metric counts them). */
class DiscardingSink implements Sink<unknown> {
  readonly name = 'discard';
  createWriter() {
    return { write: () => undefined };
  }
}

export default function nexmarkJob(env: StreamEnvironment, args: string[]): void {
  const { values } = parseArgs({ args, options: { query: { type: 'string', default: 'q5' }, events: { type: 'string', default: '1000000' }, rate: { type: 'string' } } });
  const query = queries[values.query];
  if (!query) throw new ConfigError(`unknown query ${values.query}; queries: ${Object.keys(queries).join(' ')}`);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  // Beam's default timeline (100 generators at 10,000 events/s: 10 ms per event), or one generator at --rate
  const timeline = rate === undefined ? {} : { numEventGenerators: 1, firstEventRate: rate, nextEventRate: rate };
  const events = env
    .fromSource(new NexmarkSource({ maxEvents: Number(values.events), ...timeline }))
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(0));
  query(events).sinkTo(new DiscardingSink());
}

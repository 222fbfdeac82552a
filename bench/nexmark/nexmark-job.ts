/**
 * One Nexmark query as a job module (what worker threads load: each builds the graph with
 * this code). Arguments: --query qN --events N [--rate R]. bench/nexmark/run.ts uses it.
 *
 *   npx weir run bench/nexmark/nexmark-job.ts --workers 2 --parallelism 2 -- --query q5 --events 1000000
 *
 * --first-event-file F: the first subtask to read an event writes F with the wall-clock
 * time (ms since the epoch) and the process's CPU time (µs) at that moment, so the bench
 * can leave the job's start (worker threads loading the module) out of its rates, as it
 * leaves the JVM's and the MiniCluster's start out of Flink's.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { NexmarkSource, WatermarkStrategy, type NexmarkEvent, type Sink, type Source, type StreamEnvironment } from '../../src/index.ts';
import { ConfigError } from '../../src/util/errors.ts';
import { queries } from './queries/index.ts';

/** Bounded out-of-orderness of the event-time watermark, ms: Flink Nexmark's 4 s. */
export const NEXMARK_WATERMARK_DELAY_MS = 4000;

/** Discards records (the job's records-out metric counts them). */
class DiscardingSink implements Sink<unknown> {
  readonly name = 'discard';
  createWriter() {
    return { write: () => undefined };
  }
}

/** What --first-event-file holds. */
export interface FirstEventMark {
  readonly epochMillis: number;
  readonly cpuMicros: number;
}

/** `source`, whose readers write `file` when the first of them is first polled (the flag 'wx': only the first writer wins). */
function markingFirstEvent<T>(source: Source<T>, file: string): Source<T> {
  return {
    name: source.name,
    ...(source.maxParallelism === undefined ? {} : { maxParallelism: source.maxParallelism }),
    async createReader(ctx) {
      const reader = await source.createReader(ctx);
      const poll = reader.poll.bind(reader);
      reader.poll = (out, max) => {
        reader.poll = poll;
        const cpu = process.cpuUsage(); // the whole process's, from a worker thread too
        const mark: FirstEventMark = { epochMillis: performance.timeOrigin + performance.now(), cpuMicros: cpu.user + cpu.system };
        try {
          writeFileSync(file, JSON.stringify(mark), { flag: 'wx' });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        return poll(out, max);
      };
      return reader;
    },
  };
}

export default function nexmarkJob(env: StreamEnvironment, args: string[]): void {
  const { values } = parseArgs({
    args, options: { query: { type: 'string', default: 'q5' }, events: { type: 'string', default: '1000000' }, rate: { type: 'string' }, 'first-event-file': { type: 'string' } },
  });
  const query = queries[values.query];
  if (!query) throw new ConfigError(`unknown query ${values.query}; queries: ${Object.keys(queries).join(' ')}`);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  // Beam's default timeline (100 generators at 10,000 events/s: 10 ms per event), or one generator at --rate
  const timeline = rate === undefined ? {} : { numEventGenerators: 1, firstEventRate: rate, nextEventRate: rate };
  // Event time with Flink Nexmark's watermark: `WATERMARK FOR dateTime AS dateTime - INTERVAL '4' SECOND`
  // (the Nexmark repository's DDL; bench/peers/flink declares the same), so windows close as late here as there.
  const source = new NexmarkSource({ maxEvents: Number(values.events), ...timeline });
  const events = env
    .fromSource(values['first-event-file'] === undefined ? source : markingFirstEvent(source, values['first-event-file']))
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<NexmarkEvent>(NEXMARK_WATERMARK_DELAY_MS));
  query(events).sinkTo(new DiscardingSink());
}

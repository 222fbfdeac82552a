/**
 * Running a whole job in-process on a bounded input and collecting what it emits: the
 * test of a pipeline end to end (sources, keyBy, state, timers, windows), in the
 * spirit of Flink's MiniCluster tests with `executeAndCollect`.
 */
import { CollectSink, GeneratorSource } from '../connectors/index.ts';
import { StreamEnvironment, type DataStream, type Source, type StreamEnvironmentOptions } from '../api/index.ts';

/** Options of {@link valuesSource}. */
export interface ValuesSourceOptions<T> {
  /** Event timestamp of a value (for event-time timers and windows). */
  readonly timestamp?: (value: T, index: number) => number;
  /** Operator name. Default "values". */
  readonly name?: string;
}

/**
 * A bounded source over `values`, emitted in order by one subtask, then end of input
 * (which brings the final watermark: every event-time timer and window fires).
 *
 * @example
 * env.fromSource(valuesSource([{ user: 'a', ts: 1000 }], { timestamp: (c) => c.ts }))
 */
export function valuesSource<T>(values: readonly T[], options: ValuesSourceOptions<T> = {}): Source<T> {
  const ts = options.timestamp;
  return new GeneratorSource<T>({
    count: values.length,
    generate: (i) => values[i]!,
    splits: 1,
    name: options.name ?? 'values',
    ...(ts !== undefined ? { timestamp: (i: number) => ts(values[i]!, i) } : {}),
  });
}

/**
 * Builds a job with `build`, runs it in this process to the end of its (bounded) input
 * and returns every record of the stream `build` returned, in arrival order (with
 * parallelism above 1 the order across subtasks is not deterministic).
 *
 * The environment starts with `options` (default: parallelism 1, no checkpoint storage,
 * no restarts, the default state backend).
 *
 * @example
 * const out = await runAndCollect((env) => countClicks(env.fromSource(valuesSource(clicks))));
 */
export async function runAndCollect<T>(
  build: (env: StreamEnvironment) => DataStream<T>,
  options: StreamEnvironmentOptions = {},
): Promise<T[]> {
  const env = new StreamEnvironment({ jobName: 'test', ...options });
  const sink = new CollectSink<T>();
  build(env).sinkTo(sink);
  await env.execute();
  return [...sink.values];
}

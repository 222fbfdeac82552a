/**
 * How a worker thread builds the job it runs part of (src/runtime/slots/worker-entry.ts
 * imports this module and calls its default export): it imports the job module, runs
 * its default export on a fresh build-only StreamEnvironment with the job's arguments,
 * applies the options the main thread ran with, and builds the graph. Functions (key
 * selectors, process functions, sources, sinks) are never sent between threads: each
 * worker has its own, made by the job's own code.
 *
 * The rule for job code (docs/runtime.md, "User code on worker threads"): the default
 * export must build the same graph from its arguments alone; what its functions capture
 * is each worker's own copy.
 */
import { MemoryStorage } from '../storage/memory-storage.ts';
import { systemClock } from '../util/clock.ts';
import { ConfigError, errorMessage } from '../util/errors.ts';
import type { WorkerJob } from '../runtime/slots/worker-protocol.ts';
import { loadJobModule } from '../runtime/job-loader.ts';
import { openCheckpointStorage } from './checkpoint-storage-uri.ts';
import { StreamEnvironment, defaultBackend, markBuildOnly, type WorkerJobSpec } from './environment.ts';

type JobMain = (env: StreamEnvironment, args: string[]) => void | Promise<void>;

export default async function bootstrap(spec: unknown): Promise<WorkerJob> {
  const s = spec as WorkerJobSpec;
  let main: JobMain;
  try {
    // The same loader as `weir run` (tsx for .ts jobs, also from the built package).
    main = await loadJobModule<JobMain>(s.module);
  } catch (err) {
    throw new ConfigError(`a worker thread cannot load the job module ${s.module}: ${errorMessage(err)}`, { cause: err });
  }
  const env = new StreamEnvironment();
  markBuildOnly(env);
  await main(env, [...s.args]);
  env.configure(s.options);
  const graph = env.buildGraph(s.jobName);
  const parts = env.workerParts(graph);
  const storage = parts.checkpoints !== undefined ? openCheckpointStorage(parts.checkpoints) : new MemoryStorage({ name: 'no-checkpoints' });
  return {
    graph,
    storage,
    keySerializer: parts.keySerializer,
    createBackend: (opts) => defaultBackend(opts, parts.kind, parts.incremental, systemClock, parts.lsmOptions),
    close: async () => {
      if (parts.checkpoints !== undefined) await storage.close();
    },
  };
}

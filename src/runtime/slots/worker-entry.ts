/**
 * The program of a worker thread (a task slot): builds the job graph with the user's own
 * code in this thread (WorkerInit.bootstrap), checks it is the graph the main thread
 * planned, creates the subtasks placed here (placement.ts) with their channels —
 * in-memory between subtasks of this worker, cross-thread halves (remote-channel.ts)
 * towards the others — runs their task loops and opens their state backends here (a
 * worker owns the LSM stores of its subtasks).
 *
 * To the main thread it reports acknowledgements, declines, end of input, the end or
 * failure of each task and periodic counters (worker-protocol.ts); it takes checkpoint
 * triggers, notifications, release and cancel from it. An exception that escapes kills
 * the worker: the main thread sees the thread exit and fails the subtasks it ran.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { systemClock } from '../../util/clock.ts';
import { ConfigError, UserFunctionError, errorMessage } from '../../util/errors.ts';
import { msgpackSerializer } from '../../state/serializers.ts';
import { LocalChannel } from '../channel.ts';
import { Barrier } from '../elements.ts';
import { buildExecutionPlan } from '../execution-plan.ts';
import { modulesLoadedThroughTsx } from '../job-loader.ts';
import { partitionProgress } from '../partition-progress.ts';
import { Task, type TaskServices } from '../task/task.ts';
import { TurnBudget } from '../turn-budget.ts';
import { channelLayout, taskKey, wireSubtasks } from './channel-layout.ts';
import { placeSubtasks } from './placement.ts';
import { capturedMismatch, capturedValues } from './captured-values.ts';
import { PeerLink } from './remote-channel.ts';
import { assignRestore, backendOptions } from './subtask-setup.ts';
import type { KeyedStateBackend } from '../../state/types.ts';
import { graphSignature, type BackendReport, type FromWorker, type ToWorker, type WorkerBootstrap, type WorkerError, type WorkerInit, type WorkerJob } from './worker-protocol.ts';
import { connectIoThread } from '../../storage/io-thread.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const send = (m: FromWorker): void => port.postMessage(m);

function asWorkerError(err: unknown): WorkerError {
  return {
    message: errorMessage(err),
    stack: err instanceof Error ? err.stack : undefined,
    config: err instanceof ConfigError,
    ...(err instanceof UserFunctionError ? { user: err.failure() } : {}),
  };
}

/** The first node where the worker's graph differs from the main thread's, as a sentence. */
function graphMismatch(mine: readonly string[], expected: readonly string[]): string | undefined {
  for (let i = 0; i < Math.max(mine.length, expected.length); i++) {
    if (mine[i] !== expected[i]) {
      return `operator ${expected[i]?.split(' ')[0] ?? mine[i]?.split(' ')[0]}: the job module built ${mine[i] ?? 'nothing'} in worker ${init.worker}, the main thread ${expected[i] ?? 'nothing'}`;
    }
  }
  return undefined;
}

async function loadJob(): Promise<WorkerJob> {
  const bootstrap = ((await import(init.bootstrap)) as { default: WorkerBootstrap }).default;
  const job = await bootstrap(init.job);
  const mine = init.captured === undefined ? undefined : capturedValues(job.graph);
  const mismatch = graphMismatch(graphSignature(job.graph), init.signature) ?? (mine === undefined ? undefined : capturedMismatch(mine, init.captured!, init.worker));
  if (mismatch !== undefined) {
    await job.close();
    throw new ConfigError(
      `${mismatch}. With worker threads each worker runs the job module's default export; it must build the same graph from its arguments alone, ` +
        'and what its functions capture must come out the same in every worker: a value computed when the module runs (a time, a random number, ' +
        'state of the main thread) differs per worker. Compute it inside the job (per subtask in open() or createWriter()) or pass it as a job argument',
    );
  }
  return job;
}

/** What the main thread's observers read of a backend (BackendMirror); never throws. */
function backendReport(key: string, b: KeyedStateBackend): BackendReport {
  const safe = <T,>(f: () => T, dflt: T): T => {
    try {
      return f();
    } catch {
      return dflt;
    }
  };
  const store = (b as KeyedStateBackend & { lsmStore?: () => { stats(): unknown; liveFiles(): readonly { name: string; size: number; level: number; entries: number }[] } }).lsmStore;
  const lsm = b.kind === 'lsm' && typeof store === 'function' ? safe(() => store.call(b), undefined) : undefined;
  return {
    key,
    approximateSize: safe(() => b.approximateSize(), 0),
    lsmStats: lsm ? safe(() => lsm.stats(), undefined) : undefined,
    liveFiles: lsm ? safe(() => lsm.liveFiles().map((f) => ({ name: f.name, size: f.size, level: f.level, entries: f.entries })), []) : [],
  };
}

async function main(): Promise<void> {
  // performance.now() counts from the process's time origin in every thread (worker-protocol.ts).
  const runtimeAt = performance.now();
  let job: WorkerJob;
  try {
    job = await loadJob();
  } catch (err) {
    send({ t: 'fatal', error: asWorkerError(err) });
    return;
  }
  const jobAt = performance.now();
  const graph = job.graph;
  const plan = buildExecutionPlan(graph);
  const placement = placeSubtasks(plan, init.workers);
  const here = (chain: number, subtask: number): boolean => placement.workerOf(chain, subtask) === init.worker;
  if (init.ioPort !== undefined) connectIoThread(init.ioPort); // uploads go to the process's one storage I/O thread
  const links = new Map(init.peers.map((p) => [p.worker, new PeerLink(p.port)]));
  const capacity = init.channelCapacity;
  const keySerializer = job.keySerializer ?? msgpackSerializer;
  const { inputs, outputs } = wireSubtasks(
    plan,
    channelLayout(plan),
    here,
    (spec, side) => {
      if (side === 'both') return new LocalChannel(spec.id, capacity);
      if (side === 'producer') return links.get(placement.workerOf(spec.toChain, spec.toSubtask))!.producer(spec.index, spec.id, capacity);
      return links.get(placement.workerOf(spec.fromChain, spec.fromSubtask))!.consumer(spec.index, spec.id, capacity);
    },
    keySerializer,
  );
  const assigned = assignRestore(graph, init.restore);
  const metrics = { recordsIn: 0, recordsOut: 0 };
  const clock = systemClock;
  const turns = new TurnBudget(clock);
  const tasks = new Map<string, Task>();
  const backends = new Map<string, KeyedStateBackend>();
  for (const chain of plan.chains) {
    for (let i = 0; i < chain.parallelism; i++) {
      if (!here(chain.index, i)) continue;
      const key = taskKey(chain.index, i);
      const services: TaskServices = {
        clock,
        jobPath: init.jobPath,
        maxParallelism: graph.maxParallelism,
        checkpointingEnabled: init.checkpointingEnabled,
        batchSize: init.batchSize,
        metrics,
        turns,
        createBackend: async (node, subtaskIndex) => {
          const opts = backendOptions({ stateDir: init.stateDir, jobPath: init.jobPath, attempt: init.attempt, storage: job.storage, keySerializer, ...(init.runId !== undefined ? { runId: init.runId } : {}) }, graph, node, subtaskIndex, assigned);
          const start = clock.monotonic();
          const backend = await job.createBackend({
            ...opts,
            onRestoreProgress: (done, total) => send({ t: 'restoreProgress', operatorId: node.operatorId, subtaskIndex, done, total }),
          });
          backends.set(`${node.operatorId}#${subtaskIndex}`, backend);
          send({
            t: 'backendOpened', operatorId: node.operatorId, subtaskIndex, kind: backend.kind, localDir: opts.localDir,
            restoredFrom: (opts.restoreFrom?.length ?? 0) > 0 ? init.restore?.checkpointId : undefined, openMillis: clock.monotonic() - start,
          });
          return backend;
        },
        restoredOperatorState: (operatorId, subtaskIndex) => assigned.operatorState(operatorId, subtaskIndex),
        acknowledge: (id, states, m) => send({ t: 'ack', task: key, id, states, metrics: m }),
        decline: (id, reason) => send({ t: 'decline', task: key, id, reason }),
        sourceFinished: () => send({ t: 'sourceFinished', task: key }),
      };
      tasks.set(key, new Task(chain, i, inputs.get(key) ?? [], outputs.get(key) ?? new Map(), services));
    }
  }

  let reported = { recordsIn: 0, recordsOut: 0 };
  let eluLast: EventLoopUtilization = performance.eventLoopUtilization();
  const eluStart = eluLast;
  const reportStats = (): void => {
    const now = performance.eventLoopUtilization();
    const recent = performance.eventLoopUtilization(now, eluLast);
    eluLast = now;
    send({
      t: 'stats',
      stats: {
        tasks: [...tasks].map(([k, t]) => {
          const s = t.stats();
          return [k, s.recordsIn, s.recordsOut, s.backpressureMillis, t.isFinished()] as const;
        }),
        backends: [...backends].map(([key, b]) => backendReport(key, b)),
        recordsIn: metrics.recordsIn - reported.recordsIn,
        recordsOut: metrics.recordsOut - reported.recordsOut,
        eluTotal: performance.eventLoopUtilization(now, eluStart).utilization,
        eluRecent: recent.utilization,
        links: [...links.values()].map((l) => ({ ...l.stats })),
        partitions: partitionProgress.rows(),
      },
    });
    reported = { recordsIn: metrics.recordsIn, recordsOut: metrics.recordsOut };
  };
  const statsTimer = setInterval(reportStats, init.statsIntervalMs);

  const runs = [...tasks].map(([key, t]) =>
    t.run().then(
      () => {
        reportStats();
        send({ t: 'ended', task: key, error: undefined });
      },
      (err: unknown) => {
        reportStats();
        send({ t: 'ended', task: key, error: asWorkerError(err) });
      },
    ),
  );

  port.on('message', (m: ToWorker) => {
    switch (m.t) {
      case 'trigger':
        tasks.get(m.task)?.triggerBarrier(new Barrier(m.id, m.ts, m.kind));
        return;
      case 'complete':
        for (const t of tasks.values()) t.notifyCheckpointComplete(m.id);
        return;
      case 'aborted':
        for (const t of tasks.values()) t.notifyCheckpointAborted(m.id);
        return;
      case 'release':
        tasks.get(m.task)?.releaseEnd();
        return;
      case 'cancel':
        tasks.get(m.task)?.cancel();
        return;
      case 'shutdown':
        void shutdown();
        return;
    }
  });

  const shutdown = async (): Promise<void> => {
    for (const t of tasks.values()) t.cancel();
    await Promise.allSettled(runs);
    clearInterval(statsTimer);
    for (const l of links.values()) l.close();
    await job.close().catch(() => undefined);
    send({ t: 'closed' });
  };
  send({ t: 'ready', start: { runtimeAt, jobAt, readyAt: performance.now(), loaderModules: modulesLoadedThroughTsx() } });
}

await main();

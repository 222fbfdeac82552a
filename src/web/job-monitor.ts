/**
 * JobMonitor: the observability layer's view of ONE running job. It is the job's
 * JobObserver (src/runtime/job-observer.ts): it remembers what the hooks report
 * (checkpoint events, per-subtask acknowledgements, opened state backends, restores)
 * and answers the REST API (rest-api.ts) and the Prometheus collectors (metrics.ts)
 * with plain JSON-able snapshots.
 *
 * Ownership: every field is written only by the hook methods (called on the job's event
 * loop) and by end(); the read methods (summary(), details(), checkpoints(), …) only
 * read the job's objects (Task.stats(), coordinator.history()/store/registry,
 * LsmStore.stats()/liveFiles()) and never change them. Remembered history is bounded
 * (`historySize` checkpoints), so a long-running job does not grow this object.
 */
import type { LsmStats } from '../state/index.ts';
import type { Clock } from '../util/clock.ts';
import type { CheckpointCoordinator, CheckpointEvent, CheckpointStats } from '../checkpoint/coordinator.ts';
import type { SharedStateEntry } from '../checkpoint/shared-state-registry.ts';
import type { CheckpointMetadata, SubtaskCheckpointMetrics, SubtaskState } from '../checkpoint/types.ts';
import type { AttemptFailureInfo, BackendOpened, JobObserver, ObservableExecution, ObservedBackend } from '../runtime/job-observer.ts';
import type { UserFunctionFailure } from '../util/errors.ts';
import type { WorkerInfo } from '../runtime/slots/worker-pool.ts';
import type { SnapshotPhases } from '../checkpoint/types.ts';
import { checkpointPhases, subtaskTimings, type CheckpointPhases, type SubtaskTimings } from './checkpoint-phases.ts';

export type JobStatus = 'INITIALIZING' | 'RUNNING' | 'RESTARTING' | 'FINISHED' | 'FAILED' | 'CANCELED';

export interface SubtaskAck extends SubtaskTimings {
  readonly operatorId: string;
  readonly subtaskIndex: number;
  readonly ackTime: number;
  readonly syncMillis: number;
  readonly asyncMillis: number;
  readonly alignmentMillis: number;
  readonly mode: 'incremental' | 'full' | undefined;
  readonly fullSize: number;
  readonly checkpointedSize: number;
  readonly sharedFiles: number;
  readonly reusedFiles: number;
  readonly privateFiles: number;
  /** This operator's keyed snapshot, in phases (undefined: no keyed state, or recovered from storage). */
  readonly phases: SnapshotPhases | undefined;
}

export interface CheckpointRecord {
  id: number;
  kind: 'checkpoint' | 'savepoint';
  status: 'in_progress' | 'completed' | 'failed';
  triggerTime: number;
  completeTime: number | undefined;
  durationMillis: number | undefined;
  syncMillis: number;
  asyncMillis: number;
  alignmentMillis: number;
  fullSize: number;
  checkpointedSize: number;
  ackedSubtasks: number;
  totalSubtasks: number;
  failureReason: string | undefined;
  /** Last acknowledgement → `_metadata` written (CheckpointStats). */
  publishMillis: number;
  /** `_metadata` written → the checkpoints it subsumed deleted, after the completion ('subsumed' event; 0 until then). */
  subsumeMillis: number;
  metadataPath: string | undefined;
  /** Checkpoints this completion subsumed (deleted from the retained set), once the background subsumption ended. */
  subsumed: number[];
  /** Retained completed checkpoint ids right after this one completed, then after its subsumption. */
  retainedAfter: number[];
  /** The shared state registry right after this one completed (the seed figure's third column). */
  registryAfter: SharedStateEntry[];
  /** Its `_metadata`, kept after the checkpoint is subsumed so the state view can still draw it. */
  meta: CheckpointMetadata | undefined;
}

export interface RestoreInfo {
  readonly checkpointId: number;
  readonly attempt: number;
  /** Slowest subtask's backend open (download + open), ms. */
  restoreMillis: number;
  readonly subtasks: number;
}

/** Hooks the monitor calls for logs and metrics (set by whoever creates it). */
export interface MonitorListener {
  checkpointEvent?(event: CheckpointEvent): void;
  subtaskAcknowledged?(ack: SubtaskAck, checkpointId: number): void;
  backendOpened?(info: BackendOpened): void;
  restoreProgress?(downloadedBytes: number, totalBytes: number): void;
  attemptFailed?(attempt: number, reason: string): void;
}

export interface JobMonitorOptions {
  readonly jobName: string;
  readonly clock: Clock;
  /** Checkpoint storage URI (shown as is; URIs carry no credentials). */
  readonly storageUri?: string;
  readonly checkpointInterval?: number;
  readonly retained?: number;
  /** Checkpoints remembered. Default 50. */
  readonly historySize?: number;
  /** Minimum window for rates, ms. Default 1000. */
  readonly rateWindowMillis?: number;
}

interface TaskSample {
  at: number;
  recordsIn: number;
  recordsOut: number;
  backpressureMillis: number;
}

interface TaskRates {
  recordsInPerSecond: number;
  recordsOutPerSecond: number;
  /** Share of the last window spent waiting for output capacity or a state write stall, 0..1. */
  backpressureRatio: number;
}

export class JobMonitor implements JobObserver {
  readonly jobName: string;
  readonly startTime: number;
  private readonly clock: Clock;
  private readonly startMono: number;
  private readonly historySize: number;
  private readonly rateWindow: number;
  private execution: ObservableExecution | undefined;
  private coordinator: CheckpointCoordinator | undefined;
  private attempt = -1;
  private attemptStartMono = 0;
  /** Set between a failed attempt and the next one. */
  private restarting: { attempt: number; reason: string } | undefined;
  private ended: { status: 'FINISHED' | 'FAILED' | 'CANCELED'; at: number; error?: string } | undefined;
  private readonly records = new Map<number, CheckpointRecord>();
  private readonly acks = new Map<number, SubtaskAck[]>();
  private readonly backends = new Map<string, BackendOpened>();
  private readonly restoreBytes = new Map<string, { done: number; total: number }>();
  private readonly samples = new Map<string, { prev: TaskSample; last: TaskSample; rates: TaskRates }>();
  readonly counts = { triggered: 0, completed: 0, failed: 0 };
  restored: RestoreInfo | undefined;
  private readonly listeners: MonitorListener[] = [];
  /** Failed attempts, oldest first (at most EXCEPTION_HISTORY). */
  private readonly failures: JobException[] = [];
  readonly options: JobMonitorOptions;

  constructor(options: JobMonitorOptions) {
    this.options = options;
    this.jobName = options.jobName;
    this.clock = options.clock;
    this.startTime = options.clock.now();
    this.startMono = options.clock.monotonic();
    this.historySize = options.historySize ?? 50;
    this.rateWindow = options.rateWindowMillis ?? 1000;
  }

  addListener(l: MonitorListener): void {
    this.listeners.push(l);
  }

  private tell<K extends keyof MonitorListener>(hook: K, ...args: Parameters<NonNullable<MonitorListener[K]>>): void {
    for (const l of this.listeners) {
      const fn = l[hook] as ((...a: unknown[]) => void) | undefined;
      try {
        fn?.apply(l, args);
      } catch {
        // a listener's failure (a log sink, a metric) must not reach the job
      }
    }
  }

  // ---- JobObserver hooks ----

  executionCreated(execution: ObservableExecution): void {
    this.execution = execution;
  }

  attemptStarted(attempt: number, restoreFrom: CheckpointMetadata | undefined): void {
    this.attempt = attempt;
    this.restarting = undefined;
    this.attemptStartMono = this.clock.monotonic();
    this.backends.clear();
    this.restoreBytes.clear();
    this.samples.clear();
    if (restoreFrom) {
      const keyed = restoreFrom.subtasks.filter((s) => s.keyed).length;
      this.restored = { checkpointId: restoreFrom.checkpointId, attempt, restoreMillis: 0, subtasks: keyed };
    }
  }

  attemptFailed(attempt: number, reason: string, info?: AttemptFailureInfo): void {
    this.failures.push({ attempt, timestamp: this.clock.now(), restarting: info?.restarting ?? true, reason, task: info?.task, failure: info?.failure });
    if (this.failures.length > EXCEPTION_HISTORY) this.failures.shift();
    if (info?.restarting === false) return; // the job ends: end('FAILED') follows
    this.restarting = { attempt, reason };
    this.tell('attemptFailed', attempt, reason);
  }

  /** The failed attempts (REST /jobs/<id>/exceptions, as Flink's exception history), newest first. */
  exceptions(): { exceptions: JobException[] } {
    return { exceptions: [...this.failures].reverse() };
  }

  coordinatorCreated(coordinator: CheckpointCoordinator): void {
    this.coordinator = coordinator;
  }

  checkpointEvent(event: CheckpointEvent): void {
    switch (event.type) {
      case 'triggered': {
        this.counts.triggered++;
        this.put({
          ...emptyRecord(event.checkpointId, event.kind, event.triggerTime),
          totalSubtasks: this.execution ? this.execution.plan.graph.nodes.reduce((n, x) => n + x.parallelism, 0) : 0,
        });
        break;
      }
      case 'completed': {
        this.counts.completed++;
        const r = this.recordFromStats(event.stats);
        r.completeTime = event.info.completeTime;
        r.metadataPath = event.info.metadataPath;
        // The checkpoints its subsumption (starting now, in the background) deletes are no
        // longer retained: their `_metadata` goes first, so no restore can use them.
        const store = this.coordinator?.store;
        const doomed = store ? store.subsumable() : [];
        const doomedIds = new Set(doomed.map((m) => m.checkpointId));
        r.retainedAfter = store ? store.checkpoints().map((m) => m.checkpointId).filter((id) => !doomedIds.has(id)) : [];
        r.registryAfter = this.coordinator ? this.coordinator.registry.entriesWithout(doomed) : [];
        r.meta = store?.get(event.info.checkpointId);
        this.put(r);
        break;
      }
      case 'subsumed': {
        // The completion's subsumption ended (in the background): what is retained and
        // registered now is what this checkpoint left, unless a newer one completed since.
        const prev = this.records.get(event.checkpointId);
        if (prev === undefined) break;
        const r = { ...prev, subsumed: [...event.subsumed], subsumeMillis: event.subsumeMillis };
        const newest = Math.max(...[...this.records.values()].filter((x) => x.status === 'completed' && x.kind === 'checkpoint').map((x) => x.id));
        if (newest === event.checkpointId) {
          const store = this.coordinator?.store;
          r.retainedAfter = store ? store.checkpoints().map((m) => m.checkpointId) : r.retainedAfter;
          r.registryAfter = this.coordinator ? this.coordinator.registry.entries() : r.registryAfter;
        }
        this.put(r);
        break;
      }
      case 'failed': {
        this.counts.failed++;
        const r = this.recordFromStats(event.stats);
        r.failureReason = event.reason;
        this.put(r);
        break;
      }
      default:
        break;
    }
    this.tell('checkpointEvent', event);
  }

  subtaskAcknowledged(checkpointId: number, states: readonly SubtaskState[], metrics: SubtaskCheckpointMetrics): void {
    let list = this.acks.get(checkpointId);
    if (!list) this.acks.set(checkpointId, (list = []));
    const now = this.clock.now();
    const timings = subtaskTimings(metrics, this.records.get(checkpointId)?.triggerTime, now);
    for (const s of states) {
      const k = s.keyed;
      const phases = metrics.keyedPhases?.[s.operatorId];
      const ack: SubtaskAck = {
        operatorId: s.operatorId,
        subtaskIndex: s.subtaskIndex,
        ackTime: now,
        ...timings,
        phases: phases ? { ...phases } : undefined,
        syncMillis: metrics.syncMillis,
        asyncMillis: metrics.asyncMillis,
        alignmentMillis: metrics.alignmentMillis,
        mode: k?.mode,
        fullSize: k?.fullSize ?? 0,
        checkpointedSize: k?.incrementalSize ?? 0,
        sharedFiles: k?.sharedFiles.length ?? 0,
        reusedFiles: k ? k.sharedFiles.filter((f) => f.reused).length : 0,
        privateFiles: k?.privateFiles.length ?? 0,
      };
      list.push(ack);
      this.tell('subtaskAcknowledged', ack, checkpointId);
    }
  }

  backendOpened(info: BackendOpened): void {
    this.backends.set(`${info.operatorId}#${info.subtaskIndex}`, info);
    if (info.restoredFrom !== undefined && this.restored && this.restored.attempt === info.attempt) {
      this.restored.restoreMillis = Math.max(this.restored.restoreMillis, info.openMillis);
    }
    this.tell('backendOpened', info);
  }

  restoreProgress(operatorId: string, subtaskIndex: number, downloadedBytes: number, totalBytes: number): void {
    this.restoreBytes.set(`${operatorId}#${subtaskIndex}`, { done: downloadedBytes, total: totalBytes });
    let done = 0;
    let total = 0;
    for (const v of this.restoreBytes.values()) {
      done += v.done;
      total += v.total;
    }
    this.tell('restoreProgress', done, total);
  }

  /** The job ended (run.ts calls this when the handle's `done` settles). */
  end(status: 'FINISHED' | 'FAILED' | 'CANCELED', error?: string): void {
    this.ended = { status, at: this.clock.now(), ...(error !== undefined ? { error } : {}) };
  }

  private put(r: CheckpointRecord): void {
    this.records.set(r.id, r);
    if (this.records.size > this.historySize) {
      const ids = [...this.records.keys()].sort((a, b) => a - b);
      for (const id of ids.slice(0, this.records.size - this.historySize)) {
        this.records.delete(id);
        this.acks.delete(id);
      }
    }
  }

  private recordFromStats(s: CheckpointStats): CheckpointRecord {
    const prev = this.records.get(s.checkpointId);
    return {
      ...(prev ?? emptyRecord(s.checkpointId, s.kind, s.triggerTime)),
      status: s.status,
      triggerTime: s.triggerTime,
      durationMillis: s.durationMillis,
      syncMillis: s.syncMaxMillis,
      asyncMillis: s.asyncMaxMillis,
      alignmentMillis: s.alignmentMaxMillis,
      fullSize: s.fullSize,
      checkpointedSize: s.checkpointedSize,
      ackedSubtasks: s.ackedSubtasks,
      totalSubtasks: s.totalSubtasks,
      failureReason: s.failureReason,
      publishMillis: s.publishMillis,
    };
  }

  // ---- reads ----

  status(): JobStatus {
    if (this.ended) return this.ended.status;
    if (!this.execution || this.attempt < 0) return 'INITIALIZING';
    if (this.restarting) return 'RESTARTING';
    if (this.execution.currentTasks().length === 0) return this.attempt > 0 ? 'RESTARTING' : 'INITIALIZING';
    return 'RUNNING';
  }

  summary(): JobSummary {
    const end = this.ended?.at;
    return {
      id: this.jobName,
      name: this.jobName,
      status: this.status(),
      startTime: this.startTime,
      endTime: end,
      uptimeMillis: end !== undefined ? end - this.startTime : this.clock.monotonic() - this.startMono,
      ...(this.ended?.error !== undefined ? { error: this.ended.error } : {}),
    };
  }

  /** Takes a sample of every task's counters if the window has passed; returns the rates. */
  private ratesOf(key: string, s: { recordsIn: number; recordsOut: number; backpressureMillis: number }): TaskRates {
    const now = this.clock.monotonic();
    const cur: TaskSample = { at: now, ...s };
    const entry = this.samples.get(key);
    if (!entry) {
      // first look at this task: the average since the attempt started
      const dt = Math.max(1, now - this.attemptStartMono);
      const rates = {
        recordsInPerSecond: (cur.recordsIn * 1000) / dt,
        recordsOutPerSecond: (cur.recordsOut * 1000) / dt,
        backpressureRatio: Math.min(1, Math.max(0, cur.backpressureMillis / dt)),
      };
      this.samples.set(key, { prev: cur, last: cur, rates });
      return rates;
    }
    if (now - entry.last.at >= this.rateWindow) {
      const dt = now - entry.last.at;
      entry.rates = {
        recordsInPerSecond: ((cur.recordsIn - entry.last.recordsIn) * 1000) / dt,
        recordsOutPerSecond: ((cur.recordsOut - entry.last.recordsOut) * 1000) / dt,
        backpressureRatio: Math.min(1, Math.max(0, (cur.backpressureMillis - entry.last.backpressureMillis) / dt)),
      };
      entry.prev = entry.last;
      entry.last = cur;
    }
    return entry.rates;
  }

  details(): JobDetails {
    const ex = this.execution;
    const graph = ex?.plan.graph;
    const tasks = ex?.currentTasks() ?? [];
    const vertices: VertexDetails[] = (ex?.plan.chains ?? []).map((chain) => {
      const subtasks = tasks
        .filter((t) => t.chain.index === chain.index)
        .map((t) => {
          const s = t.stats();
          const r = this.ratesOf(`${chain.index}.${t.subtaskIndex}`, s);
          return {
            index: t.subtaskIndex,
            worker: t.worker,
            status: t.isFinished() ? 'FINISHED' : 'RUNNING',
            recordsIn: s.recordsIn,
            recordsOut: s.recordsOut,
            ...r,
          } satisfies SubtaskDetails;
        });
      const sum = (f: (s: SubtaskDetails) => number): number => subtasks.reduce((n, s) => n + f(s), 0);
      return {
        id: chain.index,
        name: chain.name,
        parallelism: chain.parallelism,
        isSource: chain.isSource,
        operators: chain.nodes.map((n) => ({
          id: n.operatorId,
          name: n.name,
          keyed: n.keyed !== undefined,
          isSource: n.source !== undefined,
          isSink: n.isSink === true,
        })),
        recordsIn: sum((s) => s.recordsIn),
        recordsOut: sum((s) => s.recordsOut),
        recordsInPerSecond: sum((s) => s.recordsInPerSecond),
        recordsOutPerSecond: sum((s) => s.recordsOutPerSecond),
        backpressureRatio: subtasks.length ? Math.max(...subtasks.map((s) => s.backpressureRatio)) : 0,
        subtasks,
      };
    });
    const edges: EdgeDetails[] = [];
    if (ex && graph) {
      for (const node of graph.nodes) {
        for (const e of node.inputs) {
          const from = ex.plan.chainOf[e.from]!;
          const to = ex.plan.chainOf[node.index]!;
          if (from === to) continue;
          edges.push({ from, to, partitioning: e.partitioning, ...(e.sideTag !== undefined ? { sideOutput: e.sideTag } : {}) });
        }
      }
    }
    const m = ex?.metrics;
    return {
      ...this.summary(),
      parallelism: Math.max(0, ...(graph?.nodes.map((n) => n.parallelism) ?? [])),
      maxParallelism: graph?.maxParallelism ?? 0,
      attempt: Math.max(0, this.attempt),
      restarts: m?.restarts ?? 0,
      recordsIn: m?.recordsIn ?? 0,
      recordsOut: m?.recordsOut ?? 0,
      checkpointStorage: this.options.storageUri,
      vertices,
      edges,
      workers: this.workers(),
    };
  }

  /** The worker threads of the current attempt: CPU share (event-loop busy time), subtasks, what crossed to other workers. */
  workers(): WorkerDetails[] {
    return [...(this.execution?.workers?.() ?? [])];
  }

  private history(): CheckpointRecord[] {
    return [...this.records.values()].sort((a, b) => b.id - a.id);
  }

  /**
   * The retained checkpoints and the registry as of the latest completion (without the
   * checkpoints its subsumption deletes): a consistent pair. The live store and registry
   * are not while that subsumption runs in the background: the checkpoint being subsumed
   * is still listed while its files are deleted, so a view built from them named three
   * retained checkpoints of two, a retained checkpoint whose files were gone, or registry
   * counts that no listed checkpoint explains. Before the
   * first completion of this run: the store as recovered at start, without checkpoints
   * whose completion is still running.
   */
  private stableView(): { retained: number[]; registry: SharedStateEntry[] } {
    const latest = this.history().find((r) => r.status === 'completed');
    if (latest !== undefined) return { retained: latest.retainedAfter, registry: latest.registryAfter };
    const c = this.coordinator;
    if (c === undefined) return { retained: [], registry: [] };
    const running = (id: number): boolean => this.records.get(id)?.status === 'in_progress';
    const retained = c.store.checkpoints().map((m) => m.checkpointId).filter((id) => !running(id));
    const registry = retained.length === c.store.checkpoints().length ? c.registry.entries() : [];
    return { retained, registry };
  }

  retainedIds(): number[] {
    return this.stableView().retained;
  }

  checkpoints(): CheckpointsOverview {
    const history = this.history().map((r) => publicRecord(r, this.acks.get(r.id)));
    const retained = new Set(this.retainedIds());
    const latestCompleted = history.find((r) => r.status === 'completed');
    const latestFailed = history.find((r) => r.status === 'failed');
    const inProgress = history.filter((r) => r.status === 'in_progress').length;
    return {
      counts: { ...this.counts, inProgress, restored: this.restored ? 1 : 0 },
      latest: {
        completed: latestCompleted ? { ...latestCompleted, retained: retained.has(latestCompleted.id) } : undefined,
        failed: latestFailed,
        restored: this.restored ? { ...this.restored } : undefined,
      },
      retained: [...retained],
      config: { interval: this.options.checkpointInterval, retained: this.options.retained },
      history: history.map((r) => ({ ...r, retained: retained.has(r.id) })),
    };
  }

  checkpoint(id: number): CheckpointDetails | undefined {
    const rec = this.records.get(id);
    const meta = this.coordinator?.store.get(id);
    if (!rec && !meta) return undefined;
    const acks = this.acks.get(id) ?? [];
    const byOp = new Map<string, SubtaskAck[]>();
    for (const a of acks) {
      let l = byOp.get(a.operatorId);
      if (!l) byOp.set(a.operatorId, (l = []));
      l.push(a);
    }
    if (acks.length === 0 && meta) {
      // recovered from storage (no acks seen by this process): sizes from `_metadata`
      for (const s of meta.subtasks) {
        let l = byOp.get(s.operatorId);
        if (!l) byOp.set(s.operatorId, (l = []));
        const k = s.keyed;
        l.push({
          operatorId: s.operatorId, subtaskIndex: s.subtaskIndex, ackTime: meta.completeTime, syncMillis: 0, asyncMillis: 0, alignmentMillis: 0,
          startDelayMillis: 0, ackLatencyMillis: 0, endToEndMillis: 0, phases: undefined,
          mode: k?.mode, fullSize: k?.fullSize ?? 0, checkpointedSize: k?.incrementalSize ?? 0, sharedFiles: k?.sharedFiles.length ?? 0,
          reusedFiles: k ? k.sharedFiles.filter((f) => f.reused).length : 0, privateFiles: k?.privateFiles.length ?? 0,
        });
      }
    }
    const base = rec ? publicRecord(rec, acks) : publicRecord({
      ...emptyRecord(id, meta!.kind, meta!.triggerTime), status: 'completed', completeTime: meta!.completeTime,
      durationMillis: meta!.completeTime - meta!.triggerTime, fullSize: meta!.fullSize, checkpointedSize: meta!.checkpointedSize,
    }, undefined);
    return {
      ...base,
      retained: this.retainedIds().includes(id),
      operators: [...byOp.entries()].map(([operatorId, list]) => ({
        operatorId,
        fullSize: list.reduce((n, a) => n + a.fullSize, 0),
        checkpointedSize: list.reduce((n, a) => n + a.checkpointedSize, 0),
        subtasks: [...list].sort((a, b) => a.subtaskIndex - b.subtaskIndex),
      })),
    };
  }

  /** Per stateful subtask: local sstables by level, and each remembered checkpoint's shared files with registry counts. */
  state(): StateView {
    const coordinator = this.coordinator;
    const { retained, registry } = this.stableView();
    const countOf = new Map(registry.map((e) => [e.path, e.refCount]));
    const completed = this.history().filter((r) => r.status === 'completed' && r.kind === 'checkpoint').reverse();
    const metaOf = (id: number): CheckpointMetadata | undefined => this.records.get(id)?.meta ?? coordinator?.store.get(id);
    const subtasks: StateSubtaskView[] = [];
    const keys = new Set<string>([...this.backends.keys()]);
    for (const r of completed) for (const s of metaOf(r.id)?.subtasks ?? []) if (s.keyed) keys.add(`${s.operatorId}#${s.subtaskIndex}`);
    for (const key of [...keys].sort()) {
      const sep = key.lastIndexOf('#');
      const operatorId = key.slice(0, sep);
      const subtaskIndex = Number(key.slice(sep + 1));
      const b = this.backends.get(key);
      const prefix = `${operatorId}-${subtaskIndex}-`;
      const checkpoints: StateCheckpointView[] = [];
      for (const r of completed) {
        const meta = metaOf(r.id);
        const handle = meta?.subtasks.find((s) => s.operatorId === operatorId && s.subtaskIndex === subtaskIndex)?.keyed;
        checkpoints.push({
          checkpointId: r.id,
          retained: retained.includes(r.id),
          available: retained.includes(r.id),
          mode: handle?.mode,
          fullSize: handle?.fullSize,
          checkpointedSize: handle?.incrementalSize,
          sharedFiles: handle
            ? handle.sharedFiles.map((f) => ({
                registryKey: f.registryKey, localName: f.localName, path: f.path, size: f.size, uploadedBy: f.uploadedBy, reused: f.reused,
                refCount: countOf.get(f.path) ?? 0,
              }))
            : [],
          privateFiles: handle ? handle.privateFiles.map((f) => ({ name: f.name, path: f.path, size: f.size })) : [],
          registryAfter: r.registryAfter.filter((e) => e.key.startsWith(prefix)).map((e) => ({ key: e.key, path: e.path, refCount: e.refCount })),
          retainedAfter: r.retainedAfter,
        });
      }
      subtasks.push({
        operatorId, subtaskIndex,
        backend: b?.backend.kind,
        attempt: b?.attempt,
        restoredFrom: b?.restoredFrom,
        approximateSize: b ? safe(() => b.backend.approximateSize(), 0) : undefined,
        lsm: b ? lsmView(b.backend) : undefined,
        checkpoints,
      });
    }
    return {
      retained,
      registry: registry.map((e) => ({ key: e.key, path: e.path, size: e.size, refCount: e.refCount, createdBy: e.createdBy, lastUsedBy: e.lastUsedBy })),
      subtasks,
    };
  }

  /** LSM stats of every open lsm backend (for metrics). */
  lsmStats(): { operatorId: string; subtaskIndex: number; stats: LsmStats }[] {
    const out: { operatorId: string; subtaskIndex: number; stats: LsmStats }[] = [];
    for (const b of this.backends.values()) {
      const store = lsmStoreOf(b.backend);
      if (!store) continue;
      const stats = safe(() => store.stats(), undefined);
      if (stats) out.push({ operatorId: b.operatorId, subtaskIndex: b.subtaskIndex, stats });
    }
    return out;
  }

  /** Per-task counters (for metrics). */
  taskCounters(): { vertex: string; subtaskIndex: number; recordsIn: number; recordsOut: number; backpressureMillis: number }[] {
    return (this.execution?.currentTasks() ?? []).map((t) => ({ vertex: t.chain.name, subtaskIndex: t.subtaskIndex, ...t.stats() }));
  }
}

function safe<T, D>(f: () => T, dflt: D): T | D {
  try {
    return f();
  } catch {
    return dflt; // a backend closed under us (restart): show nothing rather than fail the request
  }
}


interface LsmLike {
  stats(): LsmStats;
  liveFiles(): readonly { name: string; size: number; level: number; entries: number }[];
}

function lsmStoreOf(backend: ObservedBackend): LsmLike | undefined {
  const b = backend as ObservedBackend & { lsmStore?: () => LsmLike | undefined };
  if (backend.kind !== 'lsm' || typeof b.lsmStore !== 'function') return undefined;
  return safe(() => b.lsmStore!(), undefined);
}

function lsmView(backend: ObservedBackend): LsmView | undefined {
  const store = lsmStoreOf(backend);
  if (!store) return undefined;
  return safe(() => {
    const stats = store.stats();
    const files = store.liveFiles();
    const levels = stats.levels.map((l) => ({
      level: l.level,
      bytes: l.bytes,
      files: files.filter((f) => f.level === l.level).map((f) => ({ name: f.name, size: f.size, entries: f.entries })),
    }));
    return {
      levels,
      memtableBytes: stats.memtableBytes,
      sealedMemtables: stats.sealedMemtables,
      flushes: stats.flushes,
      compactions: stats.compactions,
      bytesWrittenByFlush: stats.bytesWrittenByFlush,
      bytesWrittenByCompaction: stats.bytesWrittenByCompaction,
      writeAmplification: stats.writeAmplification,
      blockCacheHitRate: stats.blockCacheHits + stats.blockCacheMisses > 0 ? stats.blockCacheHits / (stats.blockCacheHits + stats.blockCacheMisses) : 0,
      memory: { memtables: stats.memtableBytes, blockCache: stats.blockCacheBytes, tableMeta: stats.tableMetaBytes },
    };
  }, undefined);
}

function emptyRecord(id: number, kind: 'checkpoint' | 'savepoint', triggerTime: number): CheckpointRecord {
  return {
    id, kind, status: 'in_progress', triggerTime, completeTime: undefined, durationMillis: undefined, syncMillis: 0, asyncMillis: 0,
    alignmentMillis: 0, fullSize: 0, checkpointedSize: 0, ackedSubtasks: 0, totalSubtasks: 0, failureReason: undefined,
    publishMillis: 0, subsumeMillis: 0, metadataPath: undefined, subsumed: [], retainedAfter: [], registryAfter: [], meta: undefined,
  };
}

/**
 * A history entry as served (without the registry snapshot, which /state serves), with
 * its phases from the acknowledgements this process saw (undefined: none, e.g. recovered
 * from storage).
 */
export type PublicCheckpointRecord = Omit<CheckpointRecord, 'registryAfter' | 'meta'> & { phases: CheckpointPhases | undefined };

function publicRecord(r: CheckpointRecord, acks: readonly SubtaskAck[] | undefined): PublicCheckpointRecord {
  const { registryAfter: _r, meta: _m, ...rest } = r;
  const phases = acks !== undefined && acks.length > 0 ? checkpointPhases(acks, r) : undefined;
  return { ...rest, subsumed: [...rest.subsumed], retainedAfter: [...rest.retainedAfter], phases };
}

/** Failed attempts kept for the REST exception history. */
const EXCEPTION_HISTORY = 20;

/** One failed attempt in the exception history. */
export interface JobException {
  /** Attempt index (0 = the first run). */
  readonly attempt: number;
  /** When the failure was seen, ms since the epoch. */
  readonly timestamp: number;
  /** Whether the job restarted after it (false: the failure ended the job). */
  readonly restarting: boolean;
  /** The error message (for a user function: its error, operator, subtask, location, record). */
  readonly reason: string;
  /** The task whose failure ended the attempt. */
  readonly task: string | undefined;
  /** When a function of the job threw: operator, subtask, fn, record, location, error, userStack. */
  readonly failure: UserFunctionFailure | undefined;
}

export interface JobSummary {
  readonly id: string;
  readonly name: string;
  readonly status: JobStatus;
  readonly startTime: number;
  readonly endTime: number | undefined;
  readonly uptimeMillis: number;
  readonly error?: string;
}

export interface SubtaskDetails extends TaskRates {
  readonly index: number;
  /** The worker thread it runs on (undefined: the main thread). */
  readonly worker: number | undefined;
  readonly status: 'RUNNING' | 'FINISHED';
  readonly recordsIn: number;
  readonly recordsOut: number;
}

export interface VertexDetails {
  readonly id: number;
  readonly name: string;
  readonly parallelism: number;
  readonly isSource: boolean;
  readonly operators: readonly { id: string; name: string; keyed: boolean; isSource: boolean; isSink: boolean }[];
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly recordsInPerSecond: number;
  readonly recordsOutPerSecond: number;
  readonly backpressureRatio: number;
  readonly subtasks: readonly SubtaskDetails[];
}

export interface EdgeDetails {
  readonly from: number;
  readonly to: number;
  readonly partitioning: string;
  readonly sideOutput?: string;
}

export interface JobDetails extends JobSummary {
  readonly parallelism: number;
  readonly maxParallelism: number;
  readonly attempt: number;
  readonly restarts: number;
  readonly recordsIn: number;
  readonly recordsOut: number;
  readonly checkpointStorage: string | undefined;
  readonly vertices: readonly VertexDetails[];
  readonly edges: readonly EdgeDetails[];
  /** Empty when every subtask runs on the main thread. */
  readonly workers: readonly WorkerDetails[];
}

export type WorkerDetails = WorkerInfo;

export interface CheckpointsOverview {
  readonly counts: { triggered: number; inProgress: number; completed: number; failed: number; restored: number };
  readonly latest: {
    completed: (PublicCheckpointRecord & { retained: boolean }) | undefined;
    failed: PublicCheckpointRecord | undefined;
    restored: RestoreInfo | undefined;
  };
  readonly retained: number[];
  readonly config: { interval: number | undefined; retained: number | undefined };
  readonly history: (PublicCheckpointRecord & { retained: boolean })[];
}

export interface CheckpointDetails extends PublicCheckpointRecord {
  readonly retained: boolean;
  readonly operators: { operatorId: string; fullSize: number; checkpointedSize: number; subtasks: SubtaskAck[] }[];
}

export interface LsmView {
  levels: { level: number; bytes: number; files: { name: string; size: number; entries: number }[] }[];
  memtableBytes: number;
  sealedMemtables: number;
  flushes: number;
  compactions: number;
  bytesWrittenByFlush: number;
  bytesWrittenByCompaction: number;
  writeAmplification: number;
  blockCacheHitRate: number;
  /** Where the store's memory goes (bytes): memtables (active and sealed), cached data blocks, index and filter blocks of the open tables (outside the cache). */
  memory: { memtables: number; blockCache: number; tableMeta: number };
}

export interface StateCheckpointView {
  checkpointId: number;
  retained: boolean;
  /** False when the checkpoint was subsumed (deleted from storage; shown from what the monitor remembers). */
  available: boolean;
  mode: 'incremental' | 'full' | undefined;
  fullSize: number | undefined;
  checkpointedSize: number | undefined;
  sharedFiles: { registryKey: string; localName: string; path: string; size: number; uploadedBy: number; reused: boolean; refCount: number }[];
  privateFiles: { name: string; path: string; size: number }[];
  registryAfter: { key: string; path: string; refCount: number }[];
  retainedAfter: number[];
}

export interface StateSubtaskView {
  operatorId: string;
  subtaskIndex: number;
  backend: 'heap' | 'lsm' | undefined;
  attempt: number | undefined;
  restoredFrom: number | undefined;
  approximateSize: number | undefined;
  lsm: LsmView | undefined;
  checkpoints: StateCheckpointView[];
}

export interface StateView {
  retained: number[];
  registry: { key: string; path: string; size: number; refCount: number; createdBy: number; lastUsedBy: number }[];
  subtasks: StateSubtaskView[];
}

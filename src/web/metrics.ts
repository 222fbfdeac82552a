/**
 * Prometheus metrics of one job (prom-client, served at `/metrics`).
 *
 * Two kinds: gauges/counters read from the job when scraped (`collect()`: task
 * counters, LSM stats, storage counters), and counters/histograms fed by the monitor's
 * events (checkpoints completed/failed, durations, sizes, phase times, restore time).
 * A private Registry per job: nothing global, so tests and several jobs in one process
 * do not mix. Labels: job, vertex (operator chain), operator, subtask, level.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { partitionProgress, type PartitionProgress } from '../runtime/partition-progress.ts';
import type { JobMonitor } from './job-monitor.ts';
import type { StorageCounters } from './metered-storage.ts';

const MS_BUCKETS = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

export interface JobMetricsOptions {
  readonly monitor: JobMonitor;
  /** Counters of the MeteredStorage the job writes through (absent: no storage metrics). */
  readonly storage?: StorageCounters;
}

export function createJobMetrics(opts: JobMetricsOptions): Registry {
  const { monitor, storage } = opts;
  const job = monitor.jobName;
  const registry = new Registry();
  registry.setDefaultLabels({ job });

  new Gauge({
    name: 'weir_job_uptime_seconds', help: 'Time since the job started', registers: [registry],
    collect() {
      this.set(monitor.summary().uptimeMillis / 1000);
    },
  });
  new Gauge({
    name: 'weir_job_restarts', help: 'Restarts of the job after failures', registers: [registry],
    collect() {
      this.set(monitor.details().restarts);
    },
  });
  const taskLabels = ['vertex', 'subtask'] as const;
  const recIn = new Counter({ name: 'weir_records_in_total', help: 'Records taken in by a task (source reads or input channels)', labelNames: taskLabels, registers: [registry] });
  const recOut = new Counter({ name: 'weir_records_out_total', help: 'Records a task sent to its output channels', labelNames: taskLabels, registers: [registry] });
  const bp = new Counter({ name: 'weir_backpressure_seconds_total', help: 'Time a task waited for output capacity or a state write stall', labelNames: taskLabels, registers: [registry] });
  new Gauge({
    name: 'weir_tasks', help: 'Running tasks (subtasks of operator chains)', registers: [registry],
    collect() {
      const tasks = monitor.taskCounters();
      this.set(tasks.length);
      // Task counters restart at 0 with a new attempt: reset so the counters follow the live tasks.
      recIn.reset();
      recOut.reset();
      bp.reset();
      for (const t of tasks) {
        const l = { vertex: t.vertex, subtask: String(t.subtaskIndex) };
        recIn.inc(l, t.recordsIn);
        recOut.inc(l, t.recordsOut);
        bp.inc(l, t.backpressureMillis / 1000);
      }
    },
  });

  // ---- worker threads ----
  const workerLabels = ['worker'] as const;
  const busy = new Gauge({ name: 'weir_worker_busy_ratio', help: 'Share of the last seconds a worker thread was busy (its CPU use; event-loop utilisation)', labelNames: workerLabels, registers: [registry] });
  const sent = new Gauge({ name: 'weir_worker_sent_bytes', help: 'Bytes of record batches a worker sent to other workers (this attempt)', labelNames: workerLabels, registers: [registry] });
  new Gauge({
    name: 'weir_workers', help: 'Worker threads running subtasks (0: all on the main thread)', registers: [registry],
    collect() {
      const ws = monitor.workers();
      this.set(ws.length);
      busy.reset();
      sent.reset();
      for (const w of ws) {
        busy.set({ worker: String(w.index) }, w.busyRecent);
        sent.set({ worker: String(w.index) }, w.bytesSent);
      }
    },
  });

  // ---- checkpoints (fed by events) ----
  const cps = new Counter({ name: 'weir_checkpoints_total', help: 'Checkpoints by outcome (triggered, completed, failed)', labelNames: ['status'], registers: [registry] });
  for (const status of ['triggered', 'completed', 'failed']) cps.inc({ status }, 0);
  const duration = new Histogram({ name: 'weir_checkpoint_duration_milliseconds', help: 'Trigger to completion of completed checkpoints', buckets: MS_BUCKETS, registers: [registry] });
  // Log sources (Kafka): per-partition next offset, end of log and lag, as the readers last saw them.
  const partLabels = ['source', 'subtask', 'topic', 'partition'] as const;
  const partitionGauge = (name: string, help: string, value: (r: PartitionProgress) => number): void => {
    new Gauge({
      name, help, labelNames: partLabels, registers: [registry],
      collect() {
        this.reset();
        for (const r of partitionProgress.rows()) this.set({ source: r.source, subtask: String(r.subtask), topic: r.topic, partition: String(r.partition) }, value(r));
      },
    });
  };
  partitionGauge('weir_source_partition_offset', 'Next offset a log source reads in a partition', (r) => r.offset);
  partitionGauge('weir_source_partition_log_end_offset', 'End of the partition log at the last fetch (last stable offset for read_committed)', (r) => r.logEnd);
  partitionGauge('weir_source_partition_lag', 'Records of a partition not read yet (log end - next offset)', (r) => r.lag);
  const lastDuration = new Gauge({ name: 'weir_checkpoint_last_duration_milliseconds', help: 'Duration of the latest completed checkpoint', registers: [registry] });
  const fullSize = new Gauge({ name: 'weir_checkpoint_last_full_size_bytes', help: 'Full size of the latest completed checkpoint (what a restore downloads)', registers: [registry] });
  const cpSize = new Gauge({ name: 'weir_checkpoint_last_checkpointed_size_bytes', help: 'Bytes the latest completed checkpoint uploaded (incremental size)', registers: [registry] });
  const cpBytes = new Counter({ name: 'weir_checkpointed_bytes_total', help: 'Bytes uploaded by completed checkpoints (sum of checkpointed sizes)', registers: [registry] });
  const fullBytes = new Counter({ name: 'weir_checkpoint_full_bytes_total', help: 'Sum of the full sizes of completed checkpoints (compare with weir_checkpointed_bytes_total)', registers: [registry] });
  const phaseLabels = ['operator', 'subtask'] as const;
  const syncH = new Histogram({ name: 'weir_checkpoint_sync_duration_milliseconds', help: 'Synchronous (blocking) part of a subtask snapshot', labelNames: phaseLabels, buckets: MS_BUCKETS, registers: [registry] });
  const asyncH = new Histogram({ name: 'weir_checkpoint_async_duration_milliseconds', help: 'Asynchronous part (flush, upload) of a subtask snapshot', labelNames: phaseLabels, buckets: MS_BUCKETS, registers: [registry] });
  const alignH = new Histogram({ name: 'weir_checkpoint_alignment_milliseconds', help: 'Barrier alignment time of a subtask', labelNames: phaseLabels, buckets: MS_BUCKETS, registers: [registry] });
  const restoreMs = new Gauge({ name: 'weir_restore_duration_milliseconds', help: 'Slowest subtask state restore (download + open) of the latest restore', registers: [registry] });
  new Gauge({
    name: 'weir_checkpoints_in_progress', help: 'Checkpoints triggered and not yet completed or failed', registers: [registry],
    collect() {
      this.set(monitor.checkpoints().counts.inProgress);
    },
  });
  new Gauge({
    name: 'weir_checkpoints_retained', help: 'Completed checkpoints retained in storage', registers: [registry],
    collect() {
      this.set(monitor.retainedIds().length);
    },
  });
  monitor.addListener({
    checkpointEvent(e) {
      if (e.type === 'triggered') cps.inc({ status: 'triggered' });
      else if (e.type === 'failed') cps.inc({ status: 'failed' });
      else if (e.type === 'completed') {
        cps.inc({ status: 'completed' });
        duration.observe(e.info.durationMillis);
        lastDuration.set(e.info.durationMillis);
        fullSize.set(e.info.fullSize);
        cpSize.set(e.info.checkpointedSize);
        cpBytes.inc(e.info.checkpointedSize);
        fullBytes.inc(e.info.fullSize);
      }
    },
    subtaskAcknowledged(ack) {
      const l = { operator: ack.operatorId, subtask: String(ack.subtaskIndex) };
      syncH.observe(l, ack.syncMillis);
      asyncH.observe(l, ack.asyncMillis);
      alignH.observe(l, ack.alignmentMillis);
    },
    backendOpened(info) {
      if (info.restoredFrom !== undefined) restoreMs.set(monitor.restored?.restoreMillis ?? info.openMillis);
    },
  });

  // ---- LSM (read when scraped) ----
  const lsmLabels = ['operator', 'subtask'] as const;
  const flushBytes = new Gauge({ name: 'weir_lsm_flush_bytes', help: 'Bytes written by memtable flushes (since the store opened)', labelNames: lsmLabels, registers: [registry] });
  const compBytes = new Gauge({ name: 'weir_lsm_compaction_bytes', help: 'Bytes written by compactions (since the store opened)', labelNames: lsmLabels, registers: [registry] });
  const ingested = new Gauge({ name: 'weir_lsm_ingested_bytes', help: 'User bytes put into the store', labelNames: lsmLabels, registers: [registry] });
  const wamp = new Gauge({ name: 'weir_lsm_write_amplification', help: '(flush + compaction bytes) / flushed bytes', labelNames: lsmLabels, registers: [registry] });
  const hit = new Gauge({ name: 'weir_lsm_block_cache_hit_ratio', help: 'Block cache hits / lookups', labelNames: lsmLabels, registers: [registry] });
  const files = new Gauge({ name: 'weir_lsm_files', help: 'Live sstables per level', labelNames: [...lsmLabels, 'level'], registers: [registry] });
  const levelBytes = new Gauge({ name: 'weir_lsm_level_bytes', help: 'Bytes of live sstables per level', labelNames: [...lsmLabels, 'level'], registers: [registry] });
  const memtable = new Gauge({ name: 'weir_lsm_memtable_bytes', help: 'Bytes in the memtables (the active one and the sealed ones waiting for their flush)', labelNames: lsmLabels, registers: [registry] });
  const memory = new Gauge({
    name: 'weir_lsm_memory_bytes',
    help: 'Where a store\'s memory goes: memtables (active and sealed), block_cache (cached data blocks), table_meta (index and bloom filter of the open tables, charged to the block cache capacity with block_cache)',
    labelNames: [...lsmLabels, 'kind'],
    registers: [registry],
  });
  new Gauge({
    name: 'weir_lsm_stores', help: 'Open LSM stores (one per stateful subtask)', registers: [registry],
    collect() {
      const all = monitor.lsmStats();
      this.set(all.length);
      for (const g of [flushBytes, compBytes, ingested, wamp, hit, files, levelBytes, memtable, memory]) g.reset();
      for (const { operatorId, subtaskIndex, stats } of all) {
        const l = { operator: operatorId, subtask: String(subtaskIndex) };
        flushBytes.set(l, stats.bytesWrittenByFlush);
        compBytes.set(l, stats.bytesWrittenByCompaction);
        ingested.set(l, stats.bytesIngested);
        wamp.set(l, stats.writeAmplification);
        const lookups = stats.blockCacheHits + stats.blockCacheMisses;
        hit.set(l, lookups > 0 ? stats.blockCacheHits / lookups : 0);
        memtable.set(l, stats.memtableBytes);
        memory.set({ ...l, kind: 'memtables' }, stats.memtableBytes);
        memory.set({ ...l, kind: 'block_cache' }, stats.blockCacheBytes);
        memory.set({ ...l, kind: 'table_meta' }, stats.tableMetaBytes);
        for (const lv of stats.levels) {
          files.set({ ...l, level: String(lv.level) }, lv.files);
          levelBytes.set({ ...l, level: String(lv.level) }, lv.bytes);
        }
      }
    },
  });

  // ---- storage (read when scraped) ----
  if (storage) {
    const gaugeOf = (name: string, help: string, read: (c: StorageCounters) => number): void => {
      new Counter({
        name, help, registers: [registry],
        collect() {
          this.reset();
          this.inc(read(storage));
        },
      });
    };
    gaugeOf('weir_storage_uploaded_bytes_total', 'Bytes written to checkpoint storage', (c) => c.bytesUploaded);
    gaugeOf('weir_storage_downloaded_bytes_total', 'Bytes read from checkpoint storage', (c) => c.bytesDownloaded);
    gaugeOf('weir_storage_deleted_bytes_total', 'Bytes deleted from checkpoint storage (objects of known size)', (c) => c.bytesDeleted);
    gaugeOf('weir_storage_objects_written_total', 'Objects written to checkpoint storage', (c) => c.objectsWritten);
    gaugeOf('weir_storage_objects_read_total', 'Objects read from checkpoint storage', (c) => c.objectsRead);
    gaugeOf('weir_storage_objects_deleted_total', 'Objects deleted from checkpoint storage', (c) => c.objectsDeleted);
    gaugeOf('weir_storage_failed_operations_total', 'Storage calls that failed (after the storage\'s own retries)', (c) => c.failedOperations);
  }
  return registry;
}

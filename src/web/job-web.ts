/**
 * Observability of one `weir run` job, wired in one call before the job starts:
 * a JobMonitor as the environment's observer, checkpoint storage wrapped in a
 * MeteredStorage, a Prometheus registry, structured logs of checkpoints and restores,
 * a restore progress bar (cli-progress, on a terminal), and the web server (REST API,
 * /metrics, dashboard) unless the port is 0.
 *
 *   const web = await attachJobWeb(env, { port: 8081, logger });
 *   const handle = await env.start();
 *   … await handle.done …
 *   await web.finish('FINISHED');
 */
import { SingleBar } from 'cli-progress';
import type { Logger } from 'pino';
import type { StreamEnvironment } from '../api/environment.ts';
import { openCheckpointStorage } from '../api/checkpoint-storage-uri.ts';
import { parseDuration } from '../api/durations.ts';
import { systemClock } from '../util/clock.ts';
import { errorMessage } from '../util/errors.ts';
import { JobMonitor } from './job-monitor.ts';
import { MeteredStorage } from './metered-storage.ts';
import { createJobMetrics } from './metrics.ts';
import { startWebServer, type WebServer } from './server.ts';
import type { Registry } from 'prom-client';

export interface JobWebOptions {
  /** 0 = no web server. */
  readonly port: number;
  /** Default 127.0.0.1. */
  readonly host?: string;
  readonly logger?: Logger;
  /** Show a restore progress bar on this stream when it is a TTY (default: none). */
  readonly progressStream?: NodeJS.WriteStream;
}

export interface JobWeb {
  readonly monitor: JobMonitor;
  readonly metrics: Registry;
  readonly server: WebServer | undefined;
  /** Records how the job ended, stops the server, closes the wrapped storage. */
  finish(status: 'FINISHED' | 'FAILED' | 'CANCELED', error?: string): Promise<void>;
}

export async function attachJobWeb(env: StreamEnvironment, opts: JobWebOptions): Promise<JobWeb> {
  const o = env.getOptions();
  const clock = o.clock ?? systemClock;
  const jobName = o.jobName ?? 'job';
  let metered: MeteredStorage | undefined;
  let ownsStorage = false;
  if (o.checkpoints !== undefined) {
    ownsStorage = typeof o.checkpoints === 'string';
    metered = new MeteredStorage(openCheckpointStorage(o.checkpoints));
  }
  const monitor = new JobMonitor({
    jobName,
    clock,
    ...(metered ? { storageUri: metered.uri } : {}),
    ...(o.checkpointInterval !== undefined ? { checkpointInterval: parseDuration(o.checkpointInterval, 'checkpoint interval') } : {}),
    retained: o.retainedCheckpoints ?? 1,
  });
  env.configure({ observer: monitor, ...(metered ? { checkpoints: metered } : {}) });
  const metrics = createJobMetrics({ monitor, ...(metered ? { storage: metered.counters } : {}) });
  if (opts.logger) logJobEvents(monitor, opts.logger);
  if (opts.progressStream?.isTTY) restoreProgressBar(monitor, opts.progressStream);
  let server: WebServer | undefined;
  if (opts.port > 0) {
    try {
      server = await startWebServer({ monitor, metrics, port: opts.port, ...(opts.host !== undefined ? { host: opts.host } : {}) });
      opts.logger?.info({ url: server.url }, `dashboard and REST API at ${server.url} (metrics at ${server.url}/metrics)`);
    } catch (err) {
      // The job matters more than its dashboard: run without it, say why.
      if (!opts.logger) throw err;
      opts.logger.warn({ port: opts.port }, `dashboard not started: ${errorMessage(err)}`);
    }
  }
  return {
    monitor,
    metrics,
    server,
    async finish(status, error) {
      monitor.end(status, error);
      await server?.close();
      if (metered && ownsStorage) await metered.close();
    },
  };
}

/** Structured log lines for the events an operator wants to see (fields: job, operator, subtask, checkpointId). */
export function logJobEvents(monitor: JobMonitor, logger: Logger): void {
  monitor.addListener({
    checkpointEvent(e) {
      if (e.type === 'completed') {
        logger.info(
          { checkpointId: e.info.checkpointId, kind: e.info.kind, durationMillis: Math.round(e.info.durationMillis), fullSize: e.info.fullSize, checkpointedSize: e.info.checkpointedSize },
          `checkpoint ${e.info.checkpointId} completed`,
        );
      } else if (e.type === 'subsumed' && e.subsumed.length > 0) {
        logger.debug({ checkpointId: e.checkpointId, subsumed: e.subsumed, subsumeMillis: Math.round(e.subsumeMillis) }, `checkpoints ${e.subsumed.join(', ')} subsumed`);
      } else if (e.type === 'failed') {
        logger.warn({ checkpointId: e.checkpointId, kind: e.kind, reason: e.reason }, `checkpoint ${e.checkpointId} failed: ${e.reason}`);
      } else if (e.type === 'recovered' && e.latestCheckpointId !== undefined) {
        logger.info({ checkpointId: e.latestCheckpointId, nextCheckpointId: e.nextCheckpointId, orphansDeleted: e.orphansDeleted.length }, 'completed checkpoints recovered from storage');
      } else if (e.type === 'failure-threshold-exceeded') {
        logger.error({ consecutiveFailures: e.consecutiveFailures, reason: e.reason }, 'too many consecutive checkpoint failures');
      }
    },
    // A failed attempt is logged by the runtime (job-execution.ts: the full report once, repeats in one line).
    backendOpened(info) {
      if (info.restoredFrom === undefined) return;
      logger.info(
        { operator: info.operatorId, subtask: info.subtaskIndex, checkpointId: info.restoredFrom, attempt: info.attempt, restoreMillis: Math.round(info.openMillis) },
        `state of ${info.operatorId}[${info.subtaskIndex}] restored from checkpoint ${info.restoredFrom}`,
      );
    },
  });
}

/** One bar of bytes downloaded of the total over all restoring subtasks (only on a terminal). */
function restoreProgressBar(monitor: JobMonitor, stream: NodeJS.WriteStream): void {
  let bar: SingleBar | undefined;
  monitor.addListener({
    restoreProgress(done, total) {
      try {
        if (!bar) {
          bar = new SingleBar({
            stream, format: 'restoring state [{bar}] {percentage}% | {doneMiB}/{totalMiB} MiB', hideCursor: false, clearOnComplete: true,
          });
          bar.start(total, 0, { doneMiB: '0.0', totalMiB: (total / 2 ** 20).toFixed(1) });
        }
        bar.setTotal(total);
        bar.update(done, { doneMiB: (done / 2 ** 20).toFixed(1), totalMiB: (total / 2 ** 20).toFixed(1) });
        if (done >= total) {
          bar.stop();
          bar = undefined;
        }
      } catch (err) {
        stream.write(`restore progress: ${errorMessage(err)}\n`);
      }
    },
  });
}

/**
 * Worker-thread entry for flushes and compactions (started by WorkerJobRunner). One job
 * at a time, in message order; replies { id, ok, result } or { id, ok: false, error }.
 */
import { parentPort } from 'node:worker_threads';
import { assert } from '../../util/assert.ts';
import { runFlush } from './run-flush.ts';
import { runCompaction } from './run-compaction.ts';
import { serializeError } from './job-runner.ts';
import type { Job } from './job-types.ts';

assert(parentPort !== null, 'compaction-worker.ts must run in a worker thread');
const port = parentPort;
port.on('message', (msg: { id: number; job: Job }) => {
  try {
    const result = msg.job.kind === 'flush' ? runFlush(msg.job) : runCompaction(msg.job);
    port.postMessage({ id: msg.id, ok: true, result });
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: serializeError(err) });
  }
});

/**
 * Entry of the storage I/O thread (io-thread.ts): publishes files in checkpoint storage
 * with blocking syscalls (local-publish-sync.ts), one request at a time, in arrival order,
 * for the thread that started it (parentPort) and for every thread connected to it (a
 * MessagePort sent as { connect }). Replies on the port the request came from:
 * { id, result } or { id, error } (an fs error keeps its code, a symbolic link among the
 * parents is named by `linked`).
 */
import { parentPort, type MessagePort } from 'node:worker_threads';
import { assert } from '../util/assert.ts';
import { BadSourceError, LinkedParentError, linkedParentSync, publishSync } from './local-publish-sync.ts';
import type { IoConnect, IoReply, IoRequest } from './io-thread.ts';

function handle(m: IoRequest): IoReply {
  try {
    const linked = linkedParentSync(m.root, m.path);
    if (linked !== undefined) throw new LinkedParentError(linked);
    return { id: m.id, result: publishSync(m.dest, m.bytes !== undefined ? { bytes: m.bytes } : { src: m.src! }) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return {
      id: m.id,
      error: {
        message: e instanceof Error ? e.message : String(err),
        ...(typeof e.code === 'string' ? { code: e.code } : {}),
        ...(err instanceof LinkedParentError ? { linked: err.linked } : {}),
        ...(err instanceof BadSourceError ? { badSource: true } : {}),
      },
    };
  }
}

function serve(port: MessagePort): void {
  port.on('message', (m: IoRequest | IoConnect) => {
    if ('connect' in m) serve(m.connect);
    else port.postMessage(handle(m));
  });
}

assert(parentPort !== null, 'io-thread-worker.ts must run in a worker thread');
serve(parentPort);

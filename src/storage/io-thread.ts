/**
 * The storage I/O thread: one worker thread per process that publishes local files with
 * blocking syscalls (io-thread-worker.ts, local-publish-sync.ts). LocalStorage sends it
 * its uploads (writeFile: a state backend's tables) and byte writes (write), so that a
 * publication costs its caller one message round trip instead of ~25 awaits, each waiting
 * for a turn of the caller's event loop, which on a task thread at full speed is busy
 * with records (see local-publish-sync.ts for the measurement).
 *
 * One per process, as a Flink TaskManager's I/O executor serves all its slots: the thread
 * that first needs it starts it (started on the first request, unref'd whenever it has
 * none), and the runtime's worker threads reach the main thread's through a MessagePort
 * each (`ioThreadPort()` on the main thread, `connectIoThread(port)` in the worker), so 2
 * workers do not cost 2 more threads (each an isolate: ~11 MiB from the built package).
 *
 * Requests run one at a time in arrival order: the uploads of a checkpoint queue here, as
 * RocksDB's and Flink's uploads share a bounded pool. If the thread dies, the pending
 * requests fail with PermanentStorageError (the checkpoint is declined, as for any upload
 * that fails) and the next request starts a fresh thread in the thread that makes it.
 */
import { MessageChannel, type MessagePort, type Worker } from 'node:worker_threads';
import { siblingModule, startModuleWorker } from '../util/module-worker.ts';
import { PermanentStorageError } from '../util/errors.ts';
import type { WriteResult } from './checkpoint-storage.ts';

export interface IoRequest {
  readonly id: number;
  /** The storage root and the object's path in it (the walk that refuses symbolic links). */
  readonly root: string;
  readonly path: string;
  /** The file to publish (root + path, resolved by the storage). */
  readonly dest: string;
  /** Exactly one of: a local file to copy, the bytes to write. */
  readonly src?: string;
  readonly bytes?: Uint8Array;
}

/** To the I/O thread besides requests: serve the requests that arrive on `port` too. */
export interface IoConnect {
  readonly connect: MessagePort;
}

export interface IoFailure {
  readonly message: string;
  /** The fs error's code (ENOENT, ENOSPC…), when it was one. */
  readonly code?: string;
  /** The parent (a prefix of the path) that is a symbolic link. */
  readonly linked?: string;
  /** `src` is missing, unreadable or not a regular file (the message says which). */
  readonly badSource?: boolean;
}

export type IoReply = { readonly id: number; readonly result: WriteResult } | { readonly id: number; readonly error: IoFailure };

/** A failed request: the message and code of the error on the I/O thread. */
export class IoThreadError extends Error {
  readonly code: string | undefined;
  constructor(readonly failure: IoFailure) {
    super(failure.message);
    this.code = failure.code;
  }
}

/** What requests go through: the I/O thread itself (its owner) or a port into it. */
type Endpoint = Worker | MessagePort;

class IoClient {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: WriteResult) => void; reject: (e: unknown) => void }>();
  failed = false;

  constructor(private readonly endpoint: Endpoint) {
    endpoint.on('message', (m: IoReply) => {
      const p = this.pending.get(m.id);
      if (p === undefined) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) endpoint.unref();
      if ('result' in m) p.resolve(m.result);
      else p.reject(new IoThreadError(m.error));
    });
    endpoint.unref(); // after on('message'), which refs a MessagePort
  }

  /** The thread died (or the port's other end closed): pending requests fail, the next one goes elsewhere. */
  fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    const e = new PermanentStorageError(`the storage I/O thread died: ${err.message}`, { cause: err });
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  run(req: Omit<IoRequest, 'id'>): Promise<WriteResult> {
    const id = this.nextId++;
    return new Promise<WriteResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.endpoint.ref();
      // A copy of exactly these bytes, moved; never the caller's buffer (Buffer#slice is a
      // view: transferring its ArrayBuffer would detach the caller's, or Node's pool slab).
      const bytes = req.bytes === undefined ? undefined : new Uint8Array(req.bytes);
      this.endpoint.postMessage({ ...req, id, ...(bytes ? { bytes } : {}) } satisfies IoRequest, bytes ? [bytes.buffer] : []);
    });
  }
}

/** This thread's own I/O thread (started here) and its client. */
let own: { worker: Worker; client: IoClient } | undefined;
/** The client of a port into another thread's I/O thread (connectIoThread). */
let connected: IoClient | undefined;

function ownThread(): { worker: Worker; client: IoClient } {
  if (own !== undefined && !own.client.failed) return own;
  const worker = startModuleWorker(siblingModule(import.meta.url, 'io-thread-worker'));
  const client = new IoClient(worker);
  worker.on('error', (err) => client.fail(err));
  worker.on('exit', (code) => client.fail(new Error(`it exited with code ${code}`)));
  own = { worker, client };
  return own;
}

/** Publishes `req.src` or `req.bytes` at `req.dest` on the process's storage I/O thread. */
export function publishOnIoThread(req: Omit<IoRequest, 'id'>): Promise<WriteResult> {
  if (connected !== undefined && !connected.failed) return connected.run(req);
  return ownThread().client.run(req);
}

/**
 * A port into this thread's I/O thread (started if needed), for a worker thread to pass to
 * `connectIoThread`. Transfer it with the worker's init data.
 */
export function ioThreadPort(): MessagePort {
  const { worker } = ownThread();
  const { port1, port2 } = new MessageChannel();
  worker.postMessage({ connect: port2 } satisfies IoConnect, [port2]);
  return port1;
}

/** Sends this thread's publications through `port` (from ioThreadPort in another thread) instead of a thread of its own. */
export function connectIoThread(port: MessagePort): void {
  const client = new IoClient(port);
  port.on('close', () => client.fail(new Error('its port closed')));
  connected = client;
}

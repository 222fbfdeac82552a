/**
 * The web server of `weir run`: REST API (JSON, docs/rest-api.md), Prometheus metrics
 * and the dashboard, on node:http. Read-only: no route changes the job.
 *
 *   GET /api/jobs                       the job(s) this process runs
 *   GET /api/jobs/:job                  status, uptime, parallelism, vertices with per-subtask records and rates, edges
 *   GET /api/jobs/:job/checkpoints      counts, latest, history
 *   GET /api/jobs/:job/checkpoints/:id  one checkpoint per operator and subtask
 *   GET /api/jobs/:job/state            local sstables per level, files of every remembered checkpoint, registry counts
 *   GET /api/jobs/:job/partitions       log sources (Kafka, NATS): per partition next offset, end of log, lag
 *   GET /metrics                        Prometheus text format
 *   GET /                               the dashboard (static/index.html, static/app.js)
 *   GET /vendor/:file                   preact, htm, uPlot, served from node_modules (no CDN, no build)
 *
 * Binds 127.0.0.1 by default: the API shows storage paths and job internals; it serves no
 * credentials (storage URIs carry none, environment variables are never read here).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Registry } from 'prom-client';
import { partitionProgress } from '../runtime/partition-progress.ts';
import { ConfigError, errorMessage } from '../util/errors.ts';
import type { JobMonitor } from './job-monitor.ts';

export interface WebServerOptions {
  readonly monitor: JobMonitor;
  readonly metrics: Registry;
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port: number;
}

export interface WebServer {
  /** e.g. http://127.0.0.1:8081 */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'static');
const require = createRequire(import.meta.url);

/**
 * Vendored browser modules: URL name → file in node_modules. Maps, not object literals:
 * a lookup by a request's path must never find Object.prototype's members
 * (`/vendor/__proto__`, `/vendor/constructor` answered 500 when these were objects).
 */
const VENDOR = new Map<string, { resolve: () => string; type: string }>(Object.entries({
  'preact.mjs': { resolve: () => require.resolve('preact'), type: 'text/javascript' },
  'preact-hooks.mjs': { resolve: () => require.resolve('preact/hooks'), type: 'text/javascript' },
  'htm.mjs': { resolve: () => join(dirname(require.resolve('htm')), 'htm.mjs'), type: 'text/javascript' },
  'uplot.mjs': { resolve: () => join(dirname(require.resolve('uplot')), 'uPlot.esm.js'), type: 'text/javascript' },
  'uplot.css': { resolve: () => join(dirname(require.resolve('uplot')), 'uPlot.min.css'), type: 'text/css' },
}));

const STATIC = new Map<string, { file: string; type: string }>(Object.entries({
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript' },
  '/state-view.js': { file: 'state-view.js', type: 'text/javascript' },
  '/style.css': { file: 'style.css', type: 'text/css' },
}));

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    handle(opts, req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      if (!res.headersSent) sendJson(res, status, { error: errorMessage(err) });
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new ConfigError(`cannot serve the dashboard on ${host}:${opts.port}: ${err.code === 'EADDRINUSE' ? 'address in use (choose another --ui-port, or 0 to turn it off)' : err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(opts.port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}`,
    port,
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

async function handle(opts: WebServerOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, `${req.method} not allowed (the API is read-only)`);
  const path = requestPath(req.url);
  const m = opts.monitor;
  if (path === '/metrics') {
    const text = await opts.metrics.metrics();
    res.writeHead(200, { 'content-type': opts.metrics.contentType, 'cache-control': 'no-store' });
    res.end(text);
    return;
  }
  if (path.startsWith('/api/')) {
    sendJson(res, 200, route(m, path.slice('/api/'.length).split('/').filter((s) => s !== '').map(decodeSegment)));
    return;
  }
  if (path.startsWith('/vendor/')) {
    const v = VENDOR.get(path.slice('/vendor/'.length));
    if (!v) throw new HttpError(404, `no such file: ${path}`);
    await sendFile(res, v.resolve(), v.type);
    return;
  }
  const s = STATIC.get(path);
  if (!s) throw new HttpError(404, `no such page: ${path}`);
  await sendFile(res, join(STATIC_DIR, s.file), s.type);
}

function route(m: JobMonitor, parts: string[]): unknown {
  if (parts[0] !== 'jobs') throw new HttpError(404, `no such endpoint: /api/${parts.join('/')}`);
  if (parts.length === 1) return { jobs: [m.summary()] };
  if (parts[1] !== m.jobName) throw new HttpError(404, `no job "${parts[1]}" here (this process runs "${m.jobName}")`);
  if (parts.length === 2) return m.details();
  if (parts[2] === 'checkpoints' && parts.length === 3) return m.checkpoints();
  if (parts[2] === 'checkpoints' && parts.length === 4) {
    // Digits only: Number() would also take " " (0), "0x10", "1e3" and "Infinity".
    const id = /^[0-9]{1,15}$/.test(parts[3] ?? '') ? Number(parts[3]) : NaN;
    if (!Number.isSafeInteger(id)) throw new HttpError(400, `checkpoint id must be a non-negative integer, got "${parts[3]}"`);
    const cp = m.checkpoint(id);
    if (!cp) throw new HttpError(404, `checkpoint ${id} is not known (history keeps the latest ${m.options.historySize ?? 50})`);
    return cp;
  }
  if (parts[2] === 'state' && parts.length === 3) return m.state();
  if (parts[2] === 'exceptions' && parts.length === 3) return m.exceptions();
  if (parts[2] === 'partitions' && parts.length === 3) return partitionsView();
  throw new HttpError(404, `no such endpoint: /api/${parts.join('/')}`);
}

/**
 * Read progress of the job's log sources (Kafka partitions, NATS streams) as their readers see it now.
 * The table is process-wide: `weir run` runs one job per process.
 */
function partitionsView(): { totalLag: number; partitions: ReturnType<typeof partitionProgress.rows> } {
  const partitions = partitionProgress.rows();
  return { totalLag: partitions.reduce((n, p) => n + p.lag, 0), partitions };
}

/** The path of a request target; a target that is not a URL path (e.g. "//") is a 400, not a 500. */
function requestPath(target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    throw new HttpError(400, `malformed request target ${JSON.stringify((target ?? '').slice(0, 200))}`);
  }
}

/** One percent-decoded path segment; a malformed escape ("%ZZ", "%E0%A4") is a 400, not a 500. */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `malformed percent-escape in path segment ${JSON.stringify(segment.slice(0, 200))}`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

async function sendFile(res: ServerResponse, file: string, type: string): Promise<void> {
  let data: Buffer;
  try {
    data = await readFile(file);
  } catch (err) {
    throw new HttpError(404, `cannot read ${file}: ${errorMessage(err)}`);
  }
  res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
  res.end(data);
}

/**
 * Starting a worker thread on one of weir's own modules, from the built package or from
 * the TypeScript sources alike.
 *
 * From the built package (dist/, `.js`) the worker runs the module directly: no loader,
 * nothing from devDependencies. From the sources (tests and benches under
 * `node --import tsx`, `bin/weir.js` in a checkout) Node 20 does not apply `--import`
 * loader hooks to a worker's entry module, so the worker starts from a tiny eval'd script
 * that registers tsx's ESM hooks in the worker (tsx/esm/api `register()`: importing
 * plain 'tsx' registers nothing in a worker thread) and then imports the `.ts` module.
 */
import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * The module `name` (no extension) in the folder of `baseUrl`, with the extension of
 * `baseUrl` itself: `.js` in dist/, `.ts` in src/ (tsc does not rewrite `new URL(…)`).
 */
export function siblingModule(baseUrl: string, name: string): URL {
  const ext = /\.[cm]?[jt]s$/.exec(new URL(baseUrl).pathname)?.[0] ?? '.js';
  return new URL(`./${name}${ext}`, baseUrl);
}

/** A worker thread running the module at `url` (see the file comment). */
export function startModuleWorker(url: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  if (!/\.[cm]?tsx?$/.test(url.pathname)) return new Worker(url, options);
  const bootstrap = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))})
  .then((tsx) => { tsx.register(); return import(${JSON.stringify(url.href)}); })
  .catch((err) => { setImmediate(() => { throw err; }); });`;
  return new Worker(bootstrap, { ...options, eval: true });
}

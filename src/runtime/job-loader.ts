/**
 * Loading a user's job module: the file `weir run` was given, or the same file again in
 * a worker thread. Works for `.ts`, `.mts`, `.cts`, `.js`, `.mjs` and `.cjs` jobs inside
 * an ESM package, a CommonJS package or a directory with no package.json.
 *
 * The job is imported with tsx's loader registered in the calling thread (`import('tsx')`,
 * what `node --import tsx` does: ESM and CommonJS hooks; tsx is a production dependency
 * of weir). That covers TypeScript, and `import` syntax in a `.js` file of a CommonJS
 * package. Registering is once per thread (the module cache), so it works the same in
 * a worker thread and under `node --import tsx`. The job's `import … from 'weir'` gets
 * the very modules the runtime runs (one copy of every class). weir itself is plain ESM
 * without top-level await, so a job that tsx compiles to CommonJS can `require` it
 * (Node >= 20.19).
 *
 * A job module's default export builds the job:
 *   export default function (env: StreamEnvironment, args: string[]) { … }
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, errorMessage } from '../util/errors.ts';

/** tsx's side-effect entry (it has no types; a variable keeps tsc from asking for them). */
const TSX_LOADER: string = 'tsx';

/** Extensions `loadJobModule` accepts. */
export const JOB_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;

/**
 * Imports the job module at `file` (relative to the working directory) and returns its
 * default export. Throws a ConfigError naming the file when it is missing, cannot be
 * loaded, or has no default-exported function.
 */
export async function loadJobModule<F extends (...args: never[]) => unknown>(file: string): Promise<F> {
  const path = resolve(file);
  if (!existsSync(path)) throw new ConfigError(`job file not found: ${file}`);
  if (!JOB_EXTENSIONS.some((ext) => path.endsWith(ext))) {
    throw new ConfigError(`job file ${file}: expected one of ${JOB_EXTENSIONS.join(', ')}`);
  }
  let ns: unknown;
  try {
    await import(TSX_LOADER);
    ns = await import(pathToFileURL(path).href);
  } catch (err) {
    throw new ConfigError(`cannot load job ${file}: ${errorMessage(err)}`, { cause: err });
  }
  const main = defaultExport(ns);
  if (typeof main !== 'function') throw new ConfigError(`${file} must export a default function (env, args) => void that builds the job`);
  return main as F;
}

/**
 * The module's default export. A job compiled to CommonJS (a `.ts` file in a CommonJS
 * package) arrives as `{ default: { __esModule, default: fn } }`; `module.exports = fn`
 * arrives as `{ default: fn }`.
 */
function defaultExport(ns: unknown): unknown {
  let d = (ns as { default?: unknown } | null)?.default;
  for (let i = 0; i < 2 && d !== null && typeof d === 'object' && 'default' in d; i++) d = d.default;
  return d;
}

/**
 * Loading a user's job module: the file `weir run` was given, or the same file again in
 * a worker thread. Works for `.ts`, `.mts`, `.cts`, `.js`, `.mjs` and `.cjs` jobs inside
 * an ESM package, a CommonJS package or a directory with no package.json.
 *
 * The job is imported with tsx's hooks active in the calling thread (tsx is a production
 * dependency of weir): that covers TypeScript, and `import` syntax in a `.js` file of a
 * CommonJS package. When weir itself runs from its TypeScript sources, tsx is already
 * registered in this thread (`node --import tsx`, bin/weir.js, or the worker bootstrap of
 * util/module-worker.ts); from the built package, the first call registers tsx's ESM and
 * CommonJS hooks for this thread (once), so it works the same in a worker thread —
 * after loading weir's package entry without them, so that only the job's own files go
 * through tsx (registerTsx below). The job's `import … from 'weir'` gets the very modules
 * the runtime runs (one copy of every class). weir is plain ESM without top-level await, so a job compiled to CommonJS can
 * `require` it (Node >= 20.19).
 *
 * A job module's default export builds the job:
 *   export default function (env: StreamEnvironment, args: string[]) { … }
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ConfigError, errorMessage } from '../util/errors.ts';

/** Whether tsx's hooks are known to be active in this thread. From the sources they must be. */
let tsxRegistered = import.meta.url.endsWith('.ts');
/** Modules loaded through the tsx hooks registered here; undefined when weir runs from its sources (all of them go through tsx). */
let loadedThroughTsx: number | undefined;

async function registerTsx(): Promise<void> {
  if (tsxRegistered) return;
  // Load weir's package entry (what the job's `import … from 'weir'` resolves to in an
  // installed package) before tsx's hooks are on: with hooks registered, Node sends every
  // module a thread imports — weir's ~200 and its dependencies' hundreds — to the hooks
  // thread to resolve and load, one round trip each, which doubled a worker thread's
  // start (docs/runtime.md, "Starting workers"). Loaded now, the job's import of 'weir'
  // finds it in the module map, and tsx handles only the job's own files.
  await import(new URL('../index.js', import.meta.url).href);
  const [esm, cjs] = await Promise.all([import('tsx/esm/api'), import('tsx/cjs/api')]);
  loadedThroughTsx = 0;
  esm.register({ onImport: () => void (loadedThroughTsx! += 1) });
  cjs.register();
  tsxRegistered = true;
}

/**
 * How many modules this thread loaded through tsx's ESM hooks (weir from the built
 * package: the job's own TypeScript files and what they import after them); undefined
 * when weir runs from its sources, where every module goes through tsx.
 */
export function modulesLoadedThroughTsx(): number | undefined {
  return loadedThroughTsx;
}

/** Extensions `loadJobModule` accepts. */
export const JOB_EXTENSIONS = ['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'] as const;

/**
 * Imports the job module at `file` (a path relative to the working directory, or a
 * file: URL) and returns its default export. Throws a ConfigError naming the file when it is missing, cannot be
 * loaded, or has no default-exported function.
 */
export async function loadJobModule<F extends (...args: never[]) => unknown>(file: string): Promise<F> {
  const path = file.startsWith('file:') ? fileURLToPath(file) : resolve(file);
  if (!existsSync(path)) throw new ConfigError(`job file not found: ${file}`);
  if (!JOB_EXTENSIONS.some((ext) => path.endsWith(ext))) {
    throw new ConfigError(`job file ${file}: expected one of ${JOB_EXTENSIONS.join(', ')}`);
  }
  let ns: unknown;
  try {
    await registerTsx();
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

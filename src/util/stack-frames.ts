/**
 * Stack frames of an error thrown by user code, as a user wants to read them: the
 * frames of their own files (source-mapped when the job runs through tsx or with
 * `--enable-source-maps`; V8 applies the maps when the stack is formatted) without the
 * runtime frames of weir below them, and the first such frame as `file:line:column`.
 *
 * A frame is weir's when its file is under this package's `src/` or `dist/` (this file
 * lives in `<package>/src/util/` or `<package>/dist/util/`), or Node's own (`node:`).
 */
import { fileURLToPath } from 'node:url';

const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const INTERNAL_PREFIXES = [`${PACKAGE_ROOT}src/`, `${PACKAGE_ROOT}dist/`];

/** One parsed `    at …` line of a V8 stack. */
interface Frame {
  readonly line: string;
  /** `/abs/path.ts:12:7` (a file: URL turned into a path), or undefined (native, eval). */
  readonly location: string | undefined;
  readonly internal: boolean;
}

const LOCATION = /\(?((?:file:\/\/)?[^()\s]+?):(\d+):(\d+)\)?$/;

function parseFrame(line: string): Frame {
  const m = LOCATION.exec(line.trim());
  if (!m) return { line, location: undefined, internal: false };
  let file = m[1]!;
  if (file.startsWith('file://')) {
    try {
      file = fileURLToPath(file);
    } catch {
      // keep the URL as it is
    }
  }
  const internal = file.startsWith('node:') || INTERNAL_PREFIXES.some((p) => file.startsWith(p));
  return { line, location: `${file}:${m[2]}:${m[3]}`, internal };
}

function framesOf(err: unknown): Frame[] {
  const stack = err instanceof Error && typeof err.stack === 'string' ? err.stack : '';
  return stack.split('\n').filter((l) => /^\s+at /.test(l)).map(parseFrame);
}

/** The user's frames of `err`'s stack: from the top down to (not including) the first frame of weir or Node. */
export interface UserStack {
  /** `file:line:column` of the top user frame: the first outside weir and Node, preferring one outside node_modules. */
  readonly location: string | undefined;
  /** Those frames, one `    at …` line each; empty when the error has no stack (a thrown string). */
  readonly frames: string;
}

/** Reads the user's part of an error's stack (formats the stack, so call it on failure paths only). */
export function userStackOf(err: unknown): UserStack {
  const frames = framesOf(err);
  const top: Frame[] = [];
  for (const f of frames) {
    if (f.internal) break;
    top.push(f);
  }
  const outside = frames.filter((f) => !f.internal && f.location !== undefined);
  const own = outside.find((f) => !f.location!.includes('/node_modules/')) ?? outside[0];
  // When weir's frames are on top (e.g. a StateError thrown by the state API), show them up to the user's frame.
  const shown = top.length > 0 ? top : own ? frames.slice(0, frames.indexOf(own) + 1) : frames.slice(0, 1);
  return { location: own?.location, frames: shown.map((f) => `    ${f.line.trim()}`).join('\n') };
}

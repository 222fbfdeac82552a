/**
 * Typed errors, grouped by what the caller can do about them (DESIGN.md §3.6).
 *
 *  - CorruptionError: terminal for that file; names the file and offset. Never retry,
 *    never return data from it. Restore falls back to an older checkpoint.
 *  - TransientStorageError: retry with backoff (network blip, throttling, timeout).
 *  - PermanentStorageError: retrying will not help (bad credentials, missing bucket,
 *    object not found where it must exist).
 *  - CheckpointDeclinedError: a checkpoint was not taken, with a reason; the job goes on.
 *  - ConfigError: bad user configuration or input; report one clear line and stop.
 *  - StateError: misuse of the state API (no current key, unknown state, closed backend).
 *  - UserFunctionError: a function of the job (map, key selector, process function, window
 *    function, sink…) threw; names the operator, the subtask, the record and the user's
 *    file and line. Restarting may help (a transient failure in user code) or not.
 *
 * All carry a stable `code` and accept `cause`.
 */
export abstract class WeirError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class CorruptionError extends WeirError {
  readonly code = 'CORRUPTION';
  readonly file: string;
  readonly offset: number | undefined;
  constructor(file: string, offset: number | undefined, detail: string, options?: { cause?: unknown }) {
    super(`corruption in ${file}${offset === undefined ? '' : ` at offset ${offset}`}: ${detail}`, options);
    this.file = file;
    this.offset = offset;
  }
}

export class TransientStorageError extends WeirError {
  readonly code = 'STORAGE_TRANSIENT';
}

export class PermanentStorageError extends WeirError {
  readonly code = 'STORAGE_PERMANENT';
}

/** An object that must exist does not (a subclass of permanent: retrying will not create it). */
export class NotFoundError extends PermanentStorageError {
  readonly path: string;
  constructor(path: string, options?: { cause?: unknown }) {
    super(`not found: ${path}`, options);
    this.path = path;
  }
}

/** A create-if-absent found the object already there (another writer created it first). */
export class AlreadyExistsError extends PermanentStorageError {
  readonly path: string;
  constructor(path: string, options?: { cause?: unknown }) {
    super(`already exists: ${path}`, options);
    this.path = path;
  }
}

export class CheckpointDeclinedError extends WeirError {
  readonly code = 'CHECKPOINT_DECLINED';
  readonly checkpointId: number;
  readonly reason: string;
  constructor(checkpointId: number, reason: string, options?: { cause?: unknown }) {
    super(`checkpoint ${checkpointId} declined: ${reason}`, options);
    this.checkpointId = checkpointId;
    this.reason = reason;
  }
}

export class ConfigError extends WeirError {
  readonly code = 'CONFIG';
}

export class StateError extends WeirError {
  readonly code = 'STATE';
}

/**
 * Where and on what a user function failed: the fields of a {@link UserFunctionError},
 * plain data (it crosses from a worker thread to the main thread and into the REST API).
 */
export interface UserFunctionFailure {
  /** Name of the operator whose function threw (`.name(…)` in the job, else the operation, e.g. "map"). */
  readonly operator: string;
  /** 0-based index of the operator's subtask that ran it. */
  readonly subtask: number;
  /** The operator's parallelism (subtasks in all). */
  readonly parallelism: number;
  /** Which function threw, e.g. "map function", "key selector", "onTimer of the process function". */
  readonly fn: string;
  /**
   * The record being processed, as short text (util.inspect on one line, cut at 200
   * characters with "…"); for a timer or a window firing, the key and time instead.
   */
  readonly record: string | undefined;
  /** `file:line:column` of the top frame of the user's code in the stack (source-mapped), if there is one. */
  readonly location: string | undefined;
  /** The thrown error as `Name: message` (the text of a thrown non-Error value). */
  readonly error: string;
  /** The stack frames of the user's code (`    at …` lines, top first), without weir's frames below them. */
  readonly userStack: string;
}

/**
 * A function of the job threw while an operator called it. `cause` is what it threw; the
 * message names the operator, subtask, record and the user's file and line, and `stack`
 * shows the user's own frames (not the runtime's). Subject to the restart strategy like
 * any task failure.
 */
export class UserFunctionError extends WeirError implements UserFunctionFailure {
  /** Stable code of this error class: 'USER_FUNCTION'. */
  readonly code = 'USER_FUNCTION';
  readonly operator: string;
  readonly subtask: number;
  readonly parallelism: number;
  readonly fn: string;
  readonly record: string | undefined;
  readonly location: string | undefined;
  readonly error: string;
  readonly userStack: string;

  /**
   * @param failure - where and on what the function failed (operators build it with runtime/user-code.ts)
   * @param options - `cause`: what the function threw
   */
  constructor(failure: UserFunctionFailure, options?: { cause?: unknown }) {
    const lines = [
      failure.error,
      `  in the ${failure.fn} of operator "${failure.operator}", subtask ${failure.subtask} (parallelism ${failure.parallelism})`,
      ...(failure.location !== undefined ? [`  at ${failure.location}`] : []),
      ...(failure.record !== undefined ? [`  record: ${failure.record}`] : []),
    ];
    super(lines.join('\n'), options);
    this.operator = failure.operator;
    this.subtask = failure.subtask;
    this.parallelism = failure.parallelism;
    this.fn = failure.fn;
    this.record = failure.record;
    this.location = failure.location;
    this.error = failure.error;
    this.userStack = failure.userStack;
    this.stack = `${this.name}: ${this.message}${failure.userStack === '' ? '' : `\n${failure.userStack}`}`;
  }

  /** The fields as plain data. */
  failure(): UserFunctionFailure {
    const { operator, subtask, parallelism, fn, record, location, error, userStack } = this;
    return { operator, subtask, parallelism, fn, record, location, error, userStack };
  }
}

export function isTransient(err: unknown): boolean {
  return err instanceof TransientStorageError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

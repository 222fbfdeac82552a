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

export function isTransient(err: unknown): boolean {
  return err instanceof TransientStorageError;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

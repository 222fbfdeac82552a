/**
 * What an operator throws when a function of the job fails: a UserFunctionError naming
 * the operator, subtask, record and the user's file and line (util/errors.ts). Operators
 * wrap each call of user code in a try/catch and call this only in the catch, so the hot
 * path allocates nothing.
 *
 * Errors pass through unwrapped when they already say where they come from: a
 * UserFunctionError of an operator further down the chain (a flatMap's collect() runs
 * the next operator), and weir's own typed errors (storage, corruption, bad
 * configuration, malformed input) — except StateError, which is misuse of the state API
 * by the function and so the function's failure.
 */
import { StateError, UserFunctionError, WeirError } from '../util/errors.ts';
import { previewRecord } from '../util/record-preview.ts';
import { userStackOf } from '../util/stack-frames.ts';

/** The subtask whose function failed (an OperatorContext has these fields; a connector passes its own name). */
export interface FailingSubtask {
  /** The operator's (or source's) name. */
  readonly name: string;
  /** 0-based index of the failing subtask. */
  readonly subtaskIndex: number;
  /** Number of subtasks of the operator. */
  readonly parallelism: number;
}

/**
 * The error to throw for `err`, thrown by the function `fn` (e.g. "map function") of
 * `where` while it processed `record`. `record` is previewed (200 characters); pass
 * `{ text }` to describe what was processed instead (a timer, a window firing).
 */
export function userFunctionFailed(where: FailingSubtask, fn: string, record: unknown, err: unknown, text?: string): unknown {
  if (err instanceof UserFunctionError || (err instanceof WeirError && !(err instanceof StateError))) return err;
  const stack = userStackOf(err);
  return new UserFunctionError(
    {
      operator: where.name,
      subtask: where.subtaskIndex,
      parallelism: where.parallelism,
      fn,
      record: text ?? previewRecord(record),
      location: stack.location,
      error: err instanceof Error ? `${err.name}: ${err.message}` : `thrown value: ${previewRecord(err)}`,
      userStack: stack.frames,
    },
    { cause: err },
  );
}

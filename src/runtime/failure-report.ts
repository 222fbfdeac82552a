/**
 * How the runtime reports a failed attempt in its log. A job whose function throws on a
 * record usually fails the same way after every restart (the restored input leads to
 * the same record), so the full report — operator, subtask, record, the user's file and
 * line, the user's stack frames — is logged the first time a failure is seen, and a
 * repeat is one short line ("same failure as before"). The failure that ends the job is
 * not logged here in full: it is the JobFailedError the caller gets (and `weir run`
 * prints), which carries the whole report.
 */
import { UserFunctionError, WeirError, errorMessage } from '../util/errors.ts';

/** A failed attempt: the first task error and the task it came from. */
export interface AttemptFailure {
  readonly error: unknown;
  /** Name of the task whose failure ended the attempt, e.g. "source → map (1/2)". */
  readonly task: string | undefined;
}

/** Two failures are "the same" when they come from the same place with the same error (the record may differ). */
function signature(f: AttemptFailure): string {
  const e = f.error;
  if (e instanceof UserFunctionError) return `user|${e.operator}|${e.fn}|${e.error}|${e.location ?? ''}`;
  return `other|${errorMessage(e)}`;
}

/** The whole report: a user function's message and stack frames, else the task, the message and (not one of weir's typed errors) the stack. */
export function fullReport(f: AttemptFailure): string {
  const e = f.error;
  if (e instanceof UserFunctionError) return e.stack ?? e.message;
  const where = f.task !== undefined ? `task ${f.task}: ` : '';
  if (e instanceof Error && !(e instanceof WeirError) && e.stack !== undefined) return `${where}${e.stack}`;
  return `${where}${errorMessage(e)}`;
}

/** One line for a repeat: the error and where it was thrown. */
export function shortReport(f: AttemptFailure): string {
  const e = f.error;
  if (e instanceof UserFunctionError) return `${e.error} in the ${e.fn} of "${e.operator}", subtask ${e.subtask}${e.location !== undefined ? ` at ${e.location}` : ''}`;
  return errorMessage(e).split('\n')[0]!;
}

/** Structured fields of the log line of a failed attempt (`attempt` 0-based, as in the other log lines). */
export function failureFields(attempt: number, f: AttemptFailure): Record<string, unknown> {
  const e = f.error;
  const base = { attempt, reason: shortReport(f), ...(f.task !== undefined ? { task: f.task } : {}) };
  if (!(e instanceof UserFunctionError)) return base;
  return { ...base, operator: e.operator, subtask: e.subtask, fn: e.fn, record: e.record, location: e.location };
}

/** Remembers the failures seen by one job execution. */
export class FailureLog {
  private readonly seen = new Set<string>();

  /** True the first time a failure like `f` is seen by this execution. */
  isNew(f: AttemptFailure): boolean {
    const s = signature(f);
    if (this.seen.has(s)) return false;
    this.seen.add(s);
    return true;
  }
}

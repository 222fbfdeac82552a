/**
 * A mark for objects whose fields are not the job's state: the StreamEnvironment (its
 * options hold main-thread things — an observer, a logger — that a worker never has).
 * weir's own closures often hold the environment (connect's and the joins' operator
 * factories do), and the captured-values check (captured-values.ts) does not walk into
 * an object that carries this mark. A registered symbol, so the check finds it in the
 * inspected thread by its description.
 */
export const NOT_JOB_STATE_DESCRIPTION = 'weir.capturedValues.notJobState';
export const NOT_JOB_STATE: unique symbol = Symbol.for(NOT_JOB_STATE_DESCRIPTION) as never;

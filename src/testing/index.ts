/**
 * `weir/testing`: what a job's own tests use.
 *
 * - {@link runAndCollect} with {@link valuesSource}: run a pipeline in-process on a
 *   bounded input and get its output.
 * - {@link KeyedProcessFunctionHarness}: drive one KeyedProcessFunction with records,
 *   watermarks and processing time, and inspect its output, keyed state and timers
 *   (Flink's KeyedOneInputStreamOperatorTestHarness).
 *
 * @module
 */
export { runAndCollect, valuesSource, type ValuesSourceOptions } from './run-and-collect.ts';
export { KeyedProcessFunctionHarness, type HarnessOptions, type HarnessTimer, type TimestampedValue } from './keyed-process-harness.ts';

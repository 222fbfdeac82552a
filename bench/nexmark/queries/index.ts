/** The Nexmark queries, by name (Flink Nexmark's numbering). Each takes the event stream (timestamps and watermarks assigned). */
import type { DataStream, NexmarkEvent } from '../../../src/index.ts';
import { q0, q1, q2, q14 } from './simple.ts';
import { q3, q8, q9, q20 } from './joins.ts';
import { q5, q7, q11, q12 } from './windows.ts';
import { q4, q15, q16, q17 } from './aggregations.ts';
import { q18, q19 } from './dedup-topn.ts';

export const queries: Readonly<Record<string, (events: DataStream<NexmarkEvent>) => DataStream<any>>> = {
  q0, q1, q2, q3, q4, q5, q7, q8, q9, q11, q12, q14, q15, q16, q17, q18, q19, q20,
};

export { q0, q1, q2, q3, q4, q5, q7, q8, q9, q11, q12, q14, q15, q16, q17, q18, q19, q20 };

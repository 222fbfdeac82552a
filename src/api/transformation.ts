/** @internal What the fluent API records: transformations, turned into a job graph by execute(). */
import type { Source } from '../runtime/connector-types.ts';
import type { StreamOperator } from '../runtime/operator.ts';

export interface Transformation {
  readonly id: number;
  name: string;
  uid?: string;
  parallelism?: number;
  readonly inputs: readonly { readonly from: Transformation; readonly keySelector?: (v: any) => unknown; readonly sideTag?: string }[];
  readonly source?: Source<unknown>;
  readonly createOperator?: () => StreamOperator;
  readonly keyed?: { readonly keySelector: (v: any) => unknown };
  readonly isSink?: boolean;
}

/** The part of StreamEnvironment the streams use. */
export interface GraphBuilder {
  addTransformation(t: Omit<Transformation, 'id'>): Transformation;
}

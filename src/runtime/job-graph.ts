/**
 * The job graph: what src/api builds from a user's program. One node per operator
 * (source, transformation, sink), edges saying how records travel between them.
 * Node ids are stable across runs of the same program (they name the state in
 * checkpoints), so the graph of a resumed job must be built by the same code.
 */
import type { Source } from './connector-types.ts';
import type { StreamOperator } from './operator.ts';

export type Partitioning = 'forward' | 'rebalance' | 'hash';

export interface JobEdge {
  readonly from: number;
  readonly partitioning: Partitioning;
  /** For 'hash': the key of a record (serialised and hashed to a key group). */
  readonly keySelector?: (value: any) => unknown;
  /** Set for an edge that carries a side output of `from` instead of its main output. */
  readonly sideTag?: string;
}

export interface JobNode {
  readonly index: number;
  /** Stable operator id (names state in checkpoints): `<index>-<name>` unless the user set a uid. */
  readonly operatorId: string;
  readonly name: string;
  readonly parallelism: number;
  readonly inputs: readonly JobEdge[];
  readonly source?: Source<unknown>;
  /** For every non-source node. */
  readonly createOperator?: () => StreamOperator;
  /** The operator uses keyed state: the task creates a backend for it. */
  readonly keyed?: { readonly keySelector: (value: any) => unknown };
  readonly isSink?: boolean;
}

export interface JobGraph {
  readonly name: string;
  readonly maxParallelism: number;
  readonly nodes: readonly JobNode[];
}

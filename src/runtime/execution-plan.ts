/**
 * Job graph → execution plan: operator chains and their subtasks.
 *
 * A node is chained into its producer's chain (called directly, no channel, no copy)
 * when it has exactly one input, the edge is 'forward' and both have the same
 * parallelism. Every other edge becomes channels: one per (producer subtask, consumer
 * subtask) pair that can exchange records ('forward': i→i; 'rebalance'/'hash': all
 * pairs).
 */
import { ConfigError } from '../util/errors.ts';
import { assert } from '../util/assert.ts';
import type { JobGraph, JobNode } from './job-graph.ts';

export interface ChainPlan {
  readonly index: number;
  /** The chain's nodes, head first, each after its producer (topological). */
  readonly nodes: readonly JobNode[];
  readonly parallelism: number;
  readonly isSource: boolean;
  /** Network inputs of the head: edges from other chains. */
  readonly name: string;
}

export interface ExecutionPlan {
  readonly graph: JobGraph;
  readonly chains: readonly ChainPlan[];
  /** node index → chain index */
  readonly chainOf: readonly number[];
}

export function isChainable(graph: JobGraph, node: JobNode): boolean {
  if (node.inputs.length !== 1) return false;
  const edge = node.inputs[0]!;
  const producer = graph.nodes[edge.from]!;
  return edge.partitioning === 'forward' && producer.parallelism === node.parallelism;
}

export function buildExecutionPlan(graph: JobGraph): ExecutionPlan {
  const nodes = graph.nodes;
  for (const n of nodes) {
    if (n.parallelism < 1 || n.parallelism > graph.maxParallelism) {
      throw new ConfigError(`operator ${n.name}: parallelism ${n.parallelism} outside 1..${graph.maxParallelism} (max parallelism)`);
    }
    for (const e of n.inputs) {
      assert(e.from < n.index, 'job graph nodes must be in topological order');
      if (e.partitioning === 'forward' && nodes[e.from]!.parallelism !== n.parallelism) {
        throw new ConfigError(`forward edge ${nodes[e.from]!.name} → ${n.name} with different parallelism`);
      }
    }
    if (!n.source && n.inputs.length === 0) throw new ConfigError(`operator ${n.name} has no input`);
  }
  const ids = new Set<string>();
  for (const n of nodes) {
    if (ids.has(n.operatorId)) throw new ConfigError(`duplicate operator id ${n.operatorId}`);
    ids.add(n.operatorId);
  }
  const chainOf: number[] = [];
  const members: JobNode[][] = [];
  for (const n of nodes) {
    if (!n.source && isChainable(graph, n)) {
      const c = chainOf[n.inputs[0]!.from]!;
      chainOf[n.index] = c;
      members[c]!.push(n);
    } else {
      chainOf[n.index] = members.length;
      members.push([n]);
    }
  }
  const chains: ChainPlan[] = members.map((ns, index) => ({
    index,
    nodes: ns,
    parallelism: ns[0]!.parallelism,
    isSource: ns[0]!.source !== undefined,
    name: ns.map((n) => n.name).join(' → '),
  }));
  return { graph, chains, chainOf };
}

/**
 * Every network channel of an execution plan, enumerated in one deterministic order, so
 * the main thread and every worker agree on a channel's number without talking: for
 * each chain head, each of its input edges, each producer subtask, each consumer subtask
 * that can receive from it ('forward': i→i only; 'rebalance'/'hash': all).
 *
 * `wireSubtasks` turns the layout into what tasks are built from: per subtask, its input
 * channels and the record writers of its chain's network edges. Which channel object
 * each end gets (in-memory, or one half of a cross-thread channel) is the caller's
 * choice through `makeChannel`, so one wiring code serves both the main-thread and the
 * worker-thread runtime.
 */
import type { Serializer } from '../../state/types.ts';
import type { Channel } from '../channel.ts';
import type { ExecutionPlan } from '../execution-plan.ts';
import type { JobEdge } from '../job-graph.ts';
import { RecordWriter } from '../record-writer.ts';

export interface ChannelSpec {
  /** Position in the layout (the number both ends use). */
  readonly index: number;
  readonly id: string;
  readonly edge: JobEdge;
  /** Producer: chain, node and subtask. */
  readonly fromChain: number;
  readonly fromNode: number;
  readonly fromSubtask: number;
  /** Consumer: chain and subtask. */
  readonly toChain: number;
  readonly toSubtask: number;
}

export function channelLayout(plan: ExecutionPlan): ChannelSpec[] {
  const graph = plan.graph;
  const out: ChannelSpec[] = [];
  for (const chain of plan.chains) {
    const node = chain.nodes[0]!;
    for (const edge of node.inputs) {
      const fromChain = plan.chainOf[edge.from]!;
      const producer = graph.nodes[edge.from]!;
      for (let pi = 0; pi < producer.parallelism; pi++) {
        for (let ci = 0; ci < node.parallelism; ci++) {
          if (edge.partitioning === 'forward' && ci !== pi) continue;
          out.push({
            index: out.length,
            id: `${producer.operatorId}[${pi}]→${node.operatorId}[${ci}]`,
            edge,
            fromChain,
            fromNode: edge.from,
            fromSubtask: pi,
            toChain: chain.index,
            toSubtask: ci,
          });
        }
      }
    }
  }
  return out;
}

export function taskKey(chainIndex: number, subtaskIndex: number): string {
  return `${chainIndex}.${subtaskIndex}`;
}

export type TaskOutputs = Map<number, { tag: string | undefined; writer: RecordWriter }[]>;

export interface SubtaskWiring {
  /** task key → its input channels, in layout order. */
  readonly inputs: Map<string, Channel[]>;
  /** task key → per chain node, the writers of its network edges. */
  readonly outputs: Map<string, TaskOutputs>;
}

/**
 * Builds channels and writers for the subtasks that `hosts(chain, subtask)` says run
 * here. `makeChannel(spec, side)` is asked once per channel with an end here: 'both'
 * when producer and consumer are both here (one object serves both ends), else
 * 'producer' or 'consumer'.
 */
export function wireSubtasks(
  plan: ExecutionPlan,
  layout: readonly ChannelSpec[],
  hosts: (chain: number, subtask: number) => boolean,
  makeChannel: (spec: ChannelSpec, side: 'both' | 'producer' | 'consumer') => Channel,
  keySerializer: Serializer<unknown>,
): SubtaskWiring {
  const inputs = new Map<string, Channel[]>();
  const outputs = new Map<string, TaskOutputs>();
  // Producer side: one writer per (edge, producer subtask) over the channels to every consumer.
  const byWriter = new Map<string, { spec: ChannelSpec; channel: Channel | undefined }[]>();
  for (const spec of layout) {
    const prodHere = hosts(spec.fromChain, spec.fromSubtask);
    const consHere = hosts(spec.toChain, spec.toSubtask);
    let channel: Channel | undefined;
    if (prodHere && consHere) channel = makeChannel(spec, 'both');
    else if (prodHere) channel = makeChannel(spec, 'producer');
    else if (consHere) channel = makeChannel(spec, 'consumer');
    if (consHere) pushTo(inputs, taskKey(spec.toChain, spec.toSubtask), channel!);
    if (prodHere) {
      // One writer per job-graph edge (the consumer chain's input number) and producer subtask.
      const k = `${spec.toChain}:${plan.chains[spec.toChain]!.nodes[0]!.inputs.indexOf(spec.edge)}:${spec.fromSubtask}`;
      pushTo(byWriter, k, { spec, channel });
    }
  }
  for (const list of byWriter.values()) {
    const spec = list[0]!.spec;
    const channels = list.map((e) => e.channel!);
    const producer = plan.graph.nodes.find((n) => n.index === spec.fromNode)!;
    const where = { producer: { name: producer.name, subtaskIndex: spec.fromSubtask, parallelism: producer.parallelism }, consumer: plan.chains[spec.toChain]!.nodes[0]!.name };
    const writer = new RecordWriter(channels, spec.edge.partitioning, plan.graph.maxParallelism, spec.edge.keySelector, keySerializer, where);
    const tk = taskKey(spec.fromChain, spec.fromSubtask);
    let m = outputs.get(tk);
    if (!m) outputs.set(tk, (m = new Map()));
    pushTo(m, spec.fromNode, { tag: spec.edge.sideTag, writer });
  }
  return { inputs, outputs };
}

function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

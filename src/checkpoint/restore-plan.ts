/**
 * Restore planning: which new subtask gets which state of a completed checkpoint, for
 * the same or a different parallelism (rescaling). A pure function of the metadata and
 * the new parallelism.
 *
 * Keyed state moves in whole key groups. New subtask i of parallelism p owns the
 * key-group range of Flink's KeyGroupRangeAssignment.computeKeyGroupRangeForOperatorIndex
 * (src/state/key-groups.ts: start = ceil(i·maxP/p), end = floor(((i+1)·maxP − 1)/p)),
 * and receives every old keyed handle whose range intersects it; the backend clips what
 * lies outside (range delete). With one handle of exactly its range (`sameRange`), the
 * backend may keep its incremental history, so the next checkpoint stays incremental.
 *
 * Operator state (OperatorStateEntry, per name):
 *   'split' — same parallelism: each subtask gets back its own items (identity);
 *             otherwise all items, in old subtask order, are dealt round-robin.
 *   'union' — every new subtask gets all items of all old subtasks.
 * maxParallelism can never change (key groups would move between keys): ConfigError.
 */
import { intersectRanges, keyGroupRangeForSubtask, rangeSize } from '../state/key-groups.ts';
import { ConfigError } from '../util/errors.ts';
import type { CheckpointMetadata, KeyGroupRange, KeyedStateHandle, OperatorStateEntry, SubtaskState } from './types.ts';

export interface SubtaskRestorePlan {
  readonly operatorId: string;
  readonly subtaskIndex: number;
  readonly keyGroupRange: KeyGroupRange;
  /** Handles whose key-group range intersects keyGroupRange, in old subtask order. */
  readonly keyedHandles: readonly KeyedStateHandle[];
  /** True when keyedHandles is exactly one handle covering exactly keyGroupRange. */
  readonly sameRange: boolean;
  readonly operatorState: readonly OperatorStateEntry[];
}

export interface OperatorRestorePlan {
  readonly operatorId: string;
  readonly parallelism: number;
  /** Parallelism in the checkpoint; undefined for an operator the checkpoint does not know (starts empty). */
  readonly oldParallelism: number | undefined;
  readonly subtasks: readonly SubtaskRestorePlan[];
}

export interface RestorePlan {
  readonly checkpointId: number;
  readonly kind: 'checkpoint' | 'savepoint';
  readonly maxParallelism: number;
  readonly operators: readonly OperatorRestorePlan[];
}

export interface RestorePlanOptions {
  /** Must equal the checkpoint's maxParallelism if given. */
  readonly maxParallelism?: number;
  /** Allow the checkpoint to hold state of operators the new job does not have (it is dropped). */
  readonly allowNonRestoredState?: boolean;
}

export function planRestore(
  metadata: CheckpointMetadata,
  parallelism: ReadonlyMap<string, number> | Readonly<Record<string, number>>,
  options: RestorePlanOptions = {},
): RestorePlan {
  const maxP = metadata.maxParallelism;
  if (options.maxParallelism !== undefined && options.maxParallelism !== maxP) {
    throw new ConfigError(
      `checkpoint ${metadata.checkpointId} was taken with maxParallelism ${maxP}; it cannot be restored with ${options.maxParallelism} (key groups would move between keys)`,
    );
  }
  const newP = parallelism instanceof Map ? new Map(parallelism) : new Map(Object.entries(parallelism));
  const byOperator = new Map<string, SubtaskState[]>();
  for (const s of metadata.subtasks) {
    const list = byOperator.get(s.operatorId) ?? [];
    list.push(s);
    byOperator.set(s.operatorId, list);
  }
  for (const [operatorId, states] of byOperator) {
    const hasState = states.some((s) => s.keyed !== undefined || (s.operatorState?.length ?? 0) > 0);
    if (!newP.has(operatorId) && hasState && !options.allowNonRestoredState) {
      throw new ConfigError(
        `checkpoint ${metadata.checkpointId} has state for operator ${operatorId}, which the job does not have (allowNonRestoredState drops it)`,
      );
    }
  }
  const operators: OperatorRestorePlan[] = [];
  for (const [operatorId, p] of [...newP].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const old = [...(byOperator.get(operatorId) ?? [])].sort((a, b) => a.subtaskIndex - b.subtaskIndex);
    const oldParallelism = metadata.operators.find((o) => o.operatorId === operatorId)?.parallelism;
    const ranges = Array.from({ length: p }, (_, i) => keyGroupRangeForSubtask(maxP, p, i));
    const opState = redistributeOperatorState(operatorId, old, p, oldParallelism === p);
    const subtasks: SubtaskRestorePlan[] = ranges.map((range, i) => {
      const keyedHandles = old
        .map((s) => s.keyed)
        .filter((h): h is KeyedStateHandle => h !== undefined && rangeSize(intersectRanges(h.keyGroupRange, range)) > 0);
      const only = keyedHandles[0];
      return {
        operatorId,
        subtaskIndex: i,
        keyGroupRange: range,
        keyedHandles,
        sameRange: keyedHandles.length === 1 && only !== undefined
          && only.keyGroupRange.start === range.start && only.keyGroupRange.end === range.end,
        operatorState: opState[i]!,
      };
    });
    operators.push({ operatorId, parallelism: p, oldParallelism, subtasks });
  }
  return { checkpointId: metadata.checkpointId, kind: metadata.kind, maxParallelism: maxP, operators };
}

function redistributeOperatorState(
  operatorId: string,
  old: readonly SubtaskState[],
  p: number,
  sameParallelism: boolean,
): OperatorStateEntry[][] {
  const modes = new Map<string, 'split' | 'union'>();
  for (const s of old) {
    for (const e of s.operatorState ?? []) {
      const m = modes.get(e.name);
      if (m !== undefined && m !== e.mode) {
        throw new ConfigError(`operator ${operatorId}: state ${e.name} is both 'split' and 'union' in the checkpoint`);
      }
      modes.set(e.name, e.mode);
    }
  }
  const out: OperatorStateEntry[][] = Array.from({ length: p }, () => []);
  for (const [name, mode] of [...modes].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const perOld = old.map((s) => s.operatorState?.filter((e) => e.name === name).flatMap((e) => e.items) ?? []);
    const all = perOld.flat();
    if (mode === 'union') {
      for (let i = 0; i < p; i++) out[i]!.push({ name, mode, items: [...all] });
    } else if (sameParallelism) {
      const byIndex = new Map(old.map((s, k) => [s.subtaskIndex, perOld[k]!]));
      for (let i = 0; i < p; i++) out[i]!.push({ name, mode, items: [...(byIndex.get(i) ?? [])] });
    } else {
      const dealt: unknown[][] = Array.from({ length: p }, () => []);
      all.forEach((item, k) => dealt[k % p]!.push(item));
      for (let i = 0; i < p; i++) out[i]!.push({ name, mode, items: dealt[i]! });
    }
  }
  return out;
}

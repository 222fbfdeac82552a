/**
 * Which part of a restored checkpoint each new subtask gets (used when src/checkpoint
 * offers no planner for the case): keyed handles whose key-group range overlaps the
 * subtask's range (the backend clips to its own range), and operator state — 'split'
 * items dealt round-robin over the new subtasks (kept in place when the parallelism is
 * unchanged), 'union' items given to every subtask.
 */
import type { CheckpointMetadata, KeyedStateHandle, OperatorStateEntry } from '../checkpoint/types.ts';
import type { KeyGroupRange } from '../state/types.ts';

export interface SubtaskRestore {
  readonly keyed: KeyedStateHandle[];
  readonly operatorState: OperatorStateEntry[];
}

export function planSubtaskRestore(
  meta: CheckpointMetadata,
  operatorId: string,
  parallelism: number,
  subtaskIndex: number,
  range: KeyGroupRange,
): SubtaskRestore {
  const subtasks = meta.subtasks.filter((s) => s.operatorId === operatorId).sort((a, b) => a.subtaskIndex - b.subtaskIndex);
  const keyed = subtasks
    .map((s) => s.keyed)
    .filter((h): h is KeyedStateHandle => h !== undefined && h.keyGroupRange.start <= range.end && h.keyGroupRange.end >= range.start);
  const oldParallelism = meta.operators.find((o) => o.operatorId === operatorId)?.parallelism ?? subtasks.length;
  const byName = new Map<string, { mode: 'split' | 'union'; items: unknown[] }>();
  for (const s of subtasks) {
    for (const e of s.operatorState ?? []) {
      let acc = byName.get(e.name);
      if (!acc) {
        acc = { mode: e.mode, items: [] };
        byName.set(e.name, acc);
      }
      if (e.mode === 'union' || oldParallelism !== parallelism) acc.items.push(...e.items);
      else if (s.subtaskIndex === subtaskIndex) acc.items.push(...e.items);
    }
  }
  const operatorState: OperatorStateEntry[] = [];
  for (const [name, { mode, items }] of byName) {
    if (mode === 'union' || oldParallelism === parallelism) operatorState.push({ name, mode, items });
    else operatorState.push({ name, mode, items: items.filter((_, k) => k % parallelism === subtaskIndex) });
  }
  return { keyed, operatorState };
}

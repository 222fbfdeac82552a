/** What a task needs from its job (implemented by JobExecution, or by a worker's host). */
import type { Clock } from '../../util/clock.ts';
import type { KeyedStateBackend } from '../../state/types.ts';
import type { OperatorStateEntry, SubtaskCheckpointMetrics, SubtaskState } from '../../checkpoint/types.ts';
import type { JobNode } from '../job-graph.ts';
import type { TurnBudget } from '../turn-budget.ts';

export interface TaskServices {
  readonly clock: Clock;
  readonly jobPath: string;
  readonly maxParallelism: number;
  readonly checkpointingEnabled: boolean;
  readonly batchSize: number;
  readonly metrics: { recordsIn: number; recordsOut: number };
  /** Shared by the tasks of one thread: when to give the event loop a turn. */
  readonly turns: TurnBudget;
  createBackend(node: JobNode, subtaskIndex: number): Promise<KeyedStateBackend>;
  /** Undefined: fresh start (no checkpoint restored). */
  restoredOperatorState(operatorId: string, subtaskIndex: number): readonly OperatorStateEntry[] | undefined;
  acknowledge(checkpointId: number, states: SubtaskState[], metrics: SubtaskCheckpointMetrics): void;
  decline(checkpointId: number, reason: string, cause?: unknown): void;
  /** A source subtask reached the end of its input (it waits for `releaseEnd`). */
  sourceFinished(task: { readonly name: string }): void;
}

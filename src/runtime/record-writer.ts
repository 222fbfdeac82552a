/**
 * A producer's side of one job-graph edge: picks the channel of each record.
 * 'hash' routes by key group (src/state's formulas), so a key always reaches the
 * subtask whose keyed state holds it, at any parallelism.
 */
import type { Serializer } from '../state/types.ts';
import { subtaskForKeyGroup } from '../state/key-groups.ts';
import { keyGroupForKey } from '../state/key-group-for-key.ts';
import type { Channel } from './channel.ts';
import type { ControlElement } from './elements.ts';
import type { Partitioning } from './job-graph.ts';
import { userFunctionFailed, type FailingSubtask } from './user-code.ts';

export class RecordWriter {
  private next = 0;
  /** Records emitted through this writer (read by the observability layer). */
  emitted = 0;

  constructor(
    readonly channels: readonly Channel[],
    private readonly partitioning: Partitioning,
    private readonly maxParallelism: number,
    private readonly keySelector: ((value: any) => unknown) | undefined,
    private readonly keySerializer: Serializer<unknown>,
    /** The producing subtask and the keyed operator it feeds, to name them when the key selector throws. */
    private readonly where: { producer: FailingSubtask; consumer: string } = { producer: { name: 'unknown', subtaskIndex: 0, parallelism: 1 }, consumer: 'unknown' },
  ) {}

  emit(value: unknown, timestamp: number | undefined): void {
    const channels = this.channels;
    this.emitted++;
    if (channels.length === 1) {
      channels[0]!.pushRecord(value, timestamp);
      return;
    }
    if (this.partitioning === 'hash') {
      let key: unknown;
      try {
        key = this.keySelector!(value);
      } catch (err) {
        throw userFunctionFailed(this.where.producer, `key selector of the keyBy into "${this.where.consumer}"`, value, err);
      }
      const kg = keyGroupForKey(key, this.maxParallelism, this.keySerializer);
      channels[subtaskForKeyGroup(kg, this.maxParallelism, channels.length)]!.pushRecord(value, timestamp);
    } else {
      const i = this.next;
      this.next = i + 1 === channels.length ? 0 : i + 1;
      channels[i]!.pushRecord(value, timestamp);
    }
  }

  broadcast(element: ControlElement): void {
    for (const c of this.channels) c.pushControl(element);
  }

  /** Sends what cross-thread channels buffered. */
  flush(): void {
    for (const c of this.channels) c.flush?.();
  }

  /** A channel that is full, or undefined. */
  fullChannel(): Channel | undefined {
    for (const c of this.channels) if (!c.hasCapacity()) return c;
    return undefined;
  }
}

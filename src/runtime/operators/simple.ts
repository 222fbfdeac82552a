/** Stateless one-input operators: map, filter, flatMap, and the identity (union, side outputs). */
import type { Collector } from '../functions.ts';
import { StatelessOperator } from '../operator.ts';
import type { OperatorContext, OperatorSnapshot } from '../operator.ts';
import type { SnapshotTarget } from '../../state/types.ts';
import { WeirError, errorMessage } from '../../util/errors.ts';
import { userFunctionFailed } from '../user-code.ts';

export class MapOperator extends StatelessOperator {
  constructor(private readonly fn: (value: any) => unknown) {
    super();
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    let result: unknown;
    try {
      result = this.fn(value);
    } catch (err) {
      throw userFunctionFailed(this.ctx, 'map function', value, err);
    }
    this.out.collect(result, timestamp);
  }
}

export class FilterOperator extends StatelessOperator {
  constructor(private readonly fn: (value: any) => boolean) {
    super();
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    let keep: boolean;
    try {
      keep = this.fn(value);
    } catch (err) {
      throw userFunctionFailed(this.ctx, 'filter function', value, err);
    }
    if (keep) this.out.collect(value, timestamp);
  }
}

export class FlatMapOperator extends StatelessOperator {
  private timestamp: number | undefined;
  private readonly collector: Collector<unknown> = { collect: (v) => this.out.collect(v, this.timestamp) };
  constructor(private readonly fn: (value: any, out: Collector<any>) => void) {
    super();
  }
  processElement(value: unknown, timestamp: number | undefined): void {
    this.timestamp = timestamp;
    try {
      this.fn(value, this.collector);
    } catch (err) {
      throw userFunctionFailed(this.ctx, 'flatMap function', value, err);
    }
  }
}

export class IdentityOperator extends StatelessOperator {
  processElement(value: unknown, timestamp: number | undefined): void {
    this.out.collect(value, timestamp);
  }
}

/** Where a malformed record was: the subtask, and its index in that subtask's input (counted across restores). */
export interface RecordPosition {
  /** Name of the parse operator. */
  readonly operator: string;
  /** 0-based index of the subtask that read the record. */
  readonly subtask: number;
  /** 0-based index of the record in this subtask's input since the job first started (kept in operator state). */
  readonly index: number;
}

/** A record the parse function rejected, as the side output of a `parse` with `onMalformed: tag`. */
export interface BadRecord<T = unknown> {
  /** The input record as it arrived. */
  readonly record: T;
  /** Message of what the parse function threw. */
  readonly error: string;
  /** Where the record was in the input. */
  readonly position: RecordPosition;
}

/** Thrown (and so failing the job, or restarting it under the restart strategy) by `parse` with `onMalformed: 'fail'`. */
export class MalformedRecordError extends WeirError {
  /** Stable code of this error class: 'MALFORMED_RECORD'. */
  readonly code = 'MALFORMED_RECORD';
  /** Where the malformed record was in the input. */
  readonly position: RecordPosition;
  /**
   * @param position - where the record was
   * @param record - the record (shown in the message, cut at 200 characters)
   * @param cause - what the parse function threw
   */
  constructor(position: RecordPosition, record: unknown, cause: unknown) {
    const preview = previewOf(record);
    super(`malformed record at ${position.operator}[${position.subtask}] input record #${position.index}: ${errorMessage(cause)} (record: ${preview})`, { cause });
    this.position = position;
  }
}

function previewOf(record: unknown): string {
  let s: string;
  try {
    s = typeof record === 'string' ? JSON.stringify(record) : JSON.stringify(record) ?? String(record);
  } catch {
    s = String(record);
  }
  return s.length > 200 ? `${s.slice(0, 200)}…` : s;
}

const PARSE_STATE = 'parse-position';

/**
 * The bad-input policy (issue 6): applies `fn` to every record; a record for which it
 * throws is malformed. 'fail' raises MalformedRecordError naming the record's position;
 * a side-output tag routes a BadRecord there and counts it (`malformed`), and the job
 * goes on. The input index is operator state, so positions stay true across restores.
 */
export class ParseOperator extends StatelessOperator {
  private index = 0;
  /** Malformed records routed to the side output by this subtask (since the job first started). */
  malformed = 0;

  constructor(
    private readonly fn: (value: any) => unknown,
    /** Side output tag id for malformed records; undefined = fail the job. */
    private readonly badRecordsTag: string | undefined,
  ) {
    super();
  }

  override open(ctx: OperatorContext): void {
    this.ctx = ctx;
    this.out = ctx.output;
    // 'union' state: every subtask sees all old subtasks' counters and keeps its own (a
    // new subtask after a rescale starts at 0; positions are per subtask).
    for (const e of ctx.restoredOperatorState) {
      if (e.name !== PARSE_STATE) continue;
      for (const item of e.items) {
        const s = item as { index?: number; malformed?: number; subtask?: number };
        if (s.subtask !== ctx.subtaskIndex) continue;
        this.index = s.index ?? 0;
        this.malformed = s.malformed ?? 0;
      }
    }
  }

  processElement(value: unknown, timestamp: number | undefined): void {
    const position = { operator: this.ctx.name, subtask: this.ctx.subtaskIndex, index: this.index++ };
    let parsed: unknown;
    try {
      parsed = this.fn(value);
    } catch (err) {
      if (this.badRecordsTag === undefined) throw new MalformedRecordError(position, value, err);
      this.malformed++;
      const bad: BadRecord = { record: value, error: errorMessage(err), position };
      this.out.collectSide(this.badRecordsTag, bad, timestamp);
      return;
    }
    this.out.collect(parsed, timestamp);
  }

  override snapshotState(_checkpointId: number, _target: SnapshotTarget): OperatorSnapshot {
    return { operatorState: [{ name: PARSE_STATE, mode: 'union', items: [{ subtask: this.ctx.subtaskIndex, index: this.index, malformed: this.malformed }] }] };
  }
}

/**
 * What flows through channels besides records: control elements. Records are carried
 * as (value, timestamp) pairs in a channel's parallel arrays, so a record costs no
 * allocation on its way; a control element is an instance of one of these classes and
 * is told apart from a record value with `instanceof ControlElement`.
 *
 * Everything here is plain data, so a channel that crosses a thread (later issue) can
 * serialise it.
 */
export abstract class ControlElement {
  abstract readonly kind: 'barrier' | 'watermark' | 'idle' | 'active' | 'end';
}

/** A checkpoint barrier: everything before it belongs to checkpoint `id`. */
export class Barrier extends ControlElement {
  readonly kind = 'barrier';
  constructor(
    readonly checkpointId: number,
    readonly timestamp: number,
    readonly checkpointKind: 'checkpoint' | 'savepoint',
  ) {
    super();
  }
}

/** Event time has reached `timestamp`: no record with a smaller timestamp follows (except late ones). */
export class Watermark extends ControlElement {
  readonly kind = 'watermark';
  constructor(readonly timestamp: number) {
    super();
  }
}

/** The upstream subtask is idle: do not hold back event time for it until it is active again. */
export class IdleMarker extends ControlElement {
  readonly kind = 'idle';
}

export class ActiveMarker extends ControlElement {
  readonly kind = 'active';
}

/** The upstream subtask will send nothing more. */
export class EndOfStream extends ControlElement {
  readonly kind = 'end';
}

export const IDLE = new IdleMarker();
export const ACTIVE = new ActiveMarker();
export const END = new EndOfStream();

/** Event time that closes every window (sent when a bounded input ends). */
export const MAX_WATERMARK = Number.MAX_SAFE_INTEGER;
export const MIN_WATERMARK = Number.MIN_SAFE_INTEGER;

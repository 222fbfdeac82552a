/**
 * A source's `deserialize` is a function of the job: what it throws fails the job as a
 * UserFunctionError that names the source, the subtask, where the record came from
 * (topic, partition and offset, or stream and sequence) and its payload as text, with the
 * user's file and line — not a bare SyntaxError after every restart.
 */
import { userFunctionFailed } from '../api/index.ts';

const decoder = new TextDecoder('utf-8', { fatal: false });

/** The payload for an error message: its text (cut to 160 characters) and its size. */
function payloadText(bytes: Uint8Array | null | undefined): string {
  if (bytes === null || bytes === undefined) return 'null';
  const head = decoder.decode(bytes.subarray(0, 480));
  const text = JSON.stringify(head.length > 160 ? `${head.slice(0, 160)}…` : head);
  return `${text} (${bytes.length} bytes)`;
}

/**
 * The error to throw for `err`, thrown by the deserializer of source `name` (subtask
 * `subtaskIndex` of `parallelism`) on the record at `position` whose payload is `payload`.
 */
export function deserializeFailed(
  source: { readonly name: string; readonly subtaskIndex: number; readonly parallelism: number },
  position: string,
  payload: Uint8Array | null | undefined,
  err: unknown,
): unknown {
  return userFunctionFailed(source, 'deserialize function', undefined, err, `${position}, value ${payloadText(payload)}`);
}

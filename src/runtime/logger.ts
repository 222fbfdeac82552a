/**
 * The job's structured logger (pino). JSON lines when stderr is not a terminal (for log
 * shippers), pino-pretty when it is. Fields: job, and where they apply operator,
 * subtask, checkpointId, attempt. Both write synchronously to the given stream (stderr by
 * default): no worker thread, nothing lost when the process exits.
 *
 * Credentials are never logged: nothing here reads the environment, and the redact
 * list below censors the usual secret-bearing fields should a caller pass an object
 * that holds one (e.g. an S3 client config).
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly job: string;
  /** Default 'info'. */
  readonly level?: string;
  /** Pretty (human) output; default: when the destination is a TTY. */
  readonly pretty?: boolean;
  /** Default process.stderr. */
  readonly destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

export const REDACTED_PATHS = [
  'credentials', '*.credentials', 'secretAccessKey', '*.secretAccessKey', 'accessKeyId', '*.accessKeyId', 'sessionToken', '*.sessionToken',
  'password', '*.password', 'authorization', '*.authorization', 'headers.authorization',
];

export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? process.stderr;
  const usePretty = opts.pretty ?? dest.isTTY === true;
  const base = {
    level: opts.level ?? 'info',
    base: { job: opts.job },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (usePretty) {
    return pino(base, pretty({ destination: dest, sync: true, colorize: opts.pretty ?? dest.isTTY === true, ignore: 'pid,hostname,job', singleLine: true, translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(base, dest);
}

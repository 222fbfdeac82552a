/** "10s", "500ms", "2m", "1h" or a number of milliseconds. */
import { ConfigError } from '../util/errors.ts';

/**
 * A duration in milliseconds from "500ms", "10s", "2m" (or "2min"), "1h", a plain number
 * string (ms) or a number (ms); fractions are rounded to whole ms.
 * @param what - names the setting in the error message
 * @throws ConfigError for a negative or non-finite number or text in another form
 */
export function parseDuration(value: string | number, what = 'duration'): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new ConfigError(`${what}: expected a non-negative number of ms, got ${value}`);
    return value;
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h)?\s*$/.exec(value);
  if (!m) throw new ConfigError(`${what}: cannot parse "${value}" (use e.g. 500ms, 10s, 2m, 1h)`);
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'h' ? 3_600_000 : 60_000;
  return Math.round(n * factor);
}

/**
 * Test-only crash hooks: `crashPoint(name)` is called at the places where a process
 * crash is most interesting (checkpoint phases, uploads, `_metadata`, subsumption,
 * compaction, restore). When the environment variable WEIR_CRASH_AT names that point,
 * the process SIGKILLs itself on the point's nth hit, after writing one line
 *   weir-crash-point <name> <nth>
 * to stderr (synchronous for pipes and files), so a harness knows where it died.
 *
 *   WEIR_CRASH_AT=<point>:<nth>[,<point>:<nth>...]     e.g. WEIR_CRASH_AT=metadata-before:3
 *
 * Not armed (the variable unset, as in production), a call is one comparison. The
 * variable is read once, when this module is first loaded (worker threads get their own
 * copy of the environment and count their own hits).
 */
import { writeSync } from 'node:fs';

/** Every point the code calls, for harnesses and their reports. */
export const CRASH_POINTS = [
  'snapshot-sync',
  'snapshot-async',
  'upload',
  'metadata-before',
  'metadata-after',
  'subsume-delete',
  'compaction',
  'manifest-synced',
  'recovered',
  'restore',
] as const;
export type CrashPointName = (typeof CRASH_POINTS)[number];

const armed: Map<string, number> | undefined = parse(process.env['WEIR_CRASH_AT']);
const hits = new Map<string, number>();

function parse(spec: string | undefined): Map<string, number> | undefined {
  if (spec === undefined || spec === '') return undefined;
  const m = new Map<string, number>();
  for (const part of spec.split(',')) {
    const [name, nth] = part.split(':');
    const n = Number(nth ?? '1');
    if (name === undefined || !(CRASH_POINTS as readonly string[]).includes(name) || !Number.isInteger(n) || n < 1) {
      throw new Error(`WEIR_CRASH_AT: expected <point>:<nth> with point one of ${CRASH_POINTS.join(', ')}, got "${part}"`);
    }
    m.set(name, n);
  }
  return m;
}

export function crashPoint(name: CrashPointName): void {
  if (armed === undefined) return;
  const want = armed.get(name);
  if (want === undefined) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n !== want) return;
  try {
    writeSync(2, `weir-crash-point ${name} ${n}\n`);
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}

/**
 * Issue 9, checkpoint ownership: the job-level scenario traces in testdata/ownership-*.trace
 * (format and job: support/job-trace-runner.ts), each run through the real
 * StreamEnvironment, runtime, coordinator and lsm backend on a local directory.
 */
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { runJobTrace } from './support/job-trace-runner.ts';

const trace = (name: string): string => readFileSync(new URL(`./testdata/${name}`, import.meta.url), 'utf8');

for (const [name, what] of [
  ['ownership-resume-older.trace', 'defect 1: resuming an older checkpoint keeps it until a newer checkpoint of the run completed'],
  ['ownership-corrupt-newest.trace', 'defect 1: --resume latest past a corrupt newest checkpoint never deletes the intact one'],
  ['ownership-fresh-start.trace', 'defect 2: without --resume or --fresh a run refuses; --fresh deletes nothing of the earlier run'],
  ['ownership-two-processes.trace', 'defect 3: a second run on a leased job directory fails at start naming the holder'],
  ['ownership-ids.trace', 'defect 5: checkpoint ids never repeat across in-process restarts and runs'],
] as const) {
  test(`${what} (testdata/${name})`, { timeout: 180_000 }, async () => {
    await runJobTrace(trace(name));
  });
}

// Prints what to read after `npm test` (scripts/test.sh): the summary counts, every failed
// or cancelled test with its first lines of detail, and the slowest tests, from the spec
// reporter's file. The run's stdout only carries dots (CI keeps only the first few KB of
// the output, so a full spec listing there would push the failures out of sight).
// Usage: node scripts/test-summary.mjs test-results/spec.txt
/* global process, console */
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n');
const failures = [];
const durations = [];
for (let i = 0; i < lines.length; i++) {
  const line = lines[i];
  const timed = /^\s*[✔✖﹣] (.*) \(([\d.]+)ms\)/.exec(line);
  if (timed) durations.push({ name: timed[1], ms: Number(timed[2]) });
  if (/^\s*✖ /.test(line) && !/^\s*✖ failing tests:/.test(line)) {
    const block = [line];
    for (let j = i + 1; j < lines.length && block.length < 25 && !/^\s*[✔✖ℹ▶] /.test(lines[j]); j++) block.push(lines[j]);
    failures.push(block.join('\n'));
  }
}
const summary = lines.filter((l) => /^ℹ (tests|pass|fail|cancelled|skipped|todo|duration_ms) /.test(l));
console.log(`\n== test summary\n${summary.join('\n')}`);
if (failures.length > 0) {
  // The spec reporter repeats each failure in its closing "failing tests" list: print each once.
  const unique = [...new Set(failures)];
  console.log(`\n== failed (${unique.length})\n${unique.join('\n\n')}`);
}
durations.sort((a, b) => b.ms - a.ms);
console.log(`\n== slowest tests\n${durations.slice(0, 8).map((d) => `${(d.ms / 1000).toFixed(1).padStart(7)} s  ${d.name}`).join('\n')}`);

/**
 * Crash harness (issue 6): `npm run test:crash -- --kills 200 [--seed 1] [--lines 60000] [--vocab 5000] [--second-process 0.15] [--json out.json]`
 *
 * --second-process: share of runs during which a second `weir run` is started on the same
 * job directory (issue 9): it must be refused at start naming the holder, the first run
 * must not notice.
 *
 * Spreads the kills over lsm incremental, lsm full and heap; each variant runs rounds of
 * examples/wordcount.ts (scripts/crash-lib.ts) killed at random moments and at chosen
 * crash points, resumed with --resume latest, until its share of kills is reached. Every
 * round ends with the job run to completion and checked: output exactly 1..n per word,
 * `weir checkpoints verify` clean, `gc --dry-run` without orphans. Prints kills survived
 * per point and variant (table + JSON); exits 1 on any problem.
 */
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { crashRound, rng, VARIANTS, type RoundResult } from './crash-lib.ts';

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '30' },
    seed: { type: 'string', default: '1' },
    lines: { type: 'string', default: '60000' },
    vocab: { type: 'string', default: '5000' },
    'per-round': { type: 'string', default: '12' },
    'second-process': { type: 'string', default: '0.15' },
    variants: { type: 'string', default: VARIANTS.map((v) => v.name).join(',') },
    json: { type: 'string' },
    verbose: { type: 'boolean', default: false },
  },
});
const totalKills = Number(values.kills);
const perRound = Number(values['per-round']);
const random = rng(Number(values.seed));
const variants = VARIANTS.filter((v) => values.variants.split(',').includes(v.name));
if (variants.length === 0) throw new Error(`--variants: none of ${VARIANTS.map((v) => v.name).join(', ')}`);
const started = performance.now();
const results: RoundResult[] = [];
let failed = false;
for (const [i, variant] of variants.entries()) {
  const share = Math.floor(totalKills / variants.length) + (i < totalKills % variants.length ? 1 : 0);
  let done = 0;
  for (let round = 0; done < share && round < share + 5; round++) {
    const r = await crashRound({
      variant, kills: Math.min(perRound, share - done), lines: Number(values.lines), vocab: Number(values.vocab), random,
      secondProcessShare: Number(values['second-process']),
      ...(values.verbose ? { log: (l: string) => console.log(l) } : {}),
    });
    results.push(r);
    done += r.kills;
    const ok = r.error === undefined && r.outputProblems.length === 0 && r.verifyProblems === 0 && r.orphans === 0;
    console.log(`${variant.name} round ${round + 1}: ${r.kills} kills in ${r.runs} runs, output ${r.outputProblems.length === 0 ? 'exact' : `WRONG: ${r.outputProblems.join('; ')}`}, verify problems ${r.verifyProblems}, orphans ${r.orphans}, second processes refused ${r.secondRefused ?? 0}${r.error ? `, ERROR ${r.error}` : ''}`);
    if (!ok) failed = true;
  }
}
const points = new Map<string, Record<string, number>>();
for (const r of results) {
  for (const [p, n] of Object.entries(r.killsByPoint)) {
    const row = points.get(p) ?? {};
    row[r.variant] = (row[r.variant] ?? 0) + n;
    points.set(p, row);
  }
}
const names = variants.map((v) => v.name);
console.log(`\n${'point'.padEnd(18)}${names.map((n) => n.padStart(17)).join('')}${'total'.padStart(8)}`);
let grand = 0;
for (const [p, row] of [...points].sort()) {
  const total = names.reduce((a, n) => a + (row[n] ?? 0), 0);
  grand += total;
  console.log(`${p.padEnd(18)}${names.map((n) => String(row[n] ?? 0).padStart(17)).join('')}${String(total).padStart(8)}`);
}
const secondRefused = results.reduce((n, r) => n + (r.secondRefused ?? 0), 0);
const summary = {
  kills: grand,
  secondRefused,
  rounds: results.length,
  seconds: Math.round((performance.now() - started) / 1000),
  failed,
  byPoint: Object.fromEntries(points),
  rounds_detail: results,
};
console.log(`\n${grand} kills survived in ${results.length} rounds, ${summary.seconds} s: ${failed ? 'PROBLEMS (see above)' : 'nothing lost, nothing duplicated, verify clean, no orphans'}`);
console.log(`${secondRefused} second processes started on a running job's directory, all refused at start`);
console.log(JSON.stringify({ kills: grand, secondRefused, rounds: results.length, seconds: summary.seconds, failed, byPoint: summary.byPoint }));
if (values.json) writeFileSync(values.json, JSON.stringify(summary, null, 1));
process.exitCode = failed ? 1 : 0;

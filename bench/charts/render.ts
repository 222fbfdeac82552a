/**
 * Charts of the weir-vs-Flink benchmarks as SVG files, drawn from the JSON reports of
 * `npm run bench:flink -- --json-out FILE` (any number of them: Nexmark at parallelism 1
 * and 2, the checkpoint rounds):
 *
 *   node --import tsx bench/charts/render.ts --out docs/img /tmp/nexmark-p1.json /tmp/nexmark-p2.json /tmp/rounds.json
 *
 * Writes, for what the reports hold:
 * - nexmark-per-core-p{N}.svg: events per CPU-second (per core) of each query, weir vs Flink, parallelism N;
 * - nexmark-throughput-p{N}.svg: events/s of each query (wall clock from the first event), weir vs Flink;
 * - checkpoint-rounds-size.svg, checkpoint-rounds-duration.svg: checkpointed bytes and
 *   duration of each checkpoint of the rounds, in order (weir's series are its rounds after
 *   the load; Flink's start with the load's checkpoints), full and incremental, weir and Flink.
 * Each chart's caption names the reports' date, load average and arguments. Plain SVG
 * written here (no dependency): bars, lines, axes and labels.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface NexmarkRun {
  system: 'weir' | 'flink';
  query: string;
  parallelism: number;
  eventsPerSecond: number;
  eventsPerCpuSecond: number;
  peakRssMiB: number;
  error?: string;
}

interface RoundsSeries {
  system: 'weir' | 'flink';
  mode: 'incremental' | 'full';
  run: number;
  checkpoints: { bytes: number; fullBytes: number; durationMillis: number }[];
}

interface Report {
  startedAt: string;
  loadavgAtStart: number[];
  loadavgAtEnd: number[];
  argv: string[];
  nexmarkRuns?: NexmarkRun[];
  roundsSeries?: RoundsSeries[];
}

const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string', default: 'docs/img' } } });
if (positionals.length === 0) {
  console.error('usage: render.ts [--out DIR] REPORT.json …  (reports of npm run bench:flink -- --json-out FILE)');
  process.exit(2);
}
const reports = positionals.map((f) => ({ file: f, r: JSON.parse(readFileSync(f, 'utf8')) as Report }));
mkdirSync(values.out, { recursive: true });

const COLORS = { weir: '#2f6fb3', flink: '#e07b28', weirFull: '#8fb7e0', flinkFull: '#f2b987' };
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const si = (n: number): string => {
  if (!Number.isFinite(n)) return '–';
  const a = Math.abs(n);
  if (a >= 1e9) return `${(n / 1e9).toFixed(a >= 1e10 ? 0 : 1)}G`;
  if (a >= 1e6) return `${(n / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e3) return `${(n / 1e3).toFixed(a >= 1e4 ? 0 : 1)}k`;
  return a >= 10 ? n.toFixed(0) : n.toFixed(1);
};

/** Round axis maximum: 1, 2, 2.5, 5 × 10^k at or above `x`. */
function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

function caption(rs: Report[]): string {
  const r = rs[0]!;
  const load = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(' ');
  return `${r.startedAt.slice(0, 16).replace('T', ' ')} UTC · load avg ${load(r.loadavgAtStart)} → ${load(r.loadavgAtEnd)} (2 cores, shared) · bench:flink ${r.argv.join(' ')}`;
}

/** The caption in lines of at most `width` characters (SVG text does not wrap). */
function wrap(text: string, width = 150): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line.length + word.length + 1 > width && line) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function footer(foot: string, height: number): string {
  const lines = wrap(foot);
  return lines.map((l, i) => `<text x="4" y="${height - 8 - (lines.length - 1 - i) * 11}" font-size="9" fill="#666">${esc(l)}</text>`).join('\n');
}

/** Horizontal grouped bars: one group per label, one bar per series. */
function barChart(title: string, subtitle: string, unit: string, labels: string[], series: { name: string; color: string; values: (number | undefined)[] }[], foot: string): string {
  const rowH = 12 * series.length + 10;
  const left = 60;
  const width = 760;
  const plotW = width - left - 90;
  const top = 74;
  const height = top + labels.length * rowH + 48 + wrap(foot).length * 11;
  const max = niceMax(Math.max(...series.flatMap((s) => s.values.filter((v): v is number => v !== undefined && Number.isFinite(v)))));
  const x = (v: number) => left + (v / max) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="600">${esc(title)}</text>`);
  out.push(`<text x="${left}" y="37" fill="#333">${esc(subtitle)}</text>`);
  series.forEach((s, i) => {
    const lx = left + i * 120;
    out.push(`<rect x="${lx}" y="47" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="56">${esc(s.name)}</text>`);
  });
  for (let t = 0; t <= 5; t++) {
    const v = (max * t) / 5;
    out.push(`<line x1="${x(v)}" y1="${top - 4}" x2="${x(v)}" y2="${top + labels.length * rowH}" stroke="#ddd"/>`);
    out.push(`<text x="${x(v)}" y="${top + labels.length * rowH + 14}" text-anchor="middle" fill="#555">${si(v)}</text>`);
  }
  out.push(`<text x="${left + plotW / 2}" y="${top + labels.length * rowH + 30}" text-anchor="middle" fill="#333">${esc(unit)}</text>`);
  labels.forEach((label, li) => {
    const y0 = top + li * rowH;
    out.push(`<text x="${left - 8}" y="${y0 + rowH / 2 + 2}" text-anchor="end" font-weight="600">${esc(label)}</text>`);
    series.forEach((s, si2) => {
      const v = s.values[li];
      const y = y0 + 4 + si2 * 12;
      if (v === undefined || !Number.isFinite(v)) {
        out.push(`<text x="${left + 4}" y="${y + 9}" fill="#a00">${esc(s.name)}: no result</text>`);
        return;
      }
      out.push(`<rect x="${left}" y="${y}" width="${Math.max(0.5, x(v) - left)}" height="10" fill="${s.color}"/>`);
      out.push(`<text x="${x(v) + 4}" y="${y + 9}" fill="#333">${si(v)}</text>`);
    });
  });
  out.push(footer(foot, height));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** Line chart over checkpoint number; optional log scale. */
function lineChart(title: string, unit: string, log: boolean, lines: { name: string; color: string; dash?: boolean; points: number[] }[], foot: string): string {
  const width = 820;
  const height = 330 + wrap(foot).length * 11;
  const left = 70;
  const right = 210;
  const top = 36;
  const bottom = 50 + wrap(foot).length * 11;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const n = Math.max(...lines.map((l) => l.points.length));
  const vals = lines.flatMap((l) => l.points).filter((v) => Number.isFinite(v) && (!log || v > 0));
  const lo = log ? 10 ** Math.floor(Math.log10(Math.min(...vals))) : 0;
  const hi = log ? 10 ** Math.ceil(Math.log10(Math.max(...vals))) : niceMax(Math.max(...vals));
  const y = (v: number) => top + plotH - (log ? (Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo)) : v / hi) * plotH;
  const x = (i: number) => left + (n <= 1 ? plotW / 2 : (i / (n - 1)) * plotW);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(`<text x="${left}" y="20" font-size="14" font-weight="600">${esc(title)}</text>`);
  const ticks: number[] = [];
  if (log) for (let v = lo; v <= hi * 1.0001; v *= 10) ticks.push(v);
  else for (let t = 0; t <= 5; t++) ticks.push((hi * t) / 5);
  for (const v of ticks) {
    out.push(`<line x1="${left}" y1="${y(v)}" x2="${left + plotW}" y2="${y(v)}" stroke="#ddd"/>`);
    out.push(`<text x="${left - 6}" y="${y(v) + 4}" text-anchor="end" fill="#555">${si(v)}</text>`);
  }
  for (let i = 0; i < n; i++) {
    out.push(`<text x="${x(i)}" y="${top + plotH + 16}" text-anchor="middle" fill="#555">${i + 1}</text>`);
  }
  out.push(`<text x="${left + plotW / 2}" y="${top + plotH + 34}" text-anchor="middle" fill="#333">checkpoint, in order (weir: the R rounds after the load; Flink: the load's checkpoints, then the rounds)</text>`);
  out.push(`<text transform="translate(16 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" fill="#333">${esc(unit)}${log ? ' (log scale)' : ''}</text>`);
  lines.forEach((l, li) => {
    const pts = l.points.map((v, i) => (Number.isFinite(v) && (!log || v > 0) ? `${x(i).toFixed(1)},${y(v).toFixed(1)}` : '')).filter(Boolean);
    out.push(`<polyline fill="none" stroke="${l.color}" stroke-width="2" ${l.dash ? 'stroke-dasharray="5 3"' : ''} points="${pts.join(' ')}"/>`);
    for (const p of pts) out.push(`<circle cx="${p.split(',')[0]}" cy="${p.split(',')[1]}" r="3" fill="${l.color}"/>`);
    const ly = top + 10 + li * 18;
    out.push(`<line x1="${left + plotW + 16}" y1="${ly}" x2="${left + plotW + 40}" y2="${ly}" stroke="${l.color}" stroke-width="2" ${l.dash ? 'stroke-dasharray="5 3"' : ''}/>`);
    out.push(`<text x="${left + plotW + 46}" y="${ly + 4}">${esc(l.name)}</text>`);
  });
  out.push(footer(foot, height));
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

const written: string[] = [];
function write(name: string, svg: string): void {
  const path = join(values.out, name);
  writeFileSync(path, svg);
  written.push(path);
}

const median = (xs: number[]): number => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

// ---- Nexmark: per query, per parallelism -----------------------------------------------
const nexReports = reports.filter((x) => (x.r.nexmarkRuns?.length ?? 0) > 0);
const runs = nexReports.flatMap((x) => x.r.nexmarkRuns!);
for (const p of [...new Set(runs.map((r) => r.parallelism))].sort()) {
  const rs = runs.filter((r) => r.parallelism === p);
  const queries = [...new Set(rs.map((r) => r.query))].sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  const pick = (system: 'weir' | 'flink', f: (r: NexmarkRun) => number) =>
    queries.map((q) => {
      const v = median(rs.filter((r) => r.query === q && r.system === system && r.error === undefined).map(f));
      return Number.isFinite(v) ? v : undefined;
    });
  const src = nexReports.filter((x) => x.r.nexmarkRuns!.some((r) => r.parallelism === p)).map((x) => x.r);
  const who = p === 1 ? 'weir lsm on the main thread vs Flink SQL, RocksDB incremental, parallelism 1' : `weir lsm --workers ${p} vs Flink SQL, RocksDB incremental, parallelism ${p}`;
  write(`nexmark-per-core-p${p}.svg`, barChart(`Nexmark per core, parallelism ${p}`, who, 'events per CPU-second of the process, from the first event (higher is better)', queries, [
    { name: 'weir', color: COLORS.weir, values: pick('weir', (r) => r.eventsPerCpuSecond) },
    { name: 'Flink 2.3.0', color: COLORS.flink, values: pick('flink', (r) => r.eventsPerCpuSecond) },
  ], caption(src)));
  write(`nexmark-throughput-p${p}.svg`, barChart(`Nexmark throughput, parallelism ${p}`, who, 'events/s, wall clock from the first event (higher is better)', queries, [
    { name: 'weir', color: COLORS.weir, values: pick('weir', (r) => r.eventsPerSecond) },
    { name: 'Flink 2.3.0', color: COLORS.flink, values: pick('flink', (r) => r.eventsPerSecond) },
  ], caption(src)));
}

// ---- checkpoint rounds over time ---------------------------------------------------------
const roundsReports = reports.filter((x) => (x.r.roundsSeries?.length ?? 0) > 0);
if (roundsReports.length > 0) {
  const series = roundsReports.flatMap((x) => x.r.roundsSeries!);
  const first = (system: 'weir' | 'flink', mode: 'incremental' | 'full') => series.find((s) => s.system === system && s.mode === mode && s.run === 0)?.checkpoints ?? [];
  const lines = (f: (c: RoundsSeries['checkpoints'][number]) => number) => [
    { name: 'weir lsm, incremental', color: COLORS.weir, points: first('weir', 'incremental').map(f) },
    { name: 'weir lsm, full', color: COLORS.weir, dash: true, points: first('weir', 'full').map(f) },
    { name: 'Flink RocksDB, incremental', color: COLORS.flink, points: first('flink', 'incremental').map(f) },
    { name: 'Flink RocksDB, full', color: COLORS.flink, dash: true, points: first('flink', 'full').map(f) },
  ];
  const src = roundsReports.map((x) => x.r);
  write('checkpoint-rounds-size.svg', lineChart('Checkpointed bytes per checkpoint, rounds updating 1 % of the keys', 'bytes written by the checkpoint', true, lines((c) => c.bytes), caption(src)));
  write('checkpoint-rounds-duration.svg', lineChart('Checkpoint duration per checkpoint, rounds updating 1 % of the keys', 'ms, trigger to complete', false, lines((c) => c.durationMillis), caption(src)));
}

if (written.length === 0) {
  console.error('the reports hold no Nexmark runs and no rounds series: nothing to draw');
  process.exit(1);
}
for (const w of written) console.log(w);

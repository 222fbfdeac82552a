/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4), for tests:
 * every line must be a HELP, a TYPE or a sample; every sample must belong to a family
 * with a TYPE; histograms must have ascending `le` buckets with non-decreasing counts,
 * a +Inf bucket equal to _count, and a _sum. Throws on the first violation, naming the line.
 */
export interface PromSample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(s: string, line: string): number {
  if (s === '+Inf' || s === 'Inf') return Number.POSITIVE_INFINITY;
  if (s === '-Inf') return Number.NEGATIVE_INFINITY;
  if (s === 'NaN') return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value "${s}" in: ${line}`);
  return Number(s);
}

function parseLabels(body: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  for (let guard = 0; i < body.length && guard < 1000; guard++) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(body.slice(i));
    if (!m) throw new Error(`bad label at "${body.slice(i)}" in: ${line}`);
    i += m[0].length;
    let v = '';
    for (; i < body.length && body[i] !== '"'; i++) {
      if (body[i] === '\\') {
        const n = body[++i];
        if (n === 'n') v += '\n';
        else if (n === '\\' || n === '"') v += n;
        else throw new Error(`bad escape in: ${line}`);
      } else v += body[i];
    }
    if (body[i] !== '"') throw new Error(`unterminated label value in: ${line}`);
    i++;
    if (out[m[1]!] !== undefined) throw new Error(`duplicate label ${m[1]} in: ${line}`);
    out[m[1]!] = v;
    if (body[i] === ',') i++;
  }
  return out;
}

export function parsePrometheusText(text: string): PromSample[] {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const types = new Map<string, string>();
  const samples: PromSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) continue; // other comments are allowed
      if (!NAME.test(m[2]!)) throw new Error(`bad metric name in: ${line}`);
      if (m[1] === 'TYPE') {
        if (!TYPES.has(m[3] ?? '')) throw new Error(`bad type in: ${line}`);
        if (types.has(m[2]!)) throw new Error(`second TYPE for ${m[2]}`);
        types.set(m[2]!, m[3]!);
      }
      continue;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample: ${line}`);
    const name = m[1]!;
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((f) => types.has(f));
    if (family === undefined) throw new Error(`sample without a TYPE: ${line}`);
    samples.push({ name, labels: m[3] ? parseLabels(m[3], line) : {}, value: parseValue(m[4]!, line) });
  }
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, { le: number; v: number }[]>();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const key = JSON.stringify(rest);
      const list = series.get(key) ?? [];
      list.push({ le: parseValue(le, `${family} le`), v: s.value });
      series.set(key, list);
    }
    for (const [key, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) {
        if (!(buckets[i]!.le > buckets[i - 1]!.le)) throw new Error(`${family}${key}: le not ascending`);
        if (buckets[i]!.v < buckets[i - 1]!.v) throw new Error(`${family}${key}: bucket counts decrease`);
      }
      const inf = buckets.at(-1)!;
      if (inf.le !== Number.POSITIVE_INFINITY) throw new Error(`${family}${key}: no +Inf bucket`);
      const labels = JSON.parse(key) as Record<string, string>;
      const same = (x: PromSample): boolean => Object.keys(labels).length === Object.keys(x.labels).length && Object.entries(labels).every(([k, v]) => x.labels[k] === v);
      const count = samples.find((x) => x.name === `${family}_count` && same(x));
      if (!count || count.value !== inf.v) throw new Error(`${family}${key}: _count differs from the +Inf bucket`);
      if (!samples.some((x) => x.name === `${family}_sum` && same(x))) throw new Error(`${family}${key}: no _sum`);
    }
  }
  return samples;
}

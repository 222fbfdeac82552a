/**
 * The dashboard's Kafka partition view in a real browser against a real broker
 * (scripts/kafka-broker.sh) and a real `weir run`: 6,000 records in a 3-partition topic,
 * read at parallelism 2 by a job whose sink holds it back until the test opens a gate
 * (test/web/fixtures/kafka-gated-job.ts). While gated, the page must show every
 * partition, on the subtask that owns it, with its log end (the records produced into
 * it), an offset behind it and the lag between them, as the REST API and /metrics say;
 * once the gate opens, the lag of every partition must go to 0 with the offset at the
 * log end, on the page, in the API and in /metrics. Bounded waits on conditions only.
 * Saves test-results/dashboard-kafka-w{0,2}[-lagging].png and the partition table alone
 * (partitions-kafka-w{0,2}-lagging.png, docs/img/dashboard-partitions.png). Fails (never skips) when the broker or
 * Chromium cannot start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Producer, stringSerializers } from '@platformatic/kafka';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, type Browser } from './browser.ts';
import { partitionOwner } from '../../src/connectors/kafka/kafka-source.ts';
import { startKafka, type KafkaBroker } from '../connectors/support/kafka-broker.ts';
import { bin, freePort, getJson, waitFor } from './helpers.ts';
import { parsePrometheusText } from './prometheus-text.ts';

const root = new URL('../../', import.meta.url).pathname;
const resultsDir = join(root, 'test-results');
const PARTITIONS = 3;
const PER_PARTITION = 2000;
const JOB_NAME = 'kafka-gated-job';

let kafka: KafkaBroker | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let child: ChildProcess | undefined; // the running job
let work: string | undefined;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'weir-kafka-web-'));
  kafka = await startKafka();
  browser = await launchChromium();
  context = browser.context;
});

/** Stops the running job (SIGINT, SIGKILL after 20 s). */
async function stopJob(): Promise<void> {
  const c = child;
  child = undefined;
  if (!c || c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise((r) => c.once('exit', r));
  c.kill('SIGINT');
  const guard = setTimeout(() => c.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(guard);
}

after(async () => {
  await stopJob();
  await browser?.close();
  await kafka?.destroy();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function produce(brokers: string[], topic: string): Promise<void> {
  // Idempotent: a retried request must not write its records twice (the test counts them).
  const p = new Producer({ clientId: 'weir-test', bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true });
  try {
    for (let from = 0; from < PARTITIONS * PER_PARTITION; from += 1000) {
      const messages = Array.from({ length: 1000 }, (_, i) => ({ topic, value: `click-${from + i}`, partition: (from + i) % PARTITIONS }));
      await p.send({ messages, acks: -1 });
    }
  } finally {
    await p.close();
  }
}

interface Row { subtask: number; topic: string; partition: number; offset: number; logEnd: number; lag: number }

function pageRows(page: Page): Promise<Row[]> {
  return page.$$eval('[data-testid="partition-row"]', (rows) =>
    rows.map((r) => ({
      subtask: Number(r.getAttribute('data-subtask')),
      topic: r.getAttribute('data-topic') ?? '',
      partition: Number(r.getAttribute('data-partition')),
      offset: Number(r.querySelector('[data-testid="partition-offset"]')?.textContent),
      logEnd: Number(r.querySelector('[data-testid="partition-log-end"]')?.textContent),
      lag: Number(r.querySelector('[data-testid="partition-lag"]')?.textContent),
    })),
  );
}

/** The partition gauges of /metrics as rows (labels source, subtask, topic, partition). */
async function metricRows(url: string, source: string): Promise<Row[]> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const samples = parsePrometheusText(text).filter((s) => s.name.startsWith('weir_source_partition_'));
  const byKey = new Map<string, Row>();
  for (const s of samples) {
    if (s.labels['source'] !== source) continue;
    assert.equal(s.labels['job'], JOB_NAME);
    const key = `${s.labels['topic']}/${s.labels['partition']}`;
    const row = byKey.get(key) ?? { subtask: Number(s.labels['subtask']), topic: s.labels['topic']!, partition: Number(s.labels['partition']), offset: NaN, logEnd: NaN, lag: NaN };
    if (s.name === 'weir_source_partition_offset') row.offset = s.value;
    else if (s.name === 'weir_source_partition_log_end_offset') row.logEnd = s.value;
    else if (s.name === 'weir_source_partition_lag') row.lag = s.value;
    byKey.set(key, row);
  }
  return [...byKey.values()].sort((a, b) => a.partition - b.partition);
}

const placement = (rows: readonly Row[]): [number, number, number][] => rows.map((r) => [r.partition, r.subtask, r.logEnd]);

/** One job run: `workers` threads (0: every subtask on the main thread), its own topic. */
async function checkPartitionView(workers: number): Promise<void> {
  assert.ok(kafka && context && work);
  const TOPIC = `clicks-w${workers}`;
  await kafka.createTopic(TOPIC, PARTITIONS);
  await produce(kafka.brokers, TOPIC);
  const gate = join(work, `gate-${workers}`);
  const port = await freePort();
  child = spawn(process.execPath, [
    bin, 'run', join(root, 'test/web/fixtures/kafka-gated-job.ts'), '--parallelism', '2', '--workers', String(workers),
    '--checkpoints', join(work, `checkpoints-${workers}`), '--checkpoint-interval', '500ms', '--ui-port', String(port), '--no-progress',
    '--', '--brokers', kafka.brokers.join(','), '--topic', TOPIC, '--gate', gate,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${url}/api/jobs`)).ok, 60_000, `the web server to answer (stderr: ${stderr})`);

  // Worker threads load the job and the runtime again: their start takes long on a busy
  // machine. Wait (bounded) until the API has every partition fetched, then the page.
  let last: unknown;
  await waitFor(async () => {
    last = await getJson<{ partitions: Row[] }>(`${url}/api/jobs/${JOB_NAME}/partitions`);
    const rows = (last as { partitions: Row[] }).partitions;
    return rows.length === PARTITIONS && rows.every((r) => r.logEnd === PER_PARTITION);
  }, 180_000, 'every partition fetched').catch((err: Error) => {
    throw new Error(`${err.message}; last answer ${JSON.stringify(last)}; job stderr:\n${stderr}`);
  });

  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(url, { waitUntil: 'load', timeout: 30_000 });

  // Gated: every partition is shown once its reader fetched it (log end = records produced into it).
  await page.waitForFunction(
    `(() => { const ends = [...document.querySelectorAll('[data-testid="partition-row"] [data-testid="partition-log-end"]')].map((e) => Number(e.textContent));
      return ends.length === ${PARTITIONS} && ends.every((e) => e === ${PER_PARTITION}); })()`,
    undefined, { timeout: 30_000, polling: 200 },
  );
  const expected = Array.from({ length: PARTITIONS }, (_, p) => [p, partitionOwner(TOPIC, p, 2), PER_PARTITION] as [number, number, number]);
  const gated = (await pageRows(page)).sort((a, b) => a.partition - b.partition);
  assert.deepEqual(placement(gated), expected, 'page: each partition on its owner subtask, log end = records produced');
  for (const r of gated) {
    assert.equal(r.topic, TOPIC);
    assert.equal(r.lag, r.logEnd - r.offset, `page: lag of partition ${r.partition}`);
  }
  const gatedLag = gated.reduce((n, r) => n + r.lag, 0);
  assert.ok(gatedLag > 0, `the gated job is behind the log (total lag ${gatedLag})`);
  assert.equal(Number(await page.textContent('[data-testid="total-lag"]')), gatedLag);
  // The API and /metrics say the same (the gated source does not move).
  const api = await getJson<{ totalLag: number; partitions: (Row & { source: string })[] }>(`${url}/api/jobs/${JOB_NAME}/partitions`);
  assert.deepEqual(placement(api.partitions), expected, 'REST: partitions, owners, log ends');
  assert.equal(api.totalLag, api.partitions.reduce((n, r) => n + r.lag, 0));
  assert.ok(api.totalLag > 0);
  const gatedMetrics = await metricRows(url, 'clicks');
  assert.deepEqual(placement(gatedMetrics), expected, '/metrics: partitions, owners, log ends');
  for (const r of gatedMetrics) assert.equal(r.lag, r.logEnd - r.offset);
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: join(resultsDir, `dashboard-kafka-w${workers}-lagging.png`), fullPage: true });
  await page.locator('[data-testid="partitions"]').screenshot({ path: join(resultsDir, `partitions-kafka-w${workers}-lagging.png`) });

  // Open the gate: the job reads everything, the page shows lag 0 everywhere.
  writeFileSync(gate, '');
  await page.waitForFunction(
    `(() => { const rows = [...document.querySelectorAll('[data-testid="partition-row"]')];
      return rows.length === ${PARTITIONS} && rows.every((r) => r.querySelector('[data-testid="partition-lag"]').textContent === '0'
        && r.querySelector('[data-testid="partition-offset"]').textContent === '${PER_PARTITION}'); })()`,
    undefined, { timeout: 120_000, polling: 200 },
  );
  const drained = await pageRows(page);
  for (const r of drained) assert.deepEqual([r.offset, r.logEnd, r.lag], [PER_PARTITION, PER_PARTITION, 0], `page: partition ${r.partition} drained`);
  assert.equal(await page.textContent('[data-testid="total-lag"]'), '0');
  const apiAfter = await getJson<{ totalLag: number; partitions: Row[] }>(`${url}/api/jobs/${JOB_NAME}/partitions`);
  assert.equal(apiAfter.totalLag, 0);
  assert.deepEqual(apiAfter.partitions.map((r) => [r.partition, r.offset, r.logEnd, r.lag]), expected.map(([p]) => [p, PER_PARTITION, PER_PARTITION, 0]));
  const metricsAfter = await metricRows(url, 'clicks');
  assert.deepEqual(metricsAfter.map((r) => [r.partition, r.subtask, r.offset, r.logEnd, r.lag]), expected.map(([p, s]) => [p, s, PER_PARTITION, PER_PARTITION, 0]));
  // Every produced record went through the source, once.
  const details = await getJson<{ vertices: { isSource: boolean; recordsIn: number }[] }>(`${url}/api/jobs/${JOB_NAME}`);
  assert.equal(details.vertices.filter((v) => v.isSource).reduce((n, v) => n + v.recordsIn, 0), PARTITIONS * PER_PARTITION);

  assert.deepEqual(pageErrors, []);
  await page.screenshot({ path: join(resultsDir, `dashboard-kafka-w${workers}.png`), fullPage: true });
  await stopJob();
}

test('the dashboard shows each Kafka partition with offset, log end and lag, and the lag goes to 0 once the records are consumed', async () => {
  await checkPartitionView(0);
});

test('with --workers 2 the partitions of sources on worker threads reach the dashboard, the API and /metrics', async () => {
  await checkPartitionView(2);
});

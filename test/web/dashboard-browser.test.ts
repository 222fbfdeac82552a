/**
 * The dashboard in a real browser: Debian's Chromium (scripts/install-chromium.sh)
 * driven by playwright-core opens the dashboard of a running `weir run`, waits for at
 * least 3 completed checkpoints in the table, and checks the table, the chart and the
 * state view against the REST API. A completed checkpoint never changes, so what the
 * page shows for checkpoint N must equal what the API says about N, whatever the
 * timing. Saves test-results/dashboard.png. If Chromium cannot start, the test FAILS
 * and says why (it never skips).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, type Browser } from './browser.ts';
import { JOB, getJson, startCounterJob, waitForCheckpoints, type RunningJob } from './helpers.ts';

const resultsDir = new URL('../../test-results/', import.meta.url).pathname;

let job: RunningJob;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let launchError: Error | undefined;

before(async () => {
  job = await startCounterJob();
  try {
    browser = await launchChromium();
    context = browser.context;
  } catch (err) {
    launchError = err as Error;
  }
});

after(async () => {
  await browser?.close();
  await job?.stop();
});

interface RowView {
  id: number;
  status: string;
  fullSize: number;
  checkpointedSize: number;
}

function tableRows(page: Page): Promise<RowView[]> {
  return page.$$eval('[data-testid="checkpoint-row"]', (rows) =>
    rows.map((r) => ({
      id: Number(r.getAttribute('data-id')),
      status: r.getAttribute('data-status') ?? '',
      fullSize: Number(r.querySelector('[data-testid="full-size"]')?.getAttribute('data-bytes')),
      checkpointedSize: Number(r.querySelector('[data-testid="checkpointed-size"]')?.getAttribute('data-bytes')),
    })),
  );
}

test('the dashboard shows the job graph, checkpoint table, chart and state view, matching the REST API', async () => {
  if (launchError) throw launchError;
  assert.ok(context, 'browser context');
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await waitForCheckpoints(job.url, 3);
  await page.goto(job.url, { waitUntil: 'load', timeout: 30_000 });
  // (page functions as strings: this file is type-checked without the DOM library)
  await page.waitForFunction('document.querySelectorAll(\'[data-testid="checkpoint-row"][data-status="completed"]\').length >= 3', undefined, { timeout: 30_000, polling: 200 });
  // wait until the state view shows a few checkpoints too (it refreshes itself)
  await page.waitForFunction('document.querySelectorAll(\'[data-testid="state-row"]\').length >= 3', undefined, { timeout: 30_000, polling: 200 });
  await page.waitForTimeout(1500); // a couple more refreshes: rates and chart settle for the screenshot

  // header and job graph
  assert.equal(await page.textContent('[data-testid="job-name"]'), JOB);
  assert.equal(await page.textContent('[data-testid="job-status"]'), 'RUNNING');
  const nodes = await page.$$eval('[data-testid="graph-node"]', (els) => els.map((e) => e.getAttribute('data-name')));
  const details = await getJson(`${job.url}/api/jobs/${JOB}`);
  assert.deepEqual(nodes, details.vertices.map((v: any) => v.name));

  // checkpoint table: every completed row equals the API's record of that checkpoint
  const rows = await tableRows(page);
  const api = await getJson(`${job.url}/api/jobs/${JOB}/checkpoints`);
  const byId = new Map<number, any>(api.history.map((h: any) => [h.id, h]));
  const completedRows = rows.filter((r) => r.status === 'completed');
  assert.ok(completedRows.length >= 3);
  for (const r of completedRows) {
    const h = byId.get(r.id);
    assert.ok(h, `checkpoint ${r.id} of the table is in the API history`);
    assert.equal(h.status, 'completed');
    assert.equal(r.fullSize, h.fullSize, `full size of ${r.id}`);
    assert.equal(r.checkpointedSize, h.checkpointedSize, `checkpointed size of ${r.id}`);
  }
  const counts = await page.$$eval('[data-testid="checkpoint-counts"] .count', (els) => Object.fromEntries(els.map((e) => [e.getAttribute('data-key'), e.querySelector('b')?.textContent])));
  assert.ok(Number(counts['completed']) >= 3 && Number(counts['completed']) <= api.counts.completed);

  // chart: uPlot drew a canvas with at least the completed checkpoints of the table, and ink on it
  const points = Number(await page.getAttribute('[data-testid="checkpoint-chart"]', 'data-points'));
  assert.ok(points >= completedRows.length, `chart has ${points} points`);
  const inked = await page.evaluate<number>(`(() => {
    const canvas = document.querySelector('[data-testid="checkpoint-chart"] canvas');
    const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  })()`);
  assert.ok(inked > 500, `the chart canvas has drawn pixels (${inked})`);

  // state view: for each checkpoint row, files and registry counts equal the API's for that subtask and checkpoint
  const subtask = await page.getAttribute('[data-testid="state-view"]', 'data-subtask');
  assert.equal(subtask, 'count#0');
  const stateRows = await page.$$eval('[data-testid="state-row"]', (els) =>
    els.map((e) => {
      const shared = e.nextElementSibling!.nextElementSibling!;
      const registry = shared.nextElementSibling!;
      return {
        id: Number(e.getAttribute('data-checkpoint')),
        shared: [...shared.querySelectorAll('[data-key]')].map((x) => [x.getAttribute('data-key'), x.getAttribute('data-path'), x.getAttribute('data-reused')]),
        registry: [...registry.querySelectorAll('[data-key]')].map((x) => [x.getAttribute('data-key'), Number(x.getAttribute('data-count'))]),
      };
    }),
  );
  assert.ok(stateRows.length >= 3);
  const state = await getJson(`${job.url}/api/jobs/${JOB}/state`);
  const sub = state.subtasks.find((s: any) => s.operatorId === 'count' && s.subtaskIndex === 0);
  const cpById = new Map<number, any>(sub.checkpoints.map((c: any) => [c.checkpointId, c]));
  let compared = 0;
  for (const r of stateRows) {
    const c = cpById.get(r.id);
    if (!c) continue; // fell out of the API's remembered window since the page drew it
    compared++;
    assert.deepEqual(r.shared, c.sharedFiles.map((f: any) => [f.registryKey, f.path, String(f.reused)]), `shared files of checkpoint ${r.id}`);
    assert.deepEqual(r.registry, c.registryAfter.map((e: any) => [e.key, e.refCount]), `registry counts after checkpoint ${r.id}`);
  }
  assert.ok(compared >= 3, `compared ${compared} checkpoints of the state view`);
  assert.ok(stateRows.some((r) => r.shared.some((s) => s[2] === 'true')), 'some file is re-referenced (incremental)');
  const liveLevels = await page.$$('[data-testid="live-levels"] .lvl');
  assert.ok(liveLevels.length >= 2, 'memtable and at least one level of live sstables');
  const memoryLine = await page.$eval('[data-testid="lsm-memory"]', (e) => e.textContent ?? '');
  assert.match(memoryLine, /memory: memtables .+ · block cache .+ · index and filters \d/, 'the store\'s memory breakdown');

  // checkpoint details: clicking an id shows its phases per subtask, the upload bytes equal the API's
  // The table redraws every second; a click that lands while it redraws can be lost (seen
  // once in CI). Click the newest completed checkpoint, up to 3 times, before failing with
  // what the page shows where the details belong.
  let firstDone: RowView | undefined;
  for (let attempt = 1; ; attempt++) {
    firstDone = (await tableRows(page)).find((r) => r.status === 'completed')!;
    await page.click(`[data-testid="checkpoint-row"][data-id="${firstDone.id}"] [data-testid="checkpoint-link"]`);
    const shown = await page.waitForSelector(`[data-testid="checkpoint-details"][data-id="${firstDone.id}"] [data-testid="phase-row"]`, { timeout: 10_000 })
      .then(() => true, () => false);
    if (shown) break;
    if (attempt === 3) {
      const where = await page.$$eval('.cp-details, p.muted', (els) => els.map((e) => e.textContent ?? '').join(' | '));
      assert.fail(`checkpoint ${firstDone.id}'s details never showed phase rows after 3 clicks; the page shows: ${where}`);
    }
  }
  const phaseRows = await page.$$eval('[data-testid="phase-row"]', (rows) =>
    rows.map((r) => ({ op: r.getAttribute('data-operator'), sub: Number(r.getAttribute('data-subtask')), bytes: r.getAttribute('data-upload-bytes') })));
  const cpDetails = await getJson(`${job.url}/api/jobs/${JOB}/checkpoints/${firstDone.id}`);
  const keyedRows = phaseRows.filter((r) => r.op === 'count');
  assert.equal(keyedRows.length, 2, 'both subtasks of the keyed operator');
  for (const r of keyedRows) {
    const s = cpDetails.operators.find((o: any) => o.operatorId === 'count').subtasks.find((x: any) => x.subtaskIndex === r.sub);
    assert.ok(s.phases.uploadBytes > 0);
    assert.equal(Number(r.bytes), s.phases.uploadBytes, `upload bytes of count[${r.sub}] in checkpoint ${firstDone.id}`);
  }
  assert.ok((await page.$$('[data-testid="checkpoint-details"] [data-testid="phase-bar"] i')).length > 0, 'phase bars drawn');

  assert.deepEqual(pageErrors, []);
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: join(resultsDir, 'dashboard.png'), fullPage: true });
});

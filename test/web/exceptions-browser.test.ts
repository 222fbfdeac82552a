/**
 * The dashboard's Exceptions panel in a real browser (Debian's Chromium): a job whose map
 * function throws on one record fails, restarts once, fails again; the page must list both
 * failed attempts, newest first, with the operator, subtask, function, the user's own file
 * and line, the error and the record — what GET /api/jobs/:job/exceptions says. Fails
 * (never skips) when Chromium cannot start.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CollectSink, JobFailedError, StreamEnvironment } from '../../src/index.ts';
import { valuesSource } from '../../src/testing/index.ts';
import { createLogger } from '../../src/runtime/logger.ts';
import { attachJobWeb } from '../../src/web/job-web.ts';
import type { JobException } from '../../src/web/job-monitor.ts';
import { startWebServer } from '../../src/web/server.ts';
import { launchChromium, type Browser } from './browser.ts';

const THIS_FILE = fileURLToPath(import.meta.url);
let browser: Browser | undefined;

before(async () => {
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
});

test('the dashboard lists each failed attempt with the operator, subtask, the user\'s file and line, the error and the record', { timeout: 180_000 }, async () => {
  const env = new StreamEnvironment({ jobName: 'failing-job', parallelism: 1, restartStrategy: { kind: 'fixed-delay', attempts: 1, delayMs: 0 } });
  env
    .fromSource(valuesSource([1, 2, 3, 4, 5, 6]))
    .map((n) => {
      if (n === 5) throw new RangeError(`no ${n}s here`); // THROWS: dashboard
      return n;
    })
    .name('check')
    .sinkTo(new CollectSink());
  const quiet = new Writable({ write: (_c, _e, cb) => cb() });
  const web = await attachJobWeb(env, { port: 0, logger: createLogger({ job: 'failing-job', pretty: false, destination: quiet }) });
  const server = await startWebServer({ monitor: web.monitor, metrics: web.metrics, port: 0 });
  try {
    const handle = await env.start();
    await assert.rejects(handle.done, JobFailedError);
    const { exceptions } = (await (await fetch(`${server.url}/api/jobs/failing-job/exceptions`)).json()) as { exceptions: JobException[] };
    assert.equal(exceptions.length, 2, 'two failed attempts in the REST API');
    const line = readFileSync(THIS_FILE, 'utf8').split('\n').findIndex((l) => l.includes('THROWS: dashboard') && !l.includes('findIndex')) + 1;
    assert.ok(line > 0);

    const page = await browser!.context.newPage();
    try {
      await page.goto(server.url, { waitUntil: 'load', timeout: 60_000 });
      await page.waitForFunction('document.querySelectorAll(\'[data-testid="exception-row"]\').length === 2', undefined, { timeout: 60_000 });
      const rows = await page.$$eval('[data-testid="exception-row"]', (trs) => trs.map((tr) => ({
        attempt: Number(tr.getAttribute('data-attempt')),
        where: tr.querySelector('[data-testid="exception-where"]')?.textContent ?? '',
        location: tr.querySelector('[data-testid="exception-location"]')?.textContent ?? '',
        error: tr.querySelector('[data-testid="exception-error"]')?.firstChild?.textContent?.trim() ?? '',
        record: tr.querySelector('[data-testid="exception-record"]')?.textContent ?? '',
        then: tr.lastElementChild?.textContent ?? '',
      })));
      assert.deepEqual(rows.map((r) => [r.attempt, r.then]), [[1, 'job failed'], [0, 'restarted']], 'newest first; the first one restarted the job');
      for (const r of rows) {
        assert.equal(r.where, 'check[0] · map function');
        assert.ok(r.location.startsWith(`${THIS_FILE}:${line}:`), `location ${r.location}, expected ${THIS_FILE}:${line}`);
        assert.equal(r.error, 'RangeError: no 5s here');
        assert.equal(r.record, '5');
      }
      assert.deepEqual(rows.map((r) => r.location), exceptions.map((e) => e.failure?.location), 'the page shows what the API says');
    } finally {
      await page.close();
    }
  } finally {
    await server.close();
    await web.finish('FAILED');
  }
});

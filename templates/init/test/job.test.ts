import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedProcessFunctionHarness, runAndCollect, valuesSource } from 'weir/testing';
import { SESSION_GAP, pageViews, sessionizer, sessions, withTimestamps, type Click, type Session } from '../src/job.js';

const MIN = 60_000;

test('the sessionizer keeps the open session in state and closes it with a timer', async () => {
  const h = await KeyedProcessFunctionHarness.open(sessionizer(), (c: Click) => c.user);
  try {
    await h.processElement({ user: 'ann', page: '/', ts: 1 * MIN }, 1 * MIN);
    await h.processElement({ user: 'ann', page: '/docs', ts: 3 * MIN }, 3 * MIN);
    assert.deepEqual(h.valueState<Session>('ann', 'session'), { user: 'ann', start: 1 * MIN, end: 3 * MIN, clicks: 2 });
    assert.deepEqual(h.eventTimers(), [{ key: 'ann', timestamp: 3 * MIN + SESSION_GAP }]);

    await h.processWatermark(3 * MIN + SESSION_GAP - 1);
    assert.deepEqual(h.output(), []);
    await h.processWatermark(3 * MIN + SESSION_GAP);
    assert.deepEqual(h.output(), [{ user: 'ann', start: 1 * MIN, end: 3 * MIN, clicks: 2 }]);
    assert.equal(h.valueState('ann', 'session'), undefined);
    assert.deepEqual(h.eventTimers(), []);
  } finally {
    await h.close();
  }
});

const clicks: Click[] = [
  { user: 'ann', page: '/', ts: 0 },
  { user: 'bob', page: '/docs', ts: 20_000 },
  { user: 'ann', page: '/docs', ts: 50_000 },
  { user: 'ann', page: '/', ts: 70_000 },
  { user: 'bob', page: '/', ts: 60 * MIN }, // after bob's gap: a second session
];

test('sessions: the whole pipeline on a bounded input', async () => {
  const out = await runAndCollect((env) => sessions(withTimestamps(env.fromSource(valuesSource(clicks)))));
  assert.deepEqual(out.sort((a, b) => a.user.localeCompare(b.user) || a.start - b.start), [
    { user: 'ann', start: 0, end: 70_000, clicks: 3 },
    { user: 'bob', start: 20_000, end: 20_000, clicks: 1 },
    { user: 'bob', start: 60 * MIN, end: 60 * MIN, clicks: 1 },
  ]);
});

test('page views per minute: a tumbling window', async () => {
  const out = await runAndCollect((env) => pageViews(withTimestamps(env.fromSource(valuesSource(clicks)))));
  assert.deepEqual(out.sort((a, b) => a.windowStart - b.windowStart || a.page.localeCompare(b.page)), [
    { page: '/', windowStart: 0, views: 1 },
    { page: '/docs', windowStart: 0, views: 2 },
    { page: '/', windowStart: 1 * MIN, views: 1 },
    { page: '/', windowStart: 60 * MIN, views: 1 },
  ]);
});

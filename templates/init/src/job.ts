/**
 * An example weir job over a stream of clicks:
 *
 * - sessions: per user, the open session lives in keyed state (a ValueState) and an
 *   event-time timer closes it SESSION_GAP after the user's last click;
 * - page views: per page, clicks counted in one-minute tumbling event-time windows.
 *
 * The pipeline is plain functions of a DataStream, so test/job.test.ts runs the same
 * code on a small input (weir/testing). The default export is what `weir run` calls.
 */
import {
  GeneratorSource, PrintSink, TumblingEventTimeWindows, WatermarkStrategy,
  type DataStream, type KeyedProcessFunction, type StreamEnvironment,
} from 'weir';

export interface Click {
  user: string;
  page: string;
  /** Event time, ms. */
  ts: number;
}

export interface Session {
  user: string;
  start: number;
  end: number;
  clicks: number;
}

export interface PageViews {
  page: string;
  windowStart: number;
  views: number;
}

/** A session ends after 30 minutes without a click. */
export const SESSION_GAP = 30 * 60_000;

/** Event time from the click; clicks may arrive up to 5 s out of order. */
export function withTimestamps(clicks: DataStream<Click>): DataStream<Click> {
  return clicks.assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Click>(5_000).withTimestampAssigner((c) => c.ts));
}

/** Keyed by user: the open session in ValueState, closed by an event-time timer at its end + gap. */
export function sessionizer(gap = SESSION_GAP): KeyedProcessFunction<string, Click, Session> {
  return {
    processElement(click, ctx, out) {
      const state = ctx.getValueState<Session>('session');
      const timers = ctx.timerService();
      let session = state.value();
      if (session !== undefined) timers.deleteEventTimeTimer(session.end + gap);
      if (session !== undefined && click.ts > session.end + gap) {
        out.collect(session); // a click after the gap (its timer had not fired yet)
        session = undefined;
      }
      session = session === undefined
        ? { user: click.user, start: click.ts, end: click.ts, clicks: 1 }
        : { ...session, start: Math.min(session.start, click.ts), end: Math.max(session.end, click.ts), clicks: session.clicks + 1 };
      state.update(session);
      timers.registerEventTimeTimer(session.end + gap);
    },
    onTimer(timestamp, ctx, out) {
      const state = ctx.getValueState<Session>('session');
      const session = state.value();
      if (session !== undefined && timestamp === session.end + gap) {
        out.collect(session);
        state.clear();
      }
    },
  };
}

/** Closed sessions, one record per session. */
export function sessions(clicks: DataStream<Click>, gap = SESSION_GAP): DataStream<Session> {
  return clicks.keyBy((c) => c.user).process(sessionizer(gap)).uid('sessions');
}

/** Clicks per page and minute. */
export function pageViews(clicks: DataStream<Click>): DataStream<PageViews> {
  return clicks
    .keyBy((c) => c.page)
    .window(TumblingEventTimeWindows.of(60_000))
    .aggregate<number, number, PageViews>(
      { createAccumulator: () => 0, add: (_click, n) => n + 1, getResult: (n) => n },
      (page, window, views, out) => out.collect({ page, windowStart: window.start, views }),
    )
    .uid('page-views');
}

const PAGES = ['/', '/docs', '/pricing'];

/** Click i of the generated input: one click per second, from 40 users. */
function click(i: number): Click {
  const h = Math.imul(i ^ (i >>> 15), 0x2c1b3c6d) >>> 0;
  return { user: `user-${h % 40}`, page: PAGES[(h >>> 8) % PAGES.length]!, ts: i * 1000 };
}

/** `weir run src/job.ts [-- <clicks>]`: two hours of generated clicks (7200) unless told otherwise. */
export default function job(env: StreamEnvironment, args: string[]): void {
  const count = Number(args[0] ?? 7200);
  const clicks = withTimestamps(env.fromSource(new GeneratorSource<Click>({ count, generate: click })).uid('clicks'));
  sessions(clicks).sinkTo(new PrintSink((s) => `session ${s.user}: ${s.clicks} clicks, ${Math.round((s.end - s.start) / 60_000)} min`));
  pageViews(clicks).sinkTo(new PrintSink((v) => `${new Date(v.windowStart).toISOString().slice(11, 16)} ${v.page} ${v.views}`));
}

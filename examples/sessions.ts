/**
 * Demo: per-user sessions over an endless click stream with millions of users — large
 * keyed state in the lsm backend, checkpointed incrementally into ./weir-data.
 *
 *   npm run demo            (= npx weir run examples/sessions.ts)
 *   npx weir run examples/sessions.ts --resume latest      (continue after Ctrl-C)
 *   npx weir run examples/sessions.ts -- --users 5000000 --gap 1800000
 *
 * Event i is a click of user hash(i) (half of them from a hot set of 50k users) at event
 * time 10·i ms. A keyed process function keeps each user's open session (start, last click,
 * clicks) in a ValueState and an event-time timer at last click + gap; when the timer
 * fires (or a click comes after the gap) the session is emitted and the state cleared.
 * Closed sessions are counted by a small sink (the progress line shows records out).
 */
import { parseArgs } from 'node:util';
import { GeneratorSource, WatermarkStrategy, type Sink, type StreamEnvironment } from '../src/index.ts';

interface Click {
  user: number;
  ts: number;
}

interface Session {
  user: number;
  start: number;
  end: number;
  clicks: number;
}

function userOf(i: number, users: number): number {
  const h = Math.imul(i ^ (i >>> 16), 0x45d9f3b) >>> 0;
  return h & 1 ? h % 50_000 : (h >>> 1) % users;
}

/** Counts closed sessions and their clicks (exactly-once is not needed for a demo counter). */
class SessionStatsSink implements Sink<Session> {
  readonly name = 'session-stats';
  sessions = 0;
  clicks = 0;
  createWriter() {
    return {
      write: (s: Session) => {
        this.sessions++;
        this.clicks += s.clicks;
      },
    };
  }
}

export default function sessions(env: StreamEnvironment, args: string[]): void {
  const { values } = parseArgs({
    args,
    options: { users: { type: 'string', default: '3000000' }, gap: { type: 'string', default: '1800000' }, rate: { type: 'string' } },
  });
  const users = Number(values.users);
  const gap = Number(values.gap);
  if (!(users > 0) || !(gap > 0)) throw new Error('--users and --gap must be positive numbers');
  const options = env.getOptions();
  env.configure({
    stateBackend: options.stateBackend ?? 'lsm',
    incremental: options.incremental ?? true,
    checkpointInterval: options.checkpointInterval ?? '10s',
    parallelism: options.parallelism ?? 2,
    checkpoints: options.checkpoints ?? './weir-data',
    // 3 retained checkpoints: an sstable unchanged across them is re-referenced by each,
    // so the dashboard's registry view shows reference counts of 2 and 3 (the seed's figure).
    retainedCheckpoints: options.retainedCheckpoints ?? 3,
  });
  env
    .fromSource(
      new GeneratorSource<Click>({
        generate: (i) => ({ user: userOf(i, users), ts: i * 10 }),
        timestamp: (i) => i * 10,
        ...(values.rate ? { ratePerSecond: Number(values.rate) } : {}),
      }),
    )
    .uid('clicks')
    .assignTimestampsAndWatermarks(WatermarkStrategy.forBoundedOutOfOrderness<Click>(10_000))
    .uid('watermarks')
    .keyBy((c) => c.user)
    .process<Session>({
      processElement(click, ctx, out) {
        const state = ctx.getValueState<[number, number, number]>('session');
        const s = state.value();
        const timers = ctx.timerService();
        if (s && click.ts - s[1] <= gap) {
          timers.deleteEventTimeTimer(s[1] + gap);
          state.update([s[0], Math.max(s[1], click.ts), s[2] + 1]);
        } else {
          if (s) {
            timers.deleteEventTimeTimer(s[1] + gap);
            out.collect({ user: click.user, start: s[0], end: s[1], clicks: s[2] });
          }
          state.update([click.ts, click.ts, 1]);
        }
        timers.registerEventTimeTimer(Math.max(s && click.ts - s[1] <= gap ? s[1] : 0, click.ts) + gap);
      },
      onTimer(ts, ctx, out) {
        const state = ctx.getValueState<[number, number, number]>('session');
        const s = state.value();
        if (s && s[1] + gap === ts) {
          out.collect({ user: ctx.getCurrentKey(), start: s[0], end: s[1], clicks: s[2] });
          state.clear();
        }
      },
    })
    .uid('sessions')
    .sinkTo(new SessionStatsSink())
    .uid('stats');
}

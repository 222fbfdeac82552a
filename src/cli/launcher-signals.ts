/**
 * `weir` receives the signals of its launcher (issue 9, defect 7).
 *
 * `npx weir run …` and `npm run demo` start weir as npm → `sh -c weir …` → node. npm
 * forwards SIGTERM to its child, the shell, which dies without passing it on: node was
 * left running, orphaned, holding port 8081. bin/weir.js already runs the CLI in its own
 * process (no further child), so the missing link is the shell: when weir was started by
 * npm (npm sets `npm_command` / `npm_lifecycle_event` in its children's environment) and
 * its parent goes away, weir treats that as the SIGTERM it was meant to get and stops
 * cleanly. Started otherwise (a terminal, a service manager, `nohup`), weir does not watch
 * its parent: it gets signals directly.
 */

export interface LauncherWatch {
  stop(): void;
}

/** Calls `onLost` once if the parent process of an npm-launched weir goes away. */
export function followLauncher(
  onLost: (why: string) => void,
  env: NodeJS.ProcessEnv = process.env,
  ppid: () => number = () => process.ppid,
  everyMs = 250,
): LauncherWatch {
  if (env['npm_command'] === undefined && env['npm_lifecycle_event'] === undefined) return { stop: () => undefined };
  const parent = ppid();
  const timer = setInterval(() => {
    if (ppid() === parent) return;
    clearInterval(timer);
    onLost(`the launcher (pid ${parent}) went away`);
  }, everyMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

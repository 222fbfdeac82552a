// `npm run build`: compiles src/ into dist/ (ESM JavaScript, .d.ts with declaration maps,
// source maps; tsconfig.build.json) and copies the dashboard's static files beside the
// compiled web server. Plain Node, so it runs before anything is built.
/* global process, URL */
import { chmodSync, cpSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const root = new URL('../', import.meta.url);
rmSync(new URL('dist', root), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
cpSync(new URL('src/web/static', root), new URL('dist/web/static', root), { recursive: true });
// The package's bin must be executable as built: tsc writes 0644, and `npx weir` run a
// second time in the same checkout reuses npx's cached link without chmod-ing the rebuilt
// file again ("sh: 1: weir: Permission denied" in CI).
chmodSync(new URL('dist/cli/bin.js', root), 0o755);

#!/usr/bin/env node
// `weir` inside a checkout of the repository (tests, `npm run demo`, scripts): registers
// tsx's ESM loader so the TypeScript sources run as they are (no build step), then runs
// src/cli/main.ts. The published package's command is dist/cli/bin.js (package.json
// "bin"), built by `npm run build`. Paths are resolved from this file, so it works from
// any working directory.
/* global process, URL */
import { register } from 'tsx/esm/api';

register();
const { run } = await import(new URL('../src/cli/main.ts', import.meta.url).href);
process.exitCode = await run(process.argv.slice(2));

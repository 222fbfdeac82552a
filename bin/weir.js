#!/usr/bin/env node
// The `weir` command. A tiny launcher: registers tsx's ESM loader (so the TypeScript
// sources run as they are, no build step), then runs src/cli/main.ts. Paths are
// resolved from this file, so it works from any working directory.
/* global process, URL */
import { register } from 'tsx/esm/api';

register();
const { run } = await import(new URL('../src/cli/main.ts', import.meta.url).href);
process.exitCode = await run(process.argv.slice(2));

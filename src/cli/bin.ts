#!/usr/bin/env node
/**
 * The `weir` executable of the built package (package.json "bin" → dist/cli/bin.js):
 * plain JavaScript, no loader. Subcommands import what they need when they run, so
 * `weir --help` and `weir checkpoints …` start without loading the runtime.
 */
import { run } from './main.ts';

process.exitCode = await run(process.argv.slice(2));

/**
 * `weir checkpoints list|inspect|verify|gc <dir|file:///dir|s3://bucket/prefix>`:
 * look into a checkpoint directory or bucket (see docs/checkpoints.md for sample output).
 * Human output is tables; --json prints one JSON document on stdout.
 *
 * This file only declares the commands; what they do is in checkpoints-actions.ts,
 * imported when one runs (so `weir --help` loads neither the storage nor the S3 client).
 */
import type { Command } from 'commander';
import { ConfigError } from '../util/errors.ts';
import type { CliIo } from './io.ts';
import type * as Actions from './checkpoints-actions.ts';
import type { JobOptions } from './checkpoints-actions.ts';

const actions = (): Promise<typeof Actions> => import('./checkpoints-actions.ts');

export function registerCheckpointsCommand(program: Command, io: CliIo): void {
  const cmd = program
    .command('checkpoints')
    .description('list, inspect, verify and garbage-collect checkpoints in a directory or S3 bucket');

  cmd
    .command('list')
    .description('jobs and their completed checkpoints and savepoints')
    .argument('<uri>', 'checkpoint root: a directory, file:///dir or s3://bucket/prefix')
    .option('--job <name>', 'only this job')
    .option('--json', 'print JSON')
    .action((uri: string, opts: JobOptions) => actions().then((a) => a.withStorage(uri, (storage) => a.listAction(storage, opts, io))));

  cmd
    .command('inspect')
    .description("a job's checkpoints: subtasks, shared and private files, the shared state registry, orphans")
    .argument('<uri>', 'checkpoint root: a directory, file:///dir or s3://bucket/prefix')
    .option('--job <name>', 'the job (needed when the root holds several)')
    .option('--checkpoint <id>', 'only this checkpoint', parseId)
    .option('--json', 'print JSON')
    .action((uri: string, opts: JobOptions & { checkpoint?: number }) => actions().then((a) => a.withStorage(uri, (storage) => a.inspectAction(storage, opts, io))));

  cmd
    .command('verify')
    .description('download every referenced file and check its size and CRC-32C (exit 1 on any problem)')
    .argument('<uri>', 'checkpoint root: a directory, file:///dir or s3://bucket/prefix')
    .option('--job <name>', 'the job (needed when the root holds several)')
    .option('--concurrency <n>', 'parallel downloads', parseId, 4)
    .option('--json', 'print JSON')
    .action((uri: string, opts: JobOptions & { concurrency: number }) => actions().then((a) => a.withStorage(uri, (storage) => a.verifyAction(storage, opts, io))));

  cmd
    .command('gc')
    .description('delete orphans: files no checkpoint or savepoint references (run on stopped jobs)')
    .argument('<uri>', 'checkpoint root: a directory, file:///dir or s3://bucket/prefix')
    .option('--job <name>', 'the job (needed when the root holds several)')
    .option('--dry-run', 'only list what would be deleted')
    .option('--json', 'print JSON')
    .action((uri: string, opts: JobOptions & { dryRun?: boolean }) => actions().then((a) => a.withStorage(uri, (storage) => a.gcAction(storage, opts, io))));
}

function parseId(value: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new ConfigError(`not a non-negative integer: ${value}`);
  return Number(value);
}


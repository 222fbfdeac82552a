/**
 * `weir checkpoints list|inspect|verify|gc <dir|file:///dir|s3://bucket/prefix>`:
 * look into a checkpoint directory or bucket (see docs/checkpoints.md for sample output).
 * Human output is tables; --json prints one JSON document on stdout.
 *
 * What the subcommands do (declared in checkpoints-command.ts, which imports this file
 * only when one of them runs).
 */
import { existsSync } from 'node:fs';
import { listJobs } from '../checkpoint/job-scan.ts';
import { gcJob, inspectJob, verifyJob } from '../checkpoint/inspection.ts';
import type { CheckpointView, JobInspection } from '../checkpoint/inspection.ts';
import { validateJobName } from '../storage/job-layout.ts';
import { createStorage, LocalStorage } from '../storage/index.ts';
import type { CheckpointStorage } from '../storage/index.ts';
import { ConfigError } from '../util/errors.ts';
import { formatBytes, formatTime, table } from './format.ts';
import type { CliIo } from './io.ts';

export interface JobOptions {
  job?: string;
  json?: boolean;
}

export async function withStorage(uri: string, fn: (storage: CheckpointStorage) => Promise<void>): Promise<void> {
  const storage = createStorage(uri);
  try {
    if (storage instanceof LocalStorage && !existsSync(storage.root)) {
      throw new ConfigError(`no such directory: ${storage.root}`);
    }
    await fn(storage);
  } finally {
    await storage.close();
  }
}

async function resolveJob(storage: CheckpointStorage, job: string | undefined): Promise<string> {
  const jobs = await listJobs(storage);
  if (job !== undefined) {
    validateJobName(job);
    if (!jobs.includes(job)) {
      throw new ConfigError(`no checkpoints of job ${job} in ${storage.uri}${jobs.length > 0 ? ` (jobs: ${jobs.join(', ')})` : ''}`);
    }
    return job;
  }
  if (jobs.length === 0) throw new ConfigError(`no weir checkpoints found in ${storage.uri}`);
  if (jobs.length > 1) throw new ConfigError(`${storage.uri} holds several jobs (${jobs.join(', ')}); choose one with --job`);
  return jobs[0]!;
}

function json(io: CliIo, value: unknown): void {
  io.out(`${JSON.stringify(value, null, 2)}\n`);
}

// ---- list

export async function listAction(storage: CheckpointStorage, opts: JobOptions, io: CliIo): Promise<void> {
  const jobs = opts.job !== undefined ? [await resolveJob(storage, opts.job)] : await listJobs(storage);
  const inspections: JobInspection[] = [];
  for (const job of jobs) inspections.push(await inspectJob(storage, job));
  if (opts.json) {
    json(io, {
      root: storage.uri,
      jobs: inspections.map((j) => ({
        job: j.job,
        checkpoints: j.checkpoints.map((c) => ({
          id: c.id, kind: c.kind, triggerTime: c.triggerTime, completeTime: c.completeTime,
          fullSize: c.fullSize, checkpointedSize: c.checkpointedSize, subtasks: c.subtasks.length, metadataPath: c.metadataPath,
        })),
        orphans: j.orphans.length,
        unreadable: j.unreadable,
      })),
    });
    return;
  }
  io.out(`${storage.uri}\n`);
  if (inspections.length === 0) {
    io.out('no weir checkpoints found\n');
    return;
  }
  const rows = inspections.flatMap((j) =>
    j.checkpoints.map((c) => [j.job, c.id, c.kind, formatTime(c.completeTime), formatBytes(c.fullSize), formatBytes(c.checkpointedSize), c.subtasks.length]),
  );
  io.out(`${table(['job', 'id', 'kind', 'completed (UTC)', 'full size', 'checkpointed', 'subtasks'], rows)}\n`);
  for (const j of inspections) {
    if (j.orphans.length > 0) io.out(`${j.job}: ${j.orphans.length} orphan file(s), ${formatBytes(j.totals.orphanBytes)} (weir checkpoints gc)\n`);
    for (const u of j.unreadable) io.out(`${j.job}: unreadable ${u.path}: ${u.error}\n`);
  }
}

// ---- inspect

export async function inspectAction(storage: CheckpointStorage, opts: JobOptions & { checkpoint?: number }, io: CliIo): Promise<void> {
  const job = await resolveJob(storage, opts.job);
  const ins = await inspectJob(storage, job);
  let checkpoints = ins.checkpoints;
  if (opts.checkpoint !== undefined) {
    checkpoints = checkpoints.filter((c) => c.id === opts.checkpoint);
    if (checkpoints.length === 0) {
      throw new ConfigError(`job ${job} has no completed checkpoint ${opts.checkpoint} (it has ${ins.checkpoints.map((c) => c.id).join(', ') || 'none'})`);
    }
  }
  if (opts.json) {
    json(io, { ...ins, checkpoints });
    return;
  }
  io.out(`job ${job} in ${ins.root}\n`);
  for (const c of checkpoints) io.out(`\n${describeCheckpoint(c)}\n`);
  io.out('\nshared state registry (reference counts over the checkpoints above):\n');
  io.out(ins.registry.length === 0
    ? '  (empty)\n'
    : `${indent(table(['key', 'path', 'size', 'refs', 'uploaded by', 'last used by'],
      ins.registry.map((e) => [e.key, e.path, formatBytes(e.size), e.refCount, e.createdBy, e.lastUsedBy])))}\n`);
  io.out(`\norphans (referenced by no checkpoint): ${ins.orphans.length === 0 ? 'none' : ''}\n`);
  if (ins.orphans.length > 0) io.out(`${indent(table(['path', 'size'], ins.orphans.map((o) => [o.path, formatBytes(o.size)])))}\n`);
  for (const u of ins.unreadable) io.out(`unreadable ${u.path}: ${u.error}\n`);
  const temps = ins.totals.tempFiles > 0 ? ` + ${ins.totals.tempFiles} temp file(s) of unfinished uploads` : '';
  io.out(`\nstorage: ${ins.totals.objects} objects${temps}, ${formatBytes(ins.totals.storedBytes)}; orphans ${formatBytes(ins.totals.orphanBytes)}\n`);
  if (ins.ownership === 'foreign') io.out('note: weir did not create this directory (no _weir_job marker, no _metadata); gc will not touch it\n');
}

function describeCheckpoint(c: CheckpointView): string {
  const lines = [
    `${c.kind} ${c.id}  completed ${formatTime(c.completeTime)} (${c.completeTime - c.triggerTime} ms after trigger)`,
    `  full size ${formatBytes(c.fullSize)} (a restore downloads this), checkpointed size ${formatBytes(c.checkpointedSize)} (uploaded by this ${c.kind})`,
    `  maxParallelism ${c.maxParallelism}; operators ${c.operators.map((o) => `${o.operatorId}×${o.parallelism}`).join(', ')}; ${c.metadataPath}`,
  ];
  for (const s of c.subtasks) {
    const range = s.keyGroupRange ? `key groups ${s.keyGroupRange.start}-${s.keyGroupRange.end}` : 'no keyed state';
    const kind = [s.format, s.mode, range].filter(Boolean).join(' ');
    lines.push(`  subtask ${s.operatorId}/${s.subtaskIndex}: ${kind}, full ${formatBytes(s.fullSize)}, uploaded ${formatBytes(s.incrementalSize)}`);
    if (s.sharedFiles.length > 0) {
      lines.push(indent(table(['shared file (registry key)', 'path', 'size', 'uploaded by', 'this checkpoint'],
        s.sharedFiles.map((f) => [f.key, f.path, formatBytes(f.size), f.uploadedBy, f.reused ? 'reused' : 'new'])), 4));
    }
    if (s.privateFiles.length > 0) {
      lines.push(indent(table(['private file', 'path', 'size'], s.privateFiles.map((f) => [f.name, f.path, formatBytes(f.size)])), 4));
    }
    for (const e of s.operatorState) lines.push(`    operator state ${e.name} (${e.mode}): ${e.items} item(s)`);
  }
  return lines.join('\n');
}

function indent(text: string, n = 2): string {
  const pad = ' '.repeat(n);
  return text.split('\n').map((l) => pad + l).join('\n');
}

// ---- verify

export async function verifyAction(storage: CheckpointStorage, opts: JobOptions & { concurrency: number }, io: CliIo): Promise<void> {
  const job = await resolveJob(storage, opts.job);
  const result = await verifyJob(storage, job, { concurrency: opts.concurrency });
  if (result.problems.length > 0) io.exitCode = 1;
  if (opts.json) {
    json(io, { ...result, ok: result.problems.length === 0 });
    return;
  }
  const what = `${result.filesChecked} file(s), ${formatBytes(result.bytesChecked)}, of checkpoint(s) ${result.checkpoints.join(', ') || 'none'} of job ${job}`;
  if (result.problems.length === 0) {
    io.out(`OK: verified ${what}\n`);
    return;
  }
  io.out(`FAILED: ${result.problems.length} problem(s) in ${what}\n`);
  io.out(`${table(['path', 'problem', 'detail', 'needed by'], result.problems.map((p) => [p.path, p.problem, p.detail, p.referencedBy.join(',')]))}\n`);
}

// ---- gc

export async function gcAction(storage: CheckpointStorage, opts: JobOptions & { dryRun?: boolean }, io: CliIo): Promise<void> {
  const job = await resolveJob(storage, opts.job);
  const result = await gcJob(storage, job, { dryRun: opts.dryRun ?? false });
  if (result.failed.length > 0) io.exitCode = 1;
  if (opts.json) {
    json(io, result);
    return;
  }
  const bytes = formatBytes(result.orphans.reduce((a, o) => a + o.size, 0));
  if (result.orphans.length === 0) {
    io.out(`job ${job}: no orphans\n`);
    return;
  }
  io.out(`job ${job}: ${result.orphans.length} orphan(s), ${bytes}${result.dryRun ? ' (dry run: nothing deleted)' : ''}\n`);
  io.out(`${table(['path', 'size', result.dryRun ? 'action' : 'result'], result.orphans.map((o) => [
    o.path, formatBytes(o.size),
    result.dryRun ? 'would delete' : result.deleted.includes(o.path) ? 'deleted' : `FAILED: ${result.failed.find((f) => f.path === o.path)?.error ?? '?'}`,
  ]))}\n`);
}

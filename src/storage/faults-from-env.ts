/**
 * Test-only: wraps a job's checkpoint storage in a FaultInjectingStorage described by a
 * string (the WEIR_FAULTS environment variable, read where the job's storage is opened):
 *
 *   WEIR_FAULTS=rate:0.1,seed:7[,ops:write+writeFile+delete][,partial:0.02][,latency:0-20][,report:/tmp/faults.json]
 *
 *  - rate:     probability that a call fails with TransientStorageError
 *  - seed:     RNG seed (default 1)
 *  - ops:      '+'-separated ops subject to faults (default: write, writeFile,
 *              writeStream, delete, deletePrefix — the checkpointing path; reads and
 *              lists at start-up are left alone so a job can start at all)
 *  - partial:  probability that a write fails half way
 *  - latency:  added latency in ms, "n" or "min-max"
 *  - report:   a file the injected-fault counters are written to (JSON) when the process exits
 *
 * Unset or empty: the storage is returned as is.
 */
import { writeFileSync } from 'node:fs';
import { ConfigError } from '../util/errors.ts';
import type { CheckpointStorage } from './checkpoint-storage.ts';
import { ALL_STORAGE_OPS, FaultInjectingStorage, type FaultInjectionOptions, type StorageOp } from './fault-injecting-storage.ts';

const DEFAULT_OPS: readonly StorageOp[] = ['write', 'writeFile', 'writeStream', 'delete', 'deletePrefix'];

export function parseFaultSpec(spec: string): { options: FaultInjectionOptions; report: string | undefined } {
  const options: FaultInjectionOptions = { ops: DEFAULT_OPS };
  let report: string | undefined;
  for (const part of spec.split(',')) {
    const i = part.indexOf(':');
    const key = i < 0 ? part : part.slice(0, i);
    const value = i < 0 ? '' : part.slice(i + 1);
    const num = (): number => {
      const n = Number(value);
      if (value === '' || !Number.isFinite(n) || n < 0) throw new ConfigError(`WEIR_FAULTS: ${key} needs a number >= 0, got "${value}"`);
      return n;
    };
    switch (key) {
      case 'rate': options.failureRate = num(); break;
      case 'seed': options.seed = num(); break;
      case 'partial': options.partialWriteRate = num(); break;
      case 'latency': {
        const [a, b] = value.split('-').map(Number);
        if (a === undefined || !Number.isFinite(a)) throw new ConfigError(`WEIR_FAULTS: latency needs "n" or "min-max", got "${value}"`);
        options.latencyMs = b === undefined ? a : [a, b];
        break;
      }
      case 'ops': {
        const ops = value.split('+');
        for (const op of ops) if (!(ALL_STORAGE_OPS as readonly string[]).includes(op)) throw new ConfigError(`WEIR_FAULTS: unknown op "${op}" (${ALL_STORAGE_OPS.join(', ')})`);
        options.ops = ops as StorageOp[];
        break;
      }
      case 'report': report = value; break;
      default: throw new ConfigError(`WEIR_FAULTS: unknown setting "${key}" (rate, seed, ops, partial, latency, report)`);
    }
  }
  return { options, report };
}

export function wrapWithFaults(storage: CheckpointStorage, spec: string | undefined): CheckpointStorage {
  if (spec === undefined || spec === '') return storage;
  const { options, report } = parseFaultSpec(spec);
  const faulty = new FaultInjectingStorage(storage, options);
  if (report !== undefined) process.once('exit', () => writeFileSync(report, JSON.stringify(faulty.counters())));
  return faulty;
}

/**
 * A CheckpointStorage wrapper that injects faults, for crash and recovery tests
 * (in the spirit of Pebble's errorfs). Two modes, usable together:
 *
 *  - random: with a seeded RNG, each call of a selected op may fail before reaching the
 *    inner storage (TransientStorageError), be slowed (latencyMs), time out
 *    (timeoutRate: waits timeoutMs on the injected Clock, then fails; half of the time the
 *    operation did happen underneath — the ambiguous outcome real timeouts have), or, for
 *    writes, fail half way (partialWriteRate: the inner storage receives half the bytes
 *    and then a failing stream, so its own atomicity is what keeps readers from seeing a
 *    prefix).
 *  - programmed: failNext(op, pathPredicate, error, when) fails the next matching call,
 *    'before' reaching the inner storage, 'after' it succeeded (ack lost), or 'partial'.
 *    corruptNext('read' | 'readToFile', pathPredicate) flips one byte of the next matching
 *    download (bit rot / corruption in transit): read() returns the bad bytes, readToFile()
 *    runs the normal size/checksum verification on them (CorruptionError if `expect`).
 *
 * counters() reports what was injected, so a test can assert faults really happened.
 * Path arguments are validated before any fault is injected, so a bad path is always a
 * ConfigError, never a random transient error.
 */
import { stat } from 'node:fs/promises';
import { assert } from '../util/assert.ts';
import type { Clock } from '../util/clock.ts';
import { systemClock } from '../util/clock.ts';
import { TransientStorageError } from '../util/errors.ts';
import type { CheckpointStorage, ObjectInfo, WriteResult } from './checkpoint-storage.ts';
import { fileChunks, writeFileAtomically } from './local-files.ts';
import type { Expectation } from './local-files.ts';
import { isTempPath, validateDeletePrefix, validatePath, validatePrefix, validateTempPath } from './paths.ts';
import { supportsStreamingWrite } from './streaming-write.ts';
import type { StreamingWrite } from './streaming-write.ts';

export type StorageOp =
  | 'write'
  | 'create'
  | 'writeFile'
  | 'writeStream'
  | 'read'
  | 'readToFile'
  | 'stat'
  | 'list'
  | 'delete'
  | 'deletePrefix';

export const ALL_STORAGE_OPS: readonly StorageOp[] = [
  'write', 'create', 'writeFile', 'writeStream', 'read', 'readToFile', 'stat', 'list', 'delete', 'deletePrefix',
];
const WRITE_OPS: ReadonlySet<StorageOp> = new Set(['write', 'writeFile', 'writeStream']);

export interface FaultInjectionOptions {
  /** Seed for the built-in RNG (mulberry32). Ignored if `rng` is given. Default 1. */
  seed?: number;
  /** A source of uniform [0, 1) numbers, instead of the seeded one. */
  rng?: () => number;
  /** Probability that a call fails with TransientStorageError before reaching the inner storage. */
  failureRate?: number;
  /** Ops subject to random faults (default all). Programmed faults ignore this. */
  ops?: readonly StorageOp[];
  /** Added latency per call: a fixed number of ms, or [min, max] drawn uniformly. */
  latencyMs?: number | readonly [number, number];
  /** Probability that a call times out (waits timeoutMs, then fails). */
  timeoutRate?: number;
  /** How long a timed-out call waits before failing. Default 30_000. */
  timeoutMs?: number;
  /** Probability that a write fails half way. */
  partialWriteRate?: number;
  clock?: Clock;
}

export type FaultTiming = 'before' | 'after' | 'partial';

export interface FaultCounters {
  calls: number;
  errors: number;
  timeouts: number;
  partialWrites: number;
  delays: number;
  programmed: number;
  /** Downloads corrupted by corruptNext. */
  corruptions: number;
  /** Injected faults (errors + timeouts + partial writes + programmed + corruptions) per op. */
  byOp: Partial<Record<StorageOp, number>>;
}

interface ProgrammedFault {
  op: StorageOp;
  matches: (path: string) => boolean;
  error: Error;
  when: FaultTiming;
}

function toPredicate(p: ((path: string) => boolean) | string | RegExp): (path: string) => boolean {
  if (typeof p === 'string') return (path) => path === p;
  if (p instanceof RegExp) return (path) => p.test(path);
  return p;
}

/** A copy of `data` with the byte at `offset` (default: the middle) inverted. Empty data stays empty. */
function flipByte(data: Uint8Array, offset: number | undefined): Uint8Array {
  const out = Uint8Array.from(data);
  if (out.length === 0) return out;
  const at = Math.min(out.length - 1, offset ?? Math.floor(out.length / 2));
  out[at] = out[at]! ^ 0xff;
  return out;
}

/** mulberry32: small, fast, good enough for fault schedules; deterministic per seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjectingStorage implements CheckpointStorage, StreamingWrite {
  readonly uri: string;
  private readonly rng: () => number;
  private readonly clock: Clock;
  private options: Required<Pick<FaultInjectionOptions, 'failureRate' | 'timeoutRate' | 'timeoutMs' | 'partialWriteRate'>> & {
    ops: ReadonlySet<StorageOp>;
    latencyMs: readonly [number, number];
  };
  private enabled = true;
  /** Programmed faults, consumed in order of registration; each fires once. */
  private readonly programmed: ProgrammedFault[] = [];
  private readonly corruptions: Array<{ op: 'read' | 'readToFile'; matches: (path: string) => boolean; offset: number | undefined }> = [];
  private readonly count: FaultCounters = {
    calls: 0, errors: 0, timeouts: 0, partialWrites: 0, delays: 0, programmed: 0, corruptions: 0, byOp: {},
  };

  constructor(readonly inner: CheckpointStorage, options: FaultInjectionOptions = {}) {
    this.uri = inner.uri;
    this.rng = options.rng ?? seededRandom(options.seed ?? 1);
    this.clock = options.clock ?? systemClock;
    this.options = this.normalize(options);
  }

  /** Changes the random fault settings (e.g. turn failures off for the recovery phase of a test). */
  configure(options: Omit<FaultInjectionOptions, 'seed' | 'rng' | 'clock'>): void {
    this.options = this.normalize({
      failureRate: options.failureRate ?? this.options.failureRate,
      timeoutRate: options.timeoutRate ?? this.options.timeoutRate,
      timeoutMs: options.timeoutMs ?? this.options.timeoutMs,
      partialWriteRate: options.partialWriteRate ?? this.options.partialWriteRate,
      ops: options.ops ?? [...this.options.ops],
      latencyMs: options.latencyMs ?? this.options.latencyMs,
    });
  }

  /** Random faults on/off (programmed faults still fire). */
  setEnabled(enabled: boolean): void {
    this.enabled = enabled;
  }

  /**
   * The next call of `op` whose path (or prefix) satisfies `pathPredicate` fails with
   * `error` (default TransientStorageError). `when`: 'before' the inner call (default),
   * 'after' it succeeded, or 'partial' (writes only: half the bytes, then failure).
   */
  failNext(
    op: StorageOp,
    pathPredicate: ((path: string) => boolean) | string | RegExp = () => true,
    error?: Error,
    when: FaultTiming = 'before',
  ): void {
    assert(when !== 'partial' || WRITE_OPS.has(op), `a partial fault only applies to writes, not ${op}`);
    const matches = toPredicate(pathPredicate);
    this.programmed.push({
      op,
      matches,
      error: error ?? new TransientStorageError(`injected failure: ${op}`),
      when,
    });
  }

  /**
   * The next read/readToFile of a matching path gets its bytes with one byte flipped
   * (at `offset`, default the middle). Objects in the inner storage are not changed.
   */
  corruptNext(op: 'read' | 'readToFile', pathPredicate: ((path: string) => boolean) | string | RegExp = () => true, offset?: number): void {
    this.corruptions.push({ op, matches: toPredicate(pathPredicate), offset });
  }

  /** Programmed faults (failNext and corruptNext) not yet fired. */
  pendingFaults(): number {
    return this.programmed.length + this.corruptions.length;
  }

  counters(): FaultCounters {
    return { ...this.count, byOp: { ...this.count.byOp } };
  }

  // --- CheckpointStorage -----------------------------------------------------------

  async write(path: string, data: Uint8Array): Promise<WriteResult> {
    validatePath(path);
    return this.run('write', path, () => this.inner.write(path, data), () => this.partial(path, [data], data.length));
  }

  async create(path: string, data: Uint8Array): Promise<WriteResult> {
    validatePath(path);
    const inner = this.inner;
    assert(inner.create !== undefined, `${this.uri} does not support create`);
    return this.run('create', path, () => inner.create!(path, data));
  }

  async writeFile(path: string, localFile: string): Promise<WriteResult> {
    validatePath(path);
    return this.run('writeFile', path, () => this.inner.writeFile(path, localFile), async () => {
      const size = (await stat(localFile)).size;
      return this.partial(path, fileChunks(localFile), size);
    });
  }

  async writeStream(path: string, source: AsyncIterable<Uint8Array>): Promise<WriteResult> {
    validatePath(path);
    const inner = this.inner;
    assert(supportsStreamingWrite(inner), `${this.uri} does not support writeStream`);
    // Partial: pass the first chunk through, then fail (the total size is unknown).
    return this.run('writeStream', path, () => inner.writeStream(path, source), () => this.partial(path, source, 1));
  }

  async read(path: string): Promise<Uint8Array> {
    validatePath(path);
    const corruption = this.takeCorruption('read', path);
    return this.run('read', path, async () => {
      const data = await this.inner.read(path);
      return corruption ? flipByte(data, corruption.offset) : data;
    });
  }

  async readToFile(path: string, localFile: string, expect?: Expectation): Promise<void> {
    validatePath(path);
    const corruption = this.takeCorruption('readToFile', path);
    return this.run('readToFile', path, async () => {
      if (!corruption) return this.inner.readToFile(path, localFile, expect);
      const bad = flipByte(await this.inner.read(path), corruption.offset);
      await writeFileAtomically(localFile, [bad], `${this.uri}/${path}`, expect);
    });
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    validatePath(path);
    return this.run('stat', path, () => this.inner.stat(path));
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    validatePrefix(prefix);
    return this.run('list', prefix, () => this.inner.list(prefix));
  }

  async delete(path: string): Promise<void> {
    if (isTempPath(path)) validateTempPath(path);
    else validatePath(path);
    return this.run('delete', path, () => this.inner.delete(path));
  }

  /** Forwards the inner storage's temp listing (no faults: it is a listing of leftovers). */
  async listTempFiles(prefix: string): Promise<ObjectInfo[]> {
    validatePrefix(prefix);
    return (await this.inner.listTempFiles?.(prefix)) ?? [];
  }

  async deletePrefix(prefix: string): Promise<void> {
    validateDeletePrefix(prefix);
    return this.run('deletePrefix', prefix, () => this.inner.deletePrefix(prefix));
  }

  async close(): Promise<void> {
    return this.inner.close();
  }

  // ---------------------------------------------------------------------------------

  private async run<T>(op: StorageOp, path: string, call: () => Promise<T>, partial?: () => Promise<never>): Promise<T> {
    this.count.calls++;
    const index = this.programmed.findIndex((f) => f.op === op && f.matches(path));
    if (index >= 0) {
      const fault = this.programmed.splice(index, 1)[0]!;
      this.injected(op, 'programmed');
      if (fault.when === 'before') throw fault.error;
      if (fault.when === 'after') {
        await call();
        throw fault.error;
      }
      assert(partial, `no partial fault for ${op}`);
      await partial().catch(() => undefined);
      throw fault.error;
    }

    const [minDelay, maxDelay] = this.options.latencyMs;
    if (maxDelay > 0) {
      this.count.delays++;
      await this.clock.sleep(minDelay + (maxDelay - minDelay) * this.rng());
    }
    if (!this.enabled || !this.options.ops.has(op)) return call();

    if (this.options.failureRate > 0 && this.rng() < this.options.failureRate) {
      this.injected(op, 'errors');
      throw new TransientStorageError(`injected failure: ${op} ${path}`);
    }
    if (this.options.timeoutRate > 0 && this.rng() < this.options.timeoutRate) {
      this.injected(op, 'timeouts');
      const happened = this.rng() < 0.5;
      const done = happened ? call().then(() => undefined, () => undefined) : Promise.resolve();
      await this.clock.sleep(this.options.timeoutMs);
      await done;
      throw new TransientStorageError(`injected timeout after ${this.options.timeoutMs} ms: ${op} ${path}`);
    }
    if (partial && this.options.partialWriteRate > 0 && this.rng() < this.options.partialWriteRate) {
      this.injected(op, 'partialWrites');
      return partial();
    }
    return call();
  }

  /** Feeds the inner storage about half of `total` bytes from `source`, then a stream error. */
  private async partial(path: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, total: number): Promise<never> {
    const failure = new TransientStorageError(`injected partial write: ${path}`);
    const inner = this.inner;
    if (!supportsStreamingWrite(inner)) throw failure; // cannot reach inside: fail before writing
    const half = Math.max(1, Math.floor(total / 2));
    async function* halfThenFail(): AsyncGenerator<Uint8Array> {
      let sent = 0;
      for await (const chunk of source) {
        const take = Math.min(chunk.length, half - sent);
        if (take > 0) yield chunk.subarray(0, take);
        sent += take;
        if (sent >= half) break;
      }
      throw failure;
    }
    try {
      await inner.writeStream(path, halfThenFail());
    } catch (err) {
      throw new TransientStorageError(`injected partial write: ${path}`, { cause: err });
    }
    throw new TransientStorageError(`injected partial write of ${path} was published by ${this.uri} (not atomic)`);
  }

  private takeCorruption(op: 'read' | 'readToFile', path: string): { offset: number | undefined } | undefined {
    const index = this.corruptions.findIndex((c) => c.op === op && c.matches(path));
    if (index < 0) return undefined;
    const corruption = this.corruptions.splice(index, 1)[0]!;
    this.count.corruptions++;
    this.count.byOp[op] = (this.count.byOp[op] ?? 0) + 1;
    return corruption;
  }

  private injected(op: StorageOp, kind: 'errors' | 'timeouts' | 'partialWrites' | 'programmed'): void {
    this.count[kind]++;
    this.count.byOp[op] = (this.count.byOp[op] ?? 0) + 1;
  }

  private normalize(options: FaultInjectionOptions): FaultInjectingStorage['options'] {
    const rate = (name: string, value: number | undefined): number => {
      const v = value ?? 0;
      assert(v >= 0 && v <= 1, () => `${name} must be within [0, 1], got ${v}`);
      return v;
    };
    const latency = options.latencyMs ?? 0;
    const range: readonly [number, number] = typeof latency === 'number' ? [latency, latency] : latency;
    assert(range[0] >= 0 && range[1] >= range[0], 'latencyMs must be >= 0 and min <= max');
    return {
      failureRate: rate('failureRate', options.failureRate),
      timeoutRate: rate('timeoutRate', options.timeoutRate),
      partialWriteRate: rate('partialWriteRate', options.partialWriteRate),
      timeoutMs: options.timeoutMs ?? 30_000,
      ops: new Set(options.ops ?? ALL_STORAGE_OPS),
      latencyMs: range,
    };
  }
}

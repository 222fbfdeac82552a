/**
 * Incremental vs full checkpoints of lsm keyed state (issue 3's benchmark).
 *
 * For each state size: load N keys (16-byte keys, 100-byte incompressible values) through
 * the lsm backend's ValueState, take a first checkpoint (full by definition), then R rounds
 * of "update 1% of the keys at random, checkpoint" — once with an incremental backend and
 * once with a full (incremental: false) backend holding the same state. Checkpoints go
 * through the real CheckpointCoordinator (CompletedCheckpointStore retained 2, shared
 * state registry, subsumption and deletion) into LocalStorage (or --storage).
 * Then: restore a fresh backend from the latest handle (until the first get answers) and
 * compare with a plain parallel copy of the same files.
 *
 *   npm run bench:checkpoint                         # 256M,1G, human table
 *   npm run bench:checkpoint -- --json               # one JSON object on stdout
 *   npm run bench:checkpoint -- --sizes 256M,1G,4G --rounds 5 --dir /data/tmp
 *   npm run bench:checkpoint -- --storage s3://bucket/prefix
 *
 * The full-mode backend is not loaded a second time: it is restored from the incremental
 * backend's first checkpoint (same bytes, same files), so both modes start from identical
 * LSM trees and the load is paid once per size.
 */
import { copyFile, mkdir, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { CheckpointCoordinator } from '../../src/checkpoint/index.ts';
import type { CompletedCheckpointInfo } from '../../src/checkpoint/index.ts';
import { bytesSerializer, createLsmBackend } from '../../src/state/index.ts';
import type { KeyedStateHandle, LsmKeyedBackend, ValueState } from '../../src/state/index.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { createStorage } from '../../src/storage/create-storage.ts';
import type { CheckpointStorage } from '../../src/storage/checkpoint-storage.ts';
import { systemClock } from '../../src/util/clock.ts';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    sizes: { type: 'string', default: '256M,1G' },
    rounds: { type: 'string', default: '5' },
    dir: { type: 'string' },
    storage: { type: 'string' },
    'update-fraction': { type: 'string', default: '0.01' },
    'max-minutes': { type: 'string', default: '60' },
  },
});

const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const OPERATOR = 'count';
const MAX_PARALLELISM = 128;
const KEY_GROUPS = { start: 0, end: MAX_PARALLELISM - 1 };
const RESTORE_SAMPLE = 2000;

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)$/i.exec(s.trim());
  if (!m) throw new Error(`bad size "${s}" (use e.g. 256M, 1G)`);
  const mult = { '': 1, K: 1 << 10, M: 1 << 20, G: 1 << 30 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * mult);
}

const sizes = args.sizes.split(',').map((s) => ({ label: s.trim(), bytes: parseSize(s) }));
const rounds = Math.max(1, Math.min(50, Number(args.rounds)));
const updateFraction = Number(args['update-fraction']);
if (!(updateFraction > 0 && updateFraction <= 1)) throw new Error('--update-fraction must be in (0, 1]');
const deadline = performance.now() + Number(args['max-minutes']) * 60_000;

// ---- data ------------------------------------------------------------------------------

/** Key i: 8 bytes of a mixed hash then i big-endian (16 bytes, unique, spread over key groups). */
function keyOf(i: number): Uint8Array {
  const k = new Uint8Array(KEY_BYTES);
  const dv = new DataView(k.buffer);
  const h = Math.imul(i ^ 0x5bd1e995, 0x9e3779b1) >>> 0;
  dv.setUint32(0, h);
  dv.setUint32(4, Math.imul(h ^ (h >>> 15), 0x85ebca6b) >>> 0);
  dv.setUint32(8, Math.floor(i / 2 ** 32));
  dv.setUint32(12, i >>> 0);
  return k;
}

let noise = 0x2545f491;
/** Value of key i written in round r: (i, r) then pseudo-random (incompressible) bytes. */
function valueOf(i: number, r: number): Uint8Array {
  const v = new Uint8Array(VALUE_BYTES);
  const dv = new DataView(v.buffer);
  dv.setUint32(0, i >>> 0);
  dv.setUint32(4, r);
  for (let o = 8; o + 4 <= VALUE_BYTES; o += 4) {
    noise ^= noise << 13; noise ^= noise >>> 17; noise ^= noise << 5;
    dv.setUint32(o, noise >>> 0);
  }
  return v;
}

/** Deterministic PRNG for the update picks (same sequence for both modes). */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s / 2 ** 32;
  };
}

// ---- helpers ---------------------------------------------------------------------------

const progressOn = process.stderr.isTTY === true;
let lastProgress = 0;
function progress(msg: string, force = false): void {
  const now = performance.now();
  if (!force && now - lastProgress < 1000) return;
  lastProgress = now;
  if (progressOn) process.stderr.write(`\r\x1b[K${msg}`);
  else process.stderr.write(`${msg}\n`);
}
function log(msg: string): void {
  if (progressOn) process.stderr.write('\r\x1b[K');
  process.stderr.write(`${msg}\n`);
}
function checkDeadline(what: string): void {
  if (performance.now() > deadline) throw new Error(`--max-minutes exceeded during ${what}`);
}

function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}
const MB = 1 << 20;
const mb = (n: number): number => Math.round((n / MB) * 10) / 10;
const ms = (n: number): number => Math.round(n * 10) / 10;

async function mapLimit<T>(items: readonly T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---- one subtask under a coordinator ---------------------------------------------------

interface RoundResult {
  checkpointId: number;
  /** Bytes this checkpoint uploaded (new shared files + private files). */
  uploadedBytes: number;
  fullBytes: number;
  durationMillis: number;
  syncMillis: number;
  filesTotal: number;
  filesUploaded: number;
  /** Uploaded bytes of files at L0 (flush outputs) and at L1+ (compaction outputs). */
  uploadedFlushBytes: number;
  uploadedCompactionBytes: number;
  /** Engine bytes written since the previous checkpoint. */
  flushWrittenBytes: number;
  compactionWrittenBytes: number;
}

class Subtask {
  coordinator!: CheckpointCoordinator;
  readonly handles = new Map<number, KeyedStateHandle>();
  private readonly syncs = new Map<number, number>();
  private lastFlush = 0;
  private lastCompaction = 0;

  constructor(readonly backend: LsmKeyedBackend, readonly storage: CheckpointStorage, readonly job: string) {}

  async start(): Promise<void> {
    this.coordinator = await CheckpointCoordinator.create({
      job: this.job,
      storage: this.storage,
      clock: systemClock,
      participant: {
        triggerCheckpoint: (id, _ts, kind) => {
          const snap = this.backend.snapshot({ jobPath: this.job, checkpointId: id, kind });
          this.syncs.set(id, snap.syncMillis);
          const t0 = performance.now();
          snap.done.then(
            (keyed) => {
              this.handles.set(id, keyed);
              this.coordinator.acknowledge(id, { operatorId: OPERATOR, subtaskIndex: 0, keyed }, {
                syncMillis: snap.syncMillis, asyncMillis: performance.now() - t0, alignmentMillis: 0,
              });
            },
            (err: unknown) => this.coordinator.decline(id, OPERATOR, 0, String(err)),
          );
          return true;
        },
        notifyCheckpointComplete: (id) => this.backend.notifyCheckpointComplete(id),
        notifyCheckpointAborted: (id) => this.backend.notifyCheckpointAborted(id),
      },
      expectedTasks: [{ operatorId: OPERATOR, subtaskIndex: 0 }],
      interval: 0,
      timeout: 30 * 60_000,
      retained: 2,
      maxParallelism: MAX_PARALLELISM,
      operators: [{ operatorId: OPERATOR, parallelism: 1 }],
    });
    const st = this.backend.lsmStore().stats();
    this.lastFlush = st.bytesWrittenByFlush;
    this.lastCompaction = st.bytesWrittenByCompaction;
  }

  async checkpoint(): Promise<RoundResult> {
    const store = this.backend.lsmStore();
    const levelOf = new Map(store.liveFiles().map((f) => [f.name, f.level]));
    const info: CompletedCheckpointInfo = await this.coordinator.triggerCheckpoint();
    const h = this.handles.get(info.checkpointId)!;
    // Files flushed by the snapshot's own seal are not in the pre-trigger listing: they are L0.
    for (const f of store.liveFiles()) if (!levelOf.has(f.name)) levelOf.set(f.name, f.level);
    let flushUp = 0;
    let compUp = 0;
    for (const f of h.sharedFiles) {
      if (f.reused) continue;
      if ((levelOf.get(f.localName) ?? 0) === 0) flushUp += f.size;
      else compUp += f.size;
    }
    const st = store.stats();
    const r: RoundResult = {
      checkpointId: info.checkpointId,
      uploadedBytes: h.incrementalSize,
      fullBytes: h.fullSize,
      durationMillis: info.durationMillis,
      syncMillis: this.syncs.get(info.checkpointId) ?? NaN,
      filesTotal: h.sharedFiles.length,
      filesUploaded: h.sharedFiles.filter((f) => !f.reused).length,
      uploadedFlushBytes: flushUp,
      uploadedCompactionBytes: compUp,
      flushWrittenBytes: st.bytesWrittenByFlush - this.lastFlush,
      compactionWrittenBytes: st.bytesWrittenByCompaction - this.lastCompaction,
    };
    this.lastFlush = st.bytesWrittenByFlush;
    this.lastCompaction = st.bytesWrittenByCompaction;
    // Keep only the handles the store still retains.
    for (const id of [...this.handles.keys()]) if (id < info.checkpointId - 2) this.handles.delete(id);
    return r;
  }

  async stop(): Promise<void> {
    await this.coordinator.stop();
  }
}

function openBackend(localDir: string, storage: CheckpointStorage, incremental: boolean, restoreFrom?: KeyedStateHandle[]): Promise<LsmKeyedBackend> {
  return createLsmBackend({
    operatorId: OPERATOR, subtaskIndex: 0, maxParallelism: MAX_PARALLELISM, keyGroupRange: KEY_GROUPS,
    keySerializer: bytesSerializer, localDir, storage, incremental, restoreFrom,
  });
}

// ---- the benchmark ---------------------------------------------------------------------

interface ModeResult {
  mode: 'incremental' | 'full';
  first: RoundResult;
  rounds: RoundResult[];
  median: {
    uploadedBytes: number; durationMillis: number; filesUploaded: number; filesTotal: number;
    uploadedFlushBytes: number; uploadedCompactionBytes: number;
  };
  /** Mean over the rounds: with compaction rounds in the mix, what a long run averages. */
  mean: { uploadedBytes: number; durationMillis: number };
  /** Worst round (a round whose flush triggered an L0→L1 compaction uploads its outputs next). */
  max: { uploadedBytes: number; durationMillis: number; filesUploaded: number };
  syncMillisP50: number;
  syncMillisP99: number;
  syncMillisMax: number;
  waitForCompactionMillis: number[];
  /** Best of two restores (trigger of createLsmBackend → first get answered). */
  restoreMillis: number;
  /** Of which: until every file was downloaded and verified. */
  restoreDownloadMillis: number;
  restoreMillisEach: number[];
  restoreBytes: number;
  /** fs.copyFile of the same files, 4 at a time, no fsync (cp -r). */
  plainCopyMillis: number | null;
  /** The same with an fsync per file (what a restore's atomic download does). */
  plainCopyFsyncMillis: number | null;
  restoreVerifiedKeys: number;
}

interface SizeResult {
  size: string;
  keys: number;
  loadSeconds: number;
  loadKeysPerSecond: number;
  settleSeconds: number;
  stateBytesOnDisk: number;
  levels: { level: number; files: number; bytes: number }[];
  updatesPerRound: number;
  modes: ModeResult[];
  ratios: { incrementalOverFullBytes: number; incrementalOverFullBytesMean: number; fullOverIncrementalDuration: number; fullOverIncrementalDurationMean: number; restoreOverPlainCopyIncremental: number | null; restoreOverPlainCopyFull: number | null };
  goals: { uploadTenth: boolean | null; tenTimesFaster: boolean | null; syncP99Under50ms: boolean; restoreUnder1_5xCopy: boolean | null };
}

/** Values the keys hold: round in which each key was last written (0 = load). */
let lastRound: Uint8Array = new Uint8Array(0);

async function load(backend: LsmKeyedBackend, keys: number, label: string): Promise<number> {
  const state = backend.getValueState<Uint8Array>('count', bytesSerializer);
  const t0 = performance.now();
  for (let i = 0; i < keys; i++) {
    backend.setCurrentKey(keyOf(i));
    state.update(valueOf(i, 0));
    if ((i & 1023) === 1023) {
      const bp = backend.writeBackpressure();
      if (bp) await bp;
      if ((i & 0xffff) === 0xffff) {
        checkDeadline('load');
        const s = (performance.now() - t0) / 1000;
        progress(`[${label}] load ${i + 1}/${keys} keys (${Math.round((i + 1) / s)} keys/s)`);
      }
    }
  }
  return (performance.now() - t0) / 1000;
}

function update(backend: LsmKeyedBackend, keys: number, n: number, round: number, rnd: () => number): void {
  const state = backend.getValueState<Uint8Array>('count', bytesSerializer);
  for (let j = 0; j < n; j++) {
    const i = Math.floor(rnd() * keys);
    backend.setCurrentKey(keyOf(i));
    state.update(valueOf(i, round));
    lastRound[i] = round;
  }
}

async function updateWithBackpressure(backend: LsmKeyedBackend, keys: number, n: number, round: number, rnd: () => number): Promise<void> {
  const chunk = 4096;
  for (let done = 0; done < n; done += chunk) {
    update(backend, keys, Math.min(chunk, n - done), round, rnd);
    const bp = backend.writeBackpressure();
    if (bp) await bp;
  }
}

/** Restores a fresh backend from `handle` into `dir`; ms until the first get answers, then checks a sample. */
async function restoreAndVerify(handle: KeyedStateHandle, storage: CheckpointStorage, dir: string, keys: number): Promise<{ millis: number; downloadMillis: number; verified: number }> {
  const t0 = performance.now();
  let downloadMillis = NaN;
  const b = await createLsmBackend({
    operatorId: OPERATOR, subtaskIndex: 0, maxParallelism: MAX_PARALLELISM, keyGroupRange: KEY_GROUPS,
    keySerializer: bytesSerializer, localDir: dir, storage, restoreFrom: [handle],
    onRestoreProgress: (done, total) => { if (done >= total) downloadMillis = performance.now() - t0; },
  });
  const state: ValueState<Uint8Array> = b.getValueState<Uint8Array>('count', bytesSerializer);
  b.setCurrentKey(keyOf(0));
  const first = state.value();
  const millis = performance.now() - t0;
  try {
    if (first === undefined) throw new Error('restored backend lost key 0');
    const rnd = prng(99);
    let verified = 0;
    for (let j = 0; j < RESTORE_SAMPLE; j++) {
      const i = j === 0 ? 0 : Math.floor(rnd() * keys);
      b.setCurrentKey(keyOf(i));
      const v = state.value();
      if (v === undefined) throw new Error(`restored backend lost key ${i}`);
      const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
      if (dv.getUint32(0) !== i >>> 0 || dv.getUint32(4) !== lastRound[i]) {
        throw new Error(`restored key ${i}: value of (${dv.getUint32(0)}, round ${dv.getUint32(4)}), expected round ${lastRound[i]}`);
      }
      verified++;
    }
    return { millis, downloadMillis, verified };
  } finally {
    await b.dispose();
  }
}

/** The restore baseline: copy the handle's files out of a local storage root, 4 at a time (the backend's default transfer concurrency). */
async function plainCopy(handle: KeyedStateHandle, root: string, dir: string, fsync: boolean): Promise<number> {
  const paths = [...handle.sharedFiles.map((f) => f.path), ...handle.privateFiles.map((f) => f.path)];
  await mkdir(dir, { recursive: true });
  const t0 = performance.now();
  let n = 0;
  await mapLimit(paths, 4, async (p) => {
    const dest = join(dir, `${n++}-${p.split('/').pop()!}`);
    await copyFile(join(root, p), dest);
    if (fsync) {
      const h = await open(dest, 'r+');
      try {
        await h.sync();
      } finally {
        await h.close();
      }
    }
  });
  return performance.now() - t0;
}

async function runSize(label: string, bytes: number, base: string): Promise<SizeResult> {
  const keys = Math.max(1000, Math.round(bytes / (KEY_BYTES + VALUE_BYTES)));
  const updates = Math.max(1, Math.round(keys * updateFraction));
  lastRound = new Uint8Array(keys);
  const dir = join(base, label);
  const localRoot = join(dir, 'checkpoints');
  const storageFor = (mode: string): { storage: CheckpointStorage; root: string | null; job: string } => {
    const job = `bench-${label.toLowerCase()}-${mode}`;
    if (args.storage === undefined) return { storage: new LocalStorage({ root: localRoot }), root: localRoot, job };
    const s = createStorage(args.storage);
    return { storage: s, root: s instanceof LocalStorage ? s.root : null, job };
  };

  log(`== ${label}: ${keys} keys × (${KEY_BYTES} B key, ${VALUE_BYTES} B value), ${updates} updates per round, ${rounds} rounds`);
  const inc = storageFor('incremental');
  const incBackend = await openBackend(join(dir, 'local-incremental'), inc.storage, true);
  const loadSeconds = await load(incBackend, keys, label);
  log(`[${label}] loaded ${keys} keys in ${loadSeconds.toFixed(1)} s`);
  // Let the flushes and compactions of the load finish, so both modes start from one settled tree.
  const s0 = performance.now();
  await incBackend.lsmStore().flush();
  await incBackend.lsmStore().waitForIdle();
  const settleSeconds = (performance.now() - s0) / 1000;
  const stats = incBackend.lsmStore().stats();
  const levels = stats.levels.filter((l) => l.files > 0);
  log(`[${label}] settled in ${settleSeconds.toFixed(1)} s: ${levels.map((l) => `L${l.level} ${l.files} files ${mb(l.bytes)} MB`).join(', ')}`);

  const incSub = new Subtask(incBackend, inc.storage, inc.job);
  await incSub.start();
  const incFirst = await incSub.checkpoint();
  log(`[${label}] incremental: first checkpoint ${mb(incFirst.uploadedBytes)} MB in ${ms(incFirst.durationMillis)} ms`);

  // Full mode: the same tree, restored from the first checkpoint.
  const full = storageFor('full');
  const fullBackend = await openBackend(join(dir, 'local-full'), full.storage, false, [incSub.handles.get(incFirst.checkpointId)!]);
  const fullSub = new Subtask(fullBackend, full.storage, full.job);
  await fullSub.start();
  const fullFirst = await fullSub.checkpoint();
  log(`[${label}] full: first checkpoint ${mb(fullFirst.uploadedBytes)} MB in ${ms(fullFirst.durationMillis)} ms`);

  const modes: ModeResult[] = [];
  const lastRoundSaved = lastRound.slice();
  for (const [mode, sub, st, first] of [['incremental', incSub, inc, incFirst], ['full', fullSub, full, fullFirst]] as const) {
    lastRound.set(lastRoundSaved);
    const rnd = prng(12345);
    const results: RoundResult[] = [];
    const waits: number[] = [];
    for (let r = 1; r <= rounds; r++) {
      checkDeadline(`${label} ${mode} round ${r}`);
      await updateWithBackpressure(sub.backend, keys, updates, r, rnd);
      // Compactions triggered by the previous checkpoint's flush finish first (timed apart),
      // so each checkpoint's duration is its own flush + upload, not a neighbour's compaction.
      const w0 = performance.now();
      await sub.backend.lsmStore().waitForIdle();
      waits.push(performance.now() - w0);
      const res = await sub.checkpoint();
      results.push(res);
      progress(`[${label}] ${mode} round ${r}/${rounds}: ${mb(res.uploadedBytes)} MB, ${ms(res.durationMillis)} ms, sync ${ms(res.syncMillis)} ms, ${res.filesUploaded}/${res.filesTotal} files uploaded`, true);
    }
    const lastId = results[results.length - 1]!.checkpointId;
    const handle = sub.handles.get(lastId)!;
    // Twice: the first restore of the process also pays one-off costs (e.g. worker/module start).
    const restores: { millis: number; downloadMillis: number; verified: number }[] = [];
    for (let k = 0; k < 2; k++) {
      restores.push(await restoreAndVerify(handle, st.storage, join(dir, `restore-${mode}-${k}`), keys));
      await rm(join(dir, `restore-${mode}-${k}`), { recursive: true, force: true });
    }
    const restore = restores.reduce((a, b) => (b.millis < a.millis ? b : a));
    let copyMillis: number | null = null;
    let copyFsyncMillis: number | null = null;
    if (st.root !== null) {
      copyMillis = await plainCopy(handle, st.root, join(dir, `copy-${mode}`), false);
      await rm(join(dir, `copy-${mode}`), { recursive: true, force: true });
      copyFsyncMillis = await plainCopy(handle, st.root, join(dir, `copy-${mode}`), true);
      await rm(join(dir, `copy-${mode}`), { recursive: true, force: true });
    }
    log(`[${label}] ${mode}: restore ${restores.map((x) => `${ms(x.millis)} ms (download ${ms(x.downloadMillis)})`).join(', ')} for ${mb(handle.fullSize)} MB; `
      + `plain copy ${copyMillis === null ? 'n/a' : `${ms(copyMillis)} ms, with fsync ${ms(copyFsyncMillis!)} ms`}`);
    const syncs = [first.syncMillis, ...results.map((x) => x.syncMillis)];
    modes.push({
      mode,
      first,
      rounds: results,
      median: {
        uploadedBytes: median(results.map((x) => x.uploadedBytes)),
        durationMillis: median(results.map((x) => x.durationMillis)),
        filesUploaded: median(results.map((x) => x.filesUploaded)),
        filesTotal: median(results.map((x) => x.filesTotal)),
        uploadedFlushBytes: median(results.map((x) => x.uploadedFlushBytes)),
        uploadedCompactionBytes: median(results.map((x) => x.uploadedCompactionBytes)),
      },
      mean: {
        uploadedBytes: results.reduce((n, x) => n + x.uploadedBytes, 0) / results.length,
        durationMillis: results.reduce((n, x) => n + x.durationMillis, 0) / results.length,
      },
      max: {
        uploadedBytes: Math.max(...results.map((x) => x.uploadedBytes)),
        durationMillis: Math.max(...results.map((x) => x.durationMillis)),
        filesUploaded: Math.max(...results.map((x) => x.filesUploaded)),
      },
      syncMillisP50: percentile(syncs, 50),
      syncMillisP99: percentile(syncs, 99),
      syncMillisMax: Math.max(...syncs),
      waitForCompactionMillis: waits.map(ms),
      restoreMillis: restore.millis,
      restoreDownloadMillis: restore.downloadMillis,
      restoreMillisEach: restores.map((x) => ms(x.millis)),
      restoreBytes: handle.fullSize,
      plainCopyMillis: copyMillis,
      plainCopyFsyncMillis: copyFsyncMillis,
      restoreVerifiedKeys: restore.verified,
    });
    await sub.stop();
    await sub.backend.dispose();
    // The retained checkpoints stay in --storage otherwise (the temp dir is removed anyway).
    await st.storage.deletePrefix(`${st.job}/`);
    await st.storage.close();
  }
  await rm(dir, { recursive: true, force: true });

  const [mi, mf] = [modes[0]!, modes[1]!];
  const bytesRatio = mi.median.uploadedBytes / mf.median.uploadedBytes;
  const durRatio = mf.median.durationMillis / mi.median.durationMillis;
  const rr = (m: ModeResult): number | null => (m.plainCopyMillis === null ? null : m.restoreMillis / m.plainCopyMillis);
  const big = bytes >= 1 << 30;
  return {
    size: label,
    keys,
    loadSeconds,
    loadKeysPerSecond: Math.round(keys / loadSeconds),
    settleSeconds,
    stateBytesOnDisk: fullFirst.fullBytes,
    levels,
    updatesPerRound: updates,
    modes,
    ratios: {
      incrementalOverFullBytes: bytesRatio,
      incrementalOverFullBytesMean: mi.mean.uploadedBytes / mf.mean.uploadedBytes,
      fullOverIncrementalDuration: durRatio,
      fullOverIncrementalDurationMean: mf.mean.durationMillis / mi.mean.durationMillis, restoreOverPlainCopyIncremental: rr(mi), restoreOverPlainCopyFull: rr(mf) },
    goals: {
      uploadTenth: big ? bytesRatio <= 0.1 : null,
      tenTimesFaster: big ? durRatio >= 10 : null,
      syncP99Under50ms: Math.max(mi.syncMillisP99, mf.syncMillisP99) <= 50,
      restoreUnder1_5xCopy: rr(mi) === null ? null : Math.max(rr(mi)!, rr(mf)!) <= 1.5,
    },
  };
}

function table(results: SizeResult[]): string {
  const lines: string[] = [];
  const head = ['size', 'mode', 'keys', 'disk MB', 'upload MB med (max)', 'files up/total', 'from flush/compaction MB', 'duration ms med (max)', 'sync p50/p99 ms', 'restore ms (download)', 'plain copy ms (+fsync)'];
  const rows: string[][] = [];
  for (const r of results) {
    for (const m of r.modes) {
      rows.push([
        r.size, m.mode, String(r.keys), String(mb(r.stateBytesOnDisk)), `${mb(m.median.uploadedBytes)} (${mb(m.max.uploadedBytes)})`,
        `${m.median.filesUploaded}/${m.median.filesTotal}`,
        `${mb(m.median.uploadedFlushBytes)}/${mb(m.median.uploadedCompactionBytes)}`,
        `${Math.round(m.median.durationMillis)} (${Math.round(m.max.durationMillis)})`, `${ms(m.syncMillisP50)}/${ms(m.syncMillisP99)}`,
        `${Math.round(m.restoreMillis)} (${Math.round(m.restoreDownloadMillis)})`,
        m.plainCopyMillis === null ? 'n/a' : `${Math.round(m.plainCopyMillis)} (${Math.round(m.plainCopyFsyncMillis!)})`,
      ]);
    }
  }
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => `| ${r.map((c, i) => c.padEnd(w[i]!)).join(' | ')} |`;
  lines.push(fmt(head), `|${w.map((n) => '-'.repeat(n + 2)).join('|')}|`, ...rows.map(fmt), '');
  const yn = (b: boolean | null): string => (b === null ? 'n/a (< 1 GB)' : b ? 'met' : 'MISSED');
  for (const r of results) {
    const q = r.ratios;
    lines.push(`${r.size}: load ${r.loadSeconds.toFixed(1)} s (${r.loadKeysPerSecond} keys/s) + settle ${r.settleSeconds.toFixed(1)} s; `
      + `incremental/full bytes ${q.incrementalOverFullBytes.toFixed(3)} [<= 0.1: ${yn(r.goals.uploadTenth)}], `
      + `(mean over rounds ${q.incrementalOverFullBytesMean.toFixed(3)}), `
      + `full/incremental duration ${q.fullOverIncrementalDuration.toFixed(1)}x [>= 10x: ${yn(r.goals.tenTimesFaster)}] (mean ${q.fullOverIncrementalDurationMean.toFixed(1)}x), `
      + `sync p99 <= 50 ms: ${r.goals.syncP99Under50ms ? 'met' : 'MISSED'}, `
      + `restore/plain copy ${q.restoreOverPlainCopyIncremental?.toFixed(2) ?? 'n/a'} (incr) ${q.restoreOverPlainCopyFull?.toFixed(2) ?? 'n/a'} (full) [<= 1.5x: ${r.goals.restoreUnder1_5xCopy === null ? 'n/a' : r.goals.restoreUnder1_5xCopy ? 'met' : 'MISSED'}]`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const base = args.dir !== undefined ? await mkdtemp(join(args.dir, 'weir-bench-checkpoint-')) : await mkdtemp(join(tmpdir(), 'weir-bench-checkpoint-'));
  const startedAt = new Date().toISOString();
  const results: SizeResult[] = [];
  const cleanup = async (): Promise<void> => { await rm(base, { recursive: true, force: true }); };
  const onSignal = (): void => { void cleanup().finally(() => process.exit(130)); };
  process.once('SIGINT', onSignal);
  try {
    await mkdir(dirname(base), { recursive: true });
    for (const s of sizes) results.push(await runSize(s.label, s.bytes, base));
  } finally {
    await cleanup();
  }
  const out = {
    benchmark: 'checkpoint',
    startedAt,
    node: process.version,
    cpus: (await import('node:os')).cpus().length,
    loadavg: (await import('node:os')).loadavg().map((x) => Math.round(x * 100) / 100),
    storage: args.storage ?? 'local (LocalStorage in the temp dir)',
    rounds,
    updateFraction,
    driver: 'CheckpointCoordinator + CompletedCheckpointStore (retained 2) + LsmKeyedBackend',
    results,
  };
  if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`);
  else process.stdout.write(`${table(results)}\n`);
}

await main().catch(async (err: unknown) => {
  log(`bench:checkpoint failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
  process.exitCode = 1;
});

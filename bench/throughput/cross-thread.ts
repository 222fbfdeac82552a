/**
 * What it costs a record to cross a thread, three ways (docs/runtime.md, "Crossing a
 * thread"): a producer on the main thread sends N records in batches to a consumer
 * worker that decodes them and returns credit, with at most `--inflight` batches
 * outstanding (the runtime's flow control):
 *
 *   transfer  msgpack per batch into a fresh ArrayBuffer, moved with postMessage (what the runtime does)
 *   clone     postMessage of the batch array itself (structured clone on both sides)
 *   sab       msgpack per batch written into a SharedArrayBuffer ring, Atomics.notify / wait
 *   local     msgpack encode + decode on one thread, no crossing (the serialisation alone)
 *
 * Reported per record: wall ns (throughput of the pipeline), CPU ns of the whole process
 * (both threads), bytes on the wire. Modes alternate for --rounds rounds; medians.
 *
 *   node --import tsx bench/throughput/cross-thread.ts [--records 2000000] [--batch 512] [--json]
 */
import { Worker } from 'node:worker_threads';
import { parseArgs } from 'node:util';
import { Packr } from 'msgpackr';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '2000000' },
    batch: { type: 'string', default: '512' },
    inflight: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '3' },
    shapes: { type: 'string', default: 'number,object' },
    modes: { type: 'string', default: 'local,transfer,clone,sab' },
    json: { type: 'boolean', default: false },
  },
});
const N = Number(values.records);
const B = Number(values.batch);
const INFLIGHT = Number(values.inflight);
const RING = 1 << 22;

const makeRecord: Record<string, (i: number) => unknown> = {
  number: (i) => (Math.imul(i, 0x9e3779b1) >>> 0) % 100000,
  object: (i) => ({ word: `w${i % 5000}`, count: i & 1023 }),
};

/** The consumer, plain JS so the worker needs no loader. */
const consumer = `
const { parentPort, workerData } = require('node:worker_threads');
const { Packr } = require('msgpackr');
const packr = new Packr({ useRecords: false });
const { mode, sab } = workerData;
let n = 0, sink = 0;
if (mode === 'sab') {
  const ctl = new Int32Array(sab, 0, 4); // [write, read, done]
  const data = new Uint8Array(sab, 16);
  const size = data.length;
  for (;;) {
    let w = Atomics.load(ctl, 0), r = Atomics.load(ctl, 1);
    if (w === r) {
      if (Atomics.load(ctl, 2) === 1 && Atomics.load(ctl, 0) === r) break;
      Atomics.wait(ctl, 0, w, 50);
      continue;
    }
    const len = data[r % size] | (data[(r + 1) % size] << 8) | (data[(r + 2) % size] << 16) | (data[(r + 3) % size] << 24);
    const start = (r + 4) % size;
    let bytes;
    if (start + len <= size) bytes = data.subarray(start, start + len);
    else { bytes = new Uint8Array(len); bytes.set(data.subarray(start)); bytes.set(data.subarray(0, len - (size - start)), size - start); }
    const vals = packr.unpack(bytes);
    n += vals.length; sink += vals.length;
    Atomics.store(ctl, 1, (r + 4 + len) % (size * 1024));
    Atomics.notify(ctl, 1);
  }
  parentPort.postMessage({ done: n });
} else {
  parentPort.on('message', (m) => {
    if (m.end) { parentPort.postMessage({ done: n }); return; }
    const vals = mode === 'clone' ? m.v : packr.unpack(m.b);
    n += vals.length; sink += vals.length;
    parentPort.postMessage({ credit: 1 });
  });
}
`;

interface Result { mode: string; shape: string; wallNs: number; cpuNs: number; bytes: number }

function cpuNow(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

async function runLocal(shape: string): Promise<Result> {
  const packr = new Packr({ useRecords: false });
  const gen = makeRecord[shape]!;
  const c0 = cpuNow();
  const t0 = performance.now();
  let bytes = 0;
  let n = 0;
  for (let i = 0; i < N; i += B) {
    const batch: unknown[] = [];
    for (let j = i; j < Math.min(N, i + B); j++) batch.push(gen(j));
    const packed = new Uint8Array(packr.pack(batch));
    bytes += packed.byteLength + 8 * batch.length;
    n += (packr.unpack(packed) as unknown[]).length;
  }
  if (n !== N) throw new Error('lost records');
  return { mode: 'local', shape, wallNs: ((performance.now() - t0) * 1e6) / N, cpuNs: (cpuNow() - c0) / N, bytes: bytes / N };
}

async function runCrossing(mode: 'transfer' | 'clone' | 'sab', shape: string): Promise<Result> {
  const packr = new Packr({ useRecords: false });
  const gen = makeRecord[shape]!;
  const sab = mode === 'sab' ? new SharedArrayBuffer(16 + RING) : undefined;
  const w = new Worker(consumer, { eval: true, workerData: { mode, sab } });
  await new Promise((r) => setTimeout(r, 100)); // let it start (not timed)
  let credits = INFLIGHT;
  let wake: (() => void) | undefined;
  let doneN = -1;
  let onDone: (() => void) | undefined;
  w.on('message', (m: { credit?: number; done?: number }) => {
    if (m.credit) {
      credits += m.credit;
      wake?.();
    } else if (m.done !== undefined) {
      doneN = m.done;
      onDone?.();
    }
  });
  const c0 = cpuNow();
  const t0 = performance.now();
  let bytes = 0;
  const ctl = sab ? new Int32Array(sab, 0, 4) : undefined;
  const data = sab ? new Uint8Array(sab, 16) : undefined;
  for (let i = 0; i < N; i += B) {
    const batch: unknown[] = [];
    for (let j = i; j < Math.min(N, i + B); j++) batch.push(gen(j));
    if (mode === 'sab') {
      const packed = packr.pack(batch);
      const len = packed.byteLength;
      bytes += len + 4 + 8 * batch.length;
      const size = data!.length;
      for (;;) {
        const wr = Atomics.load(ctl!, 0);
        const rd = Atomics.load(ctl!, 1);
        const used = (wr - rd + size * 1024) % (size * 1024);
        if (used + len + 4 < size) break;
        Atomics.wait(ctl!, 1, rd, 50);
      }
      const wr = Atomics.load(ctl!, 0);
      const hdr = [len & 255, (len >> 8) & 255, (len >> 16) & 255, (len >>> 24) & 255];
      for (let k = 0; k < 4; k++) data![(wr + k) % size] = hdr[k]!;
      const start = (wr + 4) % size;
      if (start + len <= size) data!.set(packed, start);
      else {
        data!.set(packed.subarray(0, size - start), start);
        data!.set(packed.subarray(size - start), 0);
      }
      Atomics.store(ctl!, 0, (wr + 4 + len) % (size * 1024));
      Atomics.notify(ctl!, 0);
      continue;
    }
    while (credits === 0) await new Promise<void>((r) => (wake = r));
    credits--;
    if (mode === 'clone') {
      bytes += 0; // structured clone's size is not observable; see the note in the output
      w.postMessage({ v: batch });
    } else {
      const packed = new Uint8Array(packr.pack(batch));
      const stamps = new Float64Array(batch.length);
      bytes += packed.byteLength + stamps.byteLength;
      w.postMessage({ b: packed, t: stamps }, [packed.buffer, stamps.buffer]);
    }
  }
  const finished = new Promise<void>((r) => (onDone = r));
  if (mode === 'sab') {
    Atomics.store(ctl!, 2, 1);
    Atomics.notify(ctl!, 0);
  } else {
    w.postMessage({ end: true });
  }
  await finished;
  const wallNs = ((performance.now() - t0) * 1e6) / N;
  const cpuNs = (cpuNow() - c0) / N;
  await w.terminate();
  if (doneN !== N) throw new Error(`${mode}: consumer saw ${doneN} of ${N}`);
  return { mode, shape, wallNs, cpuNs, bytes: bytes / N };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const modes = values.modes.split(',');
const all: Result[] = [];
for (const shape of values.shapes.split(',')) {
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const m of r % 2 === 0 ? modes : [...modes].reverse()) {
      all.push(m === 'local' ? await runLocal(shape) : await runCrossing(m as 'transfer' | 'clone' | 'sab', shape));
    }
  }
}
const rows = [...new Set(all.map((x) => `${x.shape}/${x.mode}`))].map((k) => {
  const xs = all.filter((x) => `${x.shape}/${x.mode}` === k);
  return { shape: xs[0]!.shape, mode: xs[0]!.mode, wallNs: median(xs.map((x) => x.wallNs)), cpuNs: median(xs.map((x) => x.cpuNs)), bytes: median(xs.map((x) => x.bytes)) };
});
if (values.json) console.log(JSON.stringify({ benchmark: 'cross-thread', records: N, batch: B, rows }));
else {
  console.log(['record', 'mode', 'wall ns/record', 'cpu ns/record (both threads)', 'bytes/record'].join('\t'));
  for (const r of rows) console.log([r.shape, r.mode, r.wallNs.toFixed(0), r.cpuNs.toFixed(0), r.mode === 'clone' ? 'n/a' : r.bytes.toFixed(1)].join('\t'));
}

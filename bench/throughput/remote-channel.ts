/**
 * The runtime's own cross-thread channel (src/runtime/slots/remote-channel.ts), producer
 * on the main thread, consumer in a worker that drains it as a task does (drain up to
 * --drain elements per turn, then yield): CPU ns per record (both threads, process CPU
 * time), wall ns per record and bytes per record on the wire. With --roots the channel
 * code of several checkouts runs side by side, alternating (e.g. the commit before a
 * change and this one); medians of --rounds.
 *
 *   node --import tsx bench/throughput/remote-channel.ts [--records 2000000] [--shapes number,object] [--roots /old/checkout,.] [--json]
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startModuleWorker } from '../../src/util/module-worker.ts';

const { values } = parseArgs({
  options: {
    records: { type: 'string', default: '2000000' },
    capacity: { type: 'string', default: '2048' },
    drain: { type: 'string', default: '512' },
    rounds: { type: 'string', default: '5' },
    shapes: { type: 'string', default: 'number,object' },
    roots: { type: 'string', default: '.' },
    json: { type: 'boolean', default: false },
    consumer: { type: 'boolean', default: false },
  },
});

const here = fileURLToPath(new URL('../../', import.meta.url));

interface ChannelModule {
  PeerLink: new (port: MessagePort) => {
    producer(index: number, id: string, capacity: number): {
      pushRecord(v: unknown, t: number | undefined): void; hasCapacity(): boolean; waitCapacity(): Promise<void>; flush(): void;
    };
    readonly stats: { bytesSent: number; recordsSent: number };
  };
}

const makeRecord: Record<string, (i: number) => unknown> = {
  number: (i) => (Math.imul(i, 0x9e3779b1) >>> 0) % 100000,
  object: (i) => ({ word: `w${i % 5000}`, count: i & 1023 }),
};

async function load(root: string): Promise<ChannelModule> {
  return (await import(pathToFileURL(resolve(root, 'src/runtime/slots/remote-channel.ts')).href)) as ChannelModule;
}

interface Row { root: string; shape: string; cpuNs: number; wallNs: number; bytes: number }

async function once(root: string, shape: string, n: number): Promise<Row> {
  const mod = await load(root);
  const { port1, port2 } = new MessageChannel();
  const worker = startModuleWorker(new URL(import.meta.url), {
    argv: ['--consumer'], workerData: { root, port: port2, n, capacity: Number(values.capacity), drain: Number(values.drain) }, transferList: [port2],
  });
  await new Promise<void>((res, rej) => {
    worker.once('message', () => res());
    worker.once('error', rej);
  });
  const link = new mod.PeerLink(port1);
  const out = link.producer(0, 'bench', Number(values.capacity));
  const make = makeRecord[shape]!;
  const done = new Promise<void>((res, rej) => {
    worker.once('message', () => res());
    worker.once('error', rej);
  });
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; ) {
    // A task's batch: push while there is capacity (up to 512), then flush, as the task loop does.
    const end = Math.min(n, i + 512);
    for (; i < end && out.hasCapacity(); i++) out.pushRecord(make(i), undefined);
    out.flush();
    if (!out.hasCapacity()) await out.waitCapacity();
  }
  out.flush();
  await done;
  const wall = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  await worker.terminate();
  port1.close();
  return { root, shape, cpuNs: ((cpu.user + cpu.system) * 1000) / n, wallNs: wall / n, bytes: link.stats.bytesSent / n };
}

async function consumer(): Promise<void> {
  const { workerData, parentPort } = await import('node:worker_threads');
  const d = workerData as { root: string; port: MessagePort; n: number; capacity: number; drain: number };
  const mod = (await load(d.root)) as unknown as {
    PeerLink: new (port: MessagePort) => { consumer(index: number, id: string, capacity: number): { setConsumerSignal(s: { notify(): void }): void; drain(sink: (v: unknown) => boolean, max: number): number; size(): number } };
  };
  const link = new mod.PeerLink(d.port);
  const input = link.consumer(0, 'bench', d.capacity);
  let wake: (() => void) | undefined;
  let pending = false;
  input.setConsumerSignal({ notify: () => { pending = true; const w = wake; wake = undefined; w?.(); } });
  parentPort!.postMessage('ready');
  let got = 0;
  let sum = 0;
  const sink = (v: unknown): boolean => {
    got++;
    if (typeof v === 'number') sum += v;
    return true;
  };
  while (got < d.n) {
    if (input.size() > 0) {
      input.drain(sink, d.drain);
      await new Promise((r) => setImmediate(r));
      continue;
    }
    if (!pending) await new Promise<void>((r) => (wake = r));
    pending = false;
  }
  parentPort!.postMessage({ got, sum });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

if (values.consumer) {
  await consumer();
} else {
  const roots = values.roots.split(',').map((r) => resolve(here, r));
  const shapes = values.shapes.split(',');
  const n = Number(values.records);
  const load0 = loadavg()[0]!;
  const rows: Row[] = [];
  for (let r = 0; r < Number(values.rounds); r++) {
    for (const shape of shapes) {
      for (const root of roots) {
        const row = await once(root, shape, n);
        rows.push(row);
        if (!values.json) console.error(`round ${r + 1} ${root} ${shape}: ${row.cpuNs.toFixed(0)} CPU ns/record, ${row.wallNs.toFixed(0)} wall ns/record, ${row.bytes.toFixed(1)} bytes/record`);
      }
    }
  }
  const table = shapes.flatMap((shape) =>
    roots.map((root) => {
      const rs = rows.filter((x) => x.root === root && x.shape === shape);
      return { root, shape, cpuNs: median(rs.map((x) => x.cpuNs)), wallNs: median(rs.map((x) => x.wallNs)), bytes: median(rs.map((x) => x.bytes)), cpuRuns: rs.map((x) => Math.round(x.cpuNs)) };
    }),
  );
  const loadAverage = [load0, loadavg()[0]!];
  if (values.json) console.log(JSON.stringify({ benchmark: 'remote-channel', records: n, loadAverage, rows: table }));
  else {
    console.log(`load average ${loadAverage.map((x) => x.toFixed(1)).join(' → ')}`);
    console.log(['checkout', 'record', 'CPU ns/record (median)', `vs ${roots[0]}`, 'wall ns/record', 'bytes/record', 'CPU runs'].join('\t'));
    for (const t of table) {
      const base = table.find((x) => x.root === roots[0] && x.shape === t.shape)!;
      console.log([t.root, t.shape, t.cpuNs.toFixed(0), `${(t.cpuNs / base.cpuNs).toFixed(2)}x`, t.wallNs.toFixed(0), t.bytes.toFixed(1), t.cpuRuns.join(' ')].join('\t'));
    }
  }
}

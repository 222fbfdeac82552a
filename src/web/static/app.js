// The weir dashboard: preact + htm (no build step), uPlot for charts, all served from
// node_modules by src/web/server.ts. Polls the REST API (docs/rest-api.md) once a second.
// Views: job graph, throughput per operator chain, log source partitions (offsets and
// lag, when the job reads Kafka), failed attempts with the user's file and line,
// checkpoint counts/history/chart, and
// the state view (state-view.js) that draws the seed figure for a live subtask.
/* global document, window, fetch, setTimeout, clearTimeout, ResizeObserver */
import { h, render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import htm from 'htm';
import uPlot from 'uplot';
import { StateView, cpColor } from './state-view.js';

const html = htm.bind(h);
const POLL_MS = 1000;
const THROUGHPUT_POINTS = 180;

export function fmtBytes(n) {
  if (n === undefined || n === null) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
const fmtMs = (n) => (n === undefined || n === null ? '–' : n < 10 ? `${n.toFixed(1)} ms` : `${Math.round(n)} ms`);
const fmtRate = (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : `${Math.round(n)}`);
const fmtTime = (t) => (t ? new Date(t).toLocaleTimeString([], { hour12: false }) : '–');
function fmtUptime(ms) {
  const s = Math.floor(ms / 1000);
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return `${hh > 0 ? `${hh}h ` : ''}${mm}m ${s % 60}s`;
}

async function getJson(path) {
  const r = await fetch(path, { cache: 'no-store' });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

// ---------------------------------------------------------------- job graph
function layout(job) {
  const layer = new Map(job.vertices.map((v) => [v.id, 0]));
  for (let round = 0; round < job.vertices.length; round++) {
    for (const e of job.edges) layer.set(e.to, Math.max(layer.get(e.to), layer.get(e.from) + 1));
  }
  const perLayer = new Map();
  const pos = new Map();
  for (const v of job.vertices) {
    const l = layer.get(v.id);
    const k = perLayer.get(l) ?? 0;
    perLayer.set(l, k + 1);
    pos.set(v.id, { x: 10 + l * 300, y: 10 + k * 96 });
  }
  const width = 10 + (Math.max(...layer.values()) + 1) * 300;
  const height = 20 + Math.max(...perLayer.values()) * 96;
  return { pos, width, height };
}

function JobGraph({ job }) {
  if (!job.vertices.length) return html`<p class="muted">no tasks running</p>`;
  const { pos, width, height } = layout(job);
  const W = 250;
  const H = 78;
  return html`<div class="graph" data-testid="job-graph">
    <svg viewBox="0 0 ${width} ${height}" preserveAspectRatio="xMinYMin meet" style=${`max-height:${height}px`}>
      <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#7d8899" /></marker></defs>
      ${job.edges.map((e) => {
        const a = pos.get(e.from);
        const b = pos.get(e.to);
        const x1 = a.x + W;
        const y1 = a.y + H / 2;
        const x2 = b.x - 2;
        const y2 = b.y + H / 2;
        const mx = (x1 + x2) / 2;
        return html`<g><path class="edge" d=${`M${x1},${y1} C${mx},${y1} ${mx},${y2} ${x2},${y2}`} />
          <text class="elabel" x=${mx} y=${(y1 + y2) / 2 - 5} text-anchor="middle">${e.partitioning.toUpperCase()}${e.sideOutput ? ` (${e.sideOutput})` : ''}</text></g>`;
      })}
      ${job.vertices.map((v) => {
        const p = pos.get(v.id);
        const keyed = v.operators.some((o) => o.keyed);
        return html`<g class="node" data-testid="graph-node" data-name=${v.name}>
          <rect x=${p.x} y=${p.y} width=${W} height=${H} />
          <text x=${p.x + 10} y=${p.y + 18} font-weight="700">${v.name}${keyed ? ' ⛁' : ''}</text>
          <text class="sub" x=${p.x + 10} y=${p.y + 35}>parallelism ${v.parallelism} · ${v.operators.map((o) => o.id).join(', ')}</text>
          <text class="sub" x=${p.x + 10} y=${p.y + 52}>in ${fmtRate(v.recordsInPerSecond)}/s · out ${fmtRate(v.recordsOutPerSecond)}/s</text>
          <text class="sub" x=${p.x + 10} y=${p.y + 69}>backpressure ${Math.round(v.backpressureRatio * 100)}%</text>
        </g>`;
      })}
    </svg></div>`;
}

function Operators({ job, state }) {
  const stateOf = new Map();
  for (const s of state.subtasks) {
    const e = stateOf.get(s.operatorId) ?? { bytes: 0, files: 0, backend: s.backend };
    e.bytes += s.approximateSize ?? 0;
    e.files += s.lsm ? s.lsm.levels.reduce((n, l) => n + l.files.length, 0) : 0;
    stateOf.set(s.operatorId, e);
  }
  return html`<table data-testid="operator-table"><thead><tr><th>operator</th><th class="l">name</th><th>parallelism</th><th class="l">state</th><th>state size</th><th>sstables</th></tr></thead>
    <tbody>${job.vertices.flatMap((v) => v.operators.map((o) => {
      const st = stateOf.get(o.id);
      return html`<tr><td>${o.id}</td><td class="l">${o.name}${o.isSource ? ' (source)' : o.isSink ? ' (sink)' : ''}</td><td>${v.parallelism}</td>
        <td class="l">${o.keyed ? `keyed, ${st?.backend ?? '?'}` : ''}</td><td>${st ? fmtBytes(st.bytes) : ''}</td><td>${st && st.backend === 'lsm' ? st.files : ''}</td></tr>`;
    }))}</tbody></table>`;
}

// ---------------------------------------------------------------- uPlot wrapper
function Plot({ opts, data, testid }) {
  const box = useRef(null);
  const plot = useRef(null);
  const shape = useRef('');
  useEffect(() => {
    const el = box.current;
    const key = opts.series.map((s) => s.label).join('|');
    const width = Math.max(300, el.clientWidth);
    if (!plot.current || shape.current !== key) {
      plot.current?.destroy();
      plot.current = new uPlot({ ...opts, width, height: opts.height ?? 220 }, data, el);
      shape.current = key;
    } else {
      plot.current.setData(data);
    }
  });
  useEffect(() => {
    const el = box.current;
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(300, el.clientWidth), height: opts.height ?? 220 }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  return html`<div class="chart" ref=${box} data-testid=${testid} data-points=${data[0].length}></div>`;
}

// ---------------------------------------------------------------- throughput
function Throughput({ job, series }) {
  const names = job.vertices.map((v) => v.name);
  const data = [series.t, ...names.map((n) => series.byName[n] ?? series.t.map(() => null))];
  const colors = ['#1769aa', '#c0392b', '#2e7d32', '#8e44ad', '#b26a00', '#00838f'];
  const opts = {
    height: 200,
    // At least the last minute: with one point uPlot's own range spans years.
    scales: { x: { time: true, range: (_u, min, max) => (max - min < 60 ? [max - 60, max] : [min, max]) } },
    axes: [{}, { label: 'records/s (in)', size: 60 }],
    legend: { live: false },
    series: [{}, ...names.map((n, i) => ({ label: n, stroke: colors[i % colors.length], width: 1.5 }))],
  };
  return html`<div>
    <${Plot} opts=${opts} data=${data} testid="throughput-chart" />
    ${job.workers && job.workers.length ? html`<table data-testid="workers-table"><thead><tr><th>worker</th><th>thread</th><th>CPU (busy)</th><th>since start</th><th>subtasks</th><th>sent to other workers</th></tr></thead>
    <tbody>${job.workers.map((w) => html`<tr><td>${w.index}</td><td>${w.threadId}${w.alive ? '' : ' (gone)'}</td><td>${Math.round(w.busyRecent * 100)}%</td><td>${Math.round(w.busy * 100)}%</td>
      <td class="l">${w.subtasks.join(', ')}</td><td>${w.recordsSent} records, ${fmtBytes(w.bytesSent)}</td></tr>`)}</tbody></table>` : ''}
    <table data-testid="throughput-table"><thead><tr><th>operator chain</th><th>subtask</th><th>worker</th><th>records in</th><th>records out</th><th>in/s</th><th>out/s</th><th>backpressure</th></tr></thead>
    <tbody>${job.vertices.flatMap((v) => v.subtasks.map((s) => html`<tr>
      <td>${v.name}</td><td>${s.index}</td><td>${s.worker ?? 'main'}</td><td>${s.recordsIn}</td><td>${s.recordsOut}</td><td>${fmtRate(s.recordsInPerSecond)}</td><td>${fmtRate(s.recordsOutPerSecond)}</td>
      <td><span class="bp" title=${`${Math.round(s.backpressureRatio * 100)}%`}><i style=${`width:${Math.round(s.backpressureRatio * 100)}%`}></i></span> ${Math.round(s.backpressureRatio * 100)}%</td></tr>`))}
    </tbody></table></div>`;
}

// ---------------------------------------------------------------- log source partitions
// One row per partition a Kafka source subtask reads (NATS: per stream): next offset, end of
// the log at the reader's last fetch (high watermark; last stable offset for read_committed)
// and the lag.
function Partitions({ parts }) {
  const maxLag = Math.max(1, ...parts.partitions.map((p) => p.lag));
  return html`<table data-testid="partition-table"><thead><tr><th class="l">source</th><th>subtask</th><th class="l">topic</th><th>partition</th><th>offset</th><th>log end</th><th>lag</th><th class="l"></th></tr></thead>
    <tbody>${parts.partitions.map((p) => html`<tr data-testid="partition-row" data-source=${p.source} data-subtask=${p.subtask} data-topic=${p.topic} data-partition=${p.partition}>
      <td class="l">${p.source}</td><td>${p.subtask}</td><td class="l">${p.topic}</td><td>${p.partition}</td>
      <td data-testid="partition-offset">${p.offset}</td><td data-testid="partition-log-end">${p.logEnd}</td><td data-testid="partition-lag">${p.lag}</td>
      <td class="l"><span class="bp" title=${`lag ${p.lag}`}><i style=${`width:${Math.round((p.lag / maxLag) * 100)}%`}></i></span></td></tr>`)}
    </tbody></table>`;
}

// ---------------------------------------------------------------- exceptions
// The failed attempts (GET /api/jobs/:job/exceptions, Flink's exception history), newest
// first: when a function of the job threw, the operator, subtask, function, the user's
// file and line, the error and the record; the user's stack on a click.
function Exceptions({ list }) {
  return html`<table data-testid="exception-table"><thead><tr><th class="l">time</th><th>attempt</th><th class="l">where</th><th class="l">error</th><th class="l">record</th><th class="l">then</th></tr></thead>
    <tbody>${list.map((e) => {
      const f = e.failure;
      const where = f ? `${f.operator}[${f.subtask}] · ${f.fn}` : (e.task ?? '–');
      return html`<tr data-testid="exception-row" data-attempt=${e.attempt}>
        <td class="l">${fmtTime(e.timestamp)}</td><td>${e.attempt}</td>
        <td class="l"><span data-testid="exception-where">${where}</span>${f?.location ? html`<br /><code data-testid="exception-location">${f.location}</code>` : ''}</td>
        <td class="l err" data-testid="exception-error">${f ? f.error : e.reason.split('\n')[0]}
          ${f?.userStack ? html`<details><summary>stack</summary><pre>${f.userStack}</pre></details>` : ''}</td>
        <td class="l"><code data-testid="exception-record">${f?.record ?? ''}</code></td>
        <td class="l">${e.restarting ? 'restarted' : 'job failed'}</td></tr>`;
    })}</tbody></table>`;
}

// ---------------------------------------------------------------- checkpoints
function CheckpointCounts({ cps }) {
  const c = cps.counts;
  const l = cps.latest;
  const items = [
    ['triggered', c.triggered], ['in progress', c.inProgress], ['completed', c.completed], ['failed', c.failed],
    ['latest completed', l.completed ? `#${l.completed.id}` : '–'],
    ['restored from', l.restored ? `#${l.restored.checkpointId}` : '–'],
  ];
  return html`<div class="counts" data-testid="checkpoint-counts">${items.map(([k, v]) => html`<div class="count" data-key=${k}><b>${v}</b><span>${k}</span></div>`)}</div>`;
}

function CheckpointChart({ cps }) {
  const done = cps.history.filter((r) => r.status === 'completed').slice().reverse();
  const data = [done.map((r) => r.id), done.map((r) => r.fullSize / 1024), done.map((r) => r.checkpointedSize / 1024), done.map((r) => r.durationMillis)];
  const opts = {
    height: 230,
    scales: { x: { time: false }, ms: { auto: true } },
    legend: { live: false },
    axes: [{ label: 'checkpoint' }, { label: 'KiB', size: 60 }, { side: 1, scale: 'ms', label: 'ms', size: 60, grid: { show: false } }],
    series: [
      { label: 'checkpoint' },
      { label: 'full size (KiB)', stroke: '#1769aa', width: 2, fill: 'rgba(23,105,170,0.08)' },
      { label: 'checkpointed size (KiB)', stroke: '#2e7d32', width: 2, fill: 'rgba(46,125,50,0.15)' },
      { label: 'duration (ms)', stroke: '#b26a00', width: 1.5, dash: [5, 4], scale: 'ms' },
    ],
  };
  return html`<${Plot} opts=${opts} data=${data} testid="checkpoint-chart" />`;
}

// The phases of a checkpoint in order (docs/rest-api.md "Checkpoint phases"): [key, label, color].
const PHASES = [
  ['startDelayMillis', 'start delay', '#90a4ae'], ['alignmentMillis', 'alignment', '#7e57c2'], ['syncMillis', 'sync', '#ef6c00'],
  ['flushWaitMillis', 'flush wait', '#1769aa'], ['serializeMillis', 'serialize', '#00838f'], ['uploadMillis', 'upload', '#2e7d32'],
  ['ackLatencyMillis', 'ack', '#c62828'], ['finalizeMillis', 'finalize', '#6d4c41'],
];

function PhaseBar({ phases, total }) {
  if (!phases || !total) return html`<span class="muted">–</span>`;
  return html`<span class="phases" data-testid="phase-bar">${PHASES.map(([k, label, color]) => (phases[k] > 0
    ? html`<i style=${`width:${Math.max(1, Math.round((phases[k] / total) * 64))}px;background:${color}`} title=${`${label} ${fmtMs(phases[k])}`}></i>` : ''))}</span>`;
}

/** One checkpoint's phases per operator subtask (GET /api/jobs/:job/checkpoints/:id). */
function CheckpointDetails({ job, id, tick, onClose }) {
  const [d, setD] = useState(undefined);
  useEffect(() => {
    let live = true;
    getJson(`/api/jobs/${encodeURIComponent(job)}/checkpoints/${id}`).then((x) => live && setD(x), () => live && setD(null));
    return () => { live = false; };
  }, [job, id, tick]);
  if (d === undefined) return html`<p class="muted">loading checkpoint ${id}…</p>`;
  if (d === null) return html`<p class="muted">checkpoint ${id} is no longer known</p>`;
  const rows = d.operators.flatMap((o) => o.subtasks.map((s) => ({ ...s, p: s.phases ?? {} })));
  const p = d.phases ?? {};
  return html`<div class="cp-details" data-testid="checkpoint-details" data-id=${d.id}>
    <h3>Checkpoint <span style=${`color:${cpColor(d.id)}`}>${d.id}</span> <small>${d.status.replace('_', ' ')} · ${fmtMs(d.durationMillis)} · slowest ${p.slowest ?? '–'} ·
      finalize ${fmtMs(p.finalizeMillis)} (publish ${fmtMs(p.publishMillis)}, subsume ${fmtMs(p.subsumeMillis)}) · <a href=${`/api/jobs/${encodeURIComponent(job)}/checkpoints/${d.id}`}>json</a> · <a href="#" onClick=${(e) => { e.preventDefault(); onClose(); }}>close</a></small></h3>
    <table><thead><tr><th>operator</th><th>subtask</th><th class="l">phases</th><th>start delay</th><th>alignment</th><th>sync</th><th>flush wait</th><th title="of the flush wait: queued behind other background jobs / encode / write / MANIFEST">queued · encode · write · install</th>
      <th>upload</th><th>uploaded</th><th>files (reused)</th><th>ack</th><th>end to end</th></tr></thead>
    <tbody>${rows.map((s) => html`<tr data-testid="phase-row" data-operator=${s.operatorId} data-subtask=${s.subtaskIndex} data-upload-bytes=${s.p.uploadBytes ?? ''}>
      <td>${s.operatorId}</td><td>${s.subtaskIndex}</td><td class="l"><${PhaseBar} phases=${{ ...s, ...s.p }} total=${d.durationMillis} /></td>
      <td>${fmtMs(s.startDelayMillis)}</td><td>${fmtMs(s.alignmentMillis)}</td><td>${fmtMs(s.syncMillis)}</td><td>${s.phases ? fmtMs(s.p.flushWaitMillis) : '–'}</td>
      <td>${s.phases ? `${fmtMs(s.p.flushQueuedMillis)} · ${fmtMs(s.p.flushEncodeMillis)} · ${fmtMs(s.p.flushWriteMillis)} · ${fmtMs(s.p.flushInstallMillis)}` : '–'}</td>
      <td>${s.phases ? fmtMs(s.p.uploadMillis) : '–'}</td><td>${s.phases ? fmtBytes(s.p.uploadBytes) : '–'}</td><td>${s.phases ? `${s.p.uploadFiles} (${s.p.reusedFiles})` : '–'}</td>
      <td>${fmtMs(s.ackLatencyMillis)}</td><td>${fmtMs(s.endToEndMillis)}</td></tr>`)}</tbody></table></div>`;
}

function CheckpointTable({ cps, job, onSelect }) {
  return html`<table data-testid="checkpoint-table"><thead><tr>
      <th>id</th><th class="l">status</th><th>triggered</th><th>duration</th><th class="l">phases</th><th>sync</th><th>async</th><th>alignment</th><th>full size</th><th>checkpointed</th><th>acks</th><th class="l">retained</th></tr></thead>
    <tbody>${cps.history.slice(0, 15).map((r) => html`<tr class=${r.status} data-testid="checkpoint-row" data-id=${r.id} data-status=${r.status}>
      <td><a href=${`/api/jobs/${encodeURIComponent(job)}/checkpoints/${r.id}`} data-testid="checkpoint-link" title="phases per subtask"
        onClick=${(e) => { e.preventDefault(); onSelect(r.id); }} style=${`color:${cpColor(r.id)};font-weight:700`}>${r.id}</a></td>
      <td class="l" title=${r.failureReason ?? ''}>${r.status.replace('_', ' ')}${r.kind === 'savepoint' ? ' (savepoint)' : ''}</td>
      <td>${fmtTime(r.triggerTime)}</td><td>${fmtMs(r.durationMillis)}</td><td class="l"><${PhaseBar} phases=${r.phases} total=${r.durationMillis} /></td><td>${fmtMs(r.syncMillis)}</td><td>${fmtMs(r.asyncMillis)}</td>
      <td>${fmtMs(r.alignmentMillis)}</td><td data-testid="full-size" data-bytes=${r.fullSize}>${fmtBytes(r.fullSize)}</td>
      <td data-testid="checkpointed-size" data-bytes=${r.checkpointedSize}>${fmtBytes(r.checkpointedSize)}</td>
      <td>${r.ackedSubtasks}/${r.totalSubtasks}</td><td class="l">${r.retained ? '●' : ''}</td></tr>`)}
    </tbody></table>`;
}

// ---------------------------------------------------------------- app
function App() {
  const [jobId, setJobId] = useState(undefined);
  const [data, setData] = useState(undefined);
  const [error, setError] = useState(undefined);
  const [tick, setTick] = useState(0);
  const [selectedCp, setSelectedCp] = useState(undefined);
  const series = useRef({ t: [], byName: {} });
  useEffect(() => {
    let stopped = false;
    let timer;
    async function poll() {
      try {
        let id = jobId;
        if (id === undefined) {
          const jobs = await getJson('/api/jobs');
          id = jobs.jobs[0]?.id;
          if (id !== undefined) setJobId(id);
        }
        if (id !== undefined) {
          const base = `/api/jobs/${encodeURIComponent(id)}`;
          const [job, cps, state, parts, exc] = await Promise.all([getJson(base), getJson(`${base}/checkpoints`), getJson(`${base}/state`), getJson(`${base}/partitions`), getJson(`${base}/exceptions`)]);
          const s = series.current;
          s.t.push(Date.now() / 1000);
          for (const v of job.vertices) {
            const arr = (s.byName[v.name] ??= s.t.slice(0, -1).map(() => null));
            arr.push(v.recordsInPerSecond);
          }
          for (const arr of Object.values(s.byName)) if (arr.length < s.t.length) arr.push(null);
          if (s.t.length > THROUGHPUT_POINTS) {
            s.t.shift();
            for (const arr of Object.values(s.byName)) arr.shift();
          }
          setData({ job, cps, state, parts, exceptions: exc.exceptions });
          setError(undefined);
        }
      } catch (err) {
        setError(String(err.message ?? err));
      }
      if (!stopped) timer = setTimeout(() => setTick((t) => t + 1), POLL_MS);
    }
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [tick]);
  if (!data) return html`<p class="muted">${error ? html`<span class="err">${error}</span>` : 'waiting for the job…'}</p>`;
  const { job, cps, state, parts, exceptions } = data;
  return html`
    <header>
      <h1>weir</h1>
      <span class="kv">job <b data-testid="job-name">${job.name}</b></span>
      <span class=${`badge ${job.status}`} data-testid="job-status">${job.status}</span>
      <span class="kv">uptime <b>${fmtUptime(job.uptimeMillis)}</b></span>
      <span class="kv">parallelism <b>${job.parallelism}</b> (max ${job.maxParallelism})</span>
      <span class="kv">records in <b>${job.recordsIn}</b> · out <b>${job.recordsOut}</b></span>
      <span class="kv">restarts <b>${job.restarts}</b></span>
      <span class="kv">storage <b>${job.checkpointStorage ?? 'none'}</b></span>
      ${error ? html`<span class="err">${error}</span>` : ''}
    </header>
    <main>
      <section><h2>Job graph <small>operator chains; edges say how records are partitioned</small></h2><${JobGraph} job=${job} /><${Operators} job=${job} state=${state} /></section>
      <section><h2>Throughput <small>records in per second, per operator chain</small></h2><${Throughput} job=${job} series=${series.current} /></section>
      ${exceptions.length ? html`<section class="wide" data-testid="exceptions"><h2>Exceptions <small>failed attempts, newest first · ${exceptions.length}</small></h2><${Exceptions} list=${exceptions} /></section>` : ''}
      ${parts.partitions.length ? html`<section class="wide" data-testid="partitions"><h2>Source partitions <small>next offset, end of log and lag per partition · total lag <b data-testid="total-lag">${parts.totalLag}</b></small></h2><${Partitions} parts=${parts} /></section>` : ''}
      <section class="wide"><h2>Checkpoints <small>every ${cps.config.interval ?? '–'} ms · ${cps.config.retained ?? 1} retained</small></h2>
        <${CheckpointCounts} cps=${cps} />
        <div style="display:grid;grid-template-columns:minmax(0,1.7fr) minmax(0,1fr);gap:14px">
          <div style="overflow-x:auto"><${CheckpointTable} cps=${cps} job=${job.id} onSelect=${setSelectedCp} /></div>
          <div><${CheckpointChart} cps=${cps} />
            <p class="legend">Full size: bytes a restore downloads. Checkpointed size: bytes this checkpoint uploaded. With incremental checkpoints the green line stays near the size of one memtable flush while the blue one follows the state.</p></div>
        </div>
        ${selectedCp !== undefined ? html`<${CheckpointDetails} job=${job.id} id=${selectedCp} tick=${tick} onClose=${() => setSelectedCp(undefined)} />`
          : html`<p class="legend">Click a checkpoint id for its phases per subtask: start delay, alignment, sync, wait for the flush, upload, acknowledgement.</p>`}
      </section>
      <section class="wide"><${StateView} state=${state} /></section>
    </main>`;
}

render(html`<${App} />`, document.getElementById('app'));
window.weirDashboard = { fmtBytes };

// The state view: the seed figure (incremental_cp_impl_example.png), drawn live for one
// stateful subtask. One row per completed checkpoint the monitor remembers, oldest
// first; columns: the subtask's local sstables at that checkpoint, the shared state in
// the checkpoint (registry key -> uploaded file; a re-referenced file in parentheses,
// in the colour of the checkpoint that uploaded it), the shared state registry counts
// right after the checkpoint completed, and which checkpoints were retained.
import { h } from 'preact';
import { useState } from 'preact/hooks';
import htm from 'htm';

const html = htm.bind(h);
const ROWS = 6;
const PALETTE = ['#7a8c00', '#c0392b', '#1f77c4', '#b8860b', '#8e44ad', '#00897b', '#d35400', '#5d6d7e'];

export function cpColor(id) {
  return PALETTE[id % PALETTE.length];
}

function kib(n) {
  return n === undefined ? '–' : n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`;
}

/** "count-0-000042-9f1c2a7b.sst" -> "sstable-(42)" as in the figure; falls back to the name. */
function sstLabel(localName) {
  const m = /^0*(\d+)-/.exec(localName);
  return m ? `sstable-(${m[1]})` : localName;
}

function shortPath(path) {
  const i = path.indexOf('/shared/');
  return i >= 0 ? `shared/${path.slice(i + 8)}` : path;
}

function LiveLsm({ sub }) {
  if (!sub.lsm) return html`<p class="muted">${sub.backend ? `${sub.backend} backend (no sstables)` : 'no live backend in this process'}</p>`;
  const levels = sub.lsm.levels.filter((l) => l.files.length > 0);
  return html`<div>
    <div class="levels" data-testid="live-levels">
      <div class="lvl"><h4>memtable</h4><span class="sst" style="background:#53606e">${kib(sub.lsm.memtableBytes)}</span></div>
      ${levels.map((l) => html`<div class="lvl" data-level=${l.level}><h4>L${l.level} · ${l.files.length} files · ${kib(l.bytes)}</h4>
        ${l.files.map((f) => html`<span class="sst" title=${`${f.name} · ${f.entries} entries`} data-file=${f.name}>${sstLabel(f.name)} <small>${kib(f.size)}</small></span>`)}</div>`)}
    </div>
    <p class="legend">flushes ${sub.lsm.flushes} · compactions ${sub.lsm.compactions} · write amplification ${sub.lsm.writeAmplification.toFixed(2)} · block cache hit rate ${(sub.lsm.blockCacheHitRate * 100).toFixed(0)}%</p>
    ${sub.lsm.memory ? html`<p class="legend" data-testid="lsm-memory">memory: memtables ${kib(sub.lsm.memory.memtables)} · block cache ${kib(sub.lsm.memory.blockCache)} · index and filters ${kib(sub.lsm.memory.tableMeta)}</p>` : null}
  </div>`;
}

function Lanes({ rows, row }) {
  // One lane per checkpoint that is retained in any shown row; a segment where it is retained.
  const ids = [...new Set(rows.flatMap((r) => r.retainedAfter))].filter((id) => rows.some((r) => r.checkpointId === id)).sort((a, b) => a - b);
  const r = rows[row];
  return html`<div class="lanes">${ids.map((id) => {
    const here = r.retainedAfter.includes(id);
    const prev = row > 0 && rows[row - 1].retainedAfter.includes(id);
    const next = row + 1 < rows.length && rows[row + 1].retainedAfter.includes(id);
    return html`<div class="lane" title=${`CP ${id} ${here ? 'retained' : ''}`}>
      ${here ? html`<i class=${`${prev ? '' : 'start'} ${next ? '' : 'end'}`} style=${`background:${cpColor(id)}`}></i>` : ''}
      ${here && !prev ? html`<b style=${`color:${cpColor(id)}`}>${id}</b>` : ''}</div>`;
  })}</div>`;
}

export function StateView({ state }) {
  const subs = state.subtasks.filter((s) => s.checkpoints.length > 0 || s.lsm);
  const [sel, setSel] = useState(undefined);
  if (subs.length === 0) return html`<h2>State <small>no stateful subtask yet</small></h2>`;
  const key = (s) => `${s.operatorId}#${s.subtaskIndex}`;
  const sub = subs.find((s) => key(s) === sel) ?? subs[0];
  const rows = sub.checkpoints.slice(-ROWS);
  return html`<div data-testid="state-view" data-subtask=${key(sub)}>
    <h2>State <small>operator ${sub.operatorId}, subtask ${sub.subtaskIndex} (${sub.backend ?? '?'}${sub.restoredFrom !== undefined ? `, restored from #${sub.restoredFrom}` : ''})</small>
      <select data-testid="subtask-select" onChange=${(e) => setSel(e.target.value)} value=${key(sub)}>
        ${subs.map((s) => html`<option value=${key(s)}>${s.operatorId} [${s.subtaskIndex}]</option>`)}
      </select></h2>
    <${LiveLsm} sub=${sub} />
    <div class="state-grid">
      <div class="hd"></div><div class="hd">Local LSM store at the checkpoint<br/>operator ${sub.operatorId}, subtask ${sub.subtaskIndex}</div>
      <div class="hd">Shared state in the checkpoint<br/>(registry key → uploaded file)</div><div class="hd">Shared state registry counts</div><div class="hd">Retained checkpoints</div>
      ${rows.map((r, i) => {
        const c = cpColor(r.checkpointId);
        return html`
          <div class="cpname" style=${`color:${c}`} data-testid="state-row" data-checkpoint=${r.checkpointId} data-retained=${r.retained}>CP ${r.checkpointId}</div>
          <div data-testid="state-local">${r.sharedFiles.map((f) => html`<span class=${`sst${f.reused ? '' : ' new'}`} style=${f.reused ? '' : `color:${c}`} title=${`${f.localName} · ${kib(f.size)}${f.reused ? ' · already uploaded' : ' · new, uploaded by this checkpoint'}`}><span style="color:#fff">${sstLabel(f.localName)}</span></span>`)}
            <div class="legend">${r.mode ?? ''} · full ${kib(r.fullSize)} · uploaded ${kib(r.checkpointedSize)}${r.available ? '' : ' · subsumed'}</div></div>
          <div class="dark" data-testid="state-shared">${r.sharedFiles.map((f) => html`<div style=${`color:${cpColor(f.uploadedBy)}`} data-key=${f.registryKey} data-path=${f.path} data-reused=${f.reused} title=${f.path}>
            ${f.registryKey} -> ${f.reused ? `(${shortPath(f.path)})` : shortPath(f.path)}</div>`)}</div>
          <div class="dark" data-testid="state-registry">${r.registryAfter.map((e) => html`<div class="reg" data-key=${e.key} data-count=${e.refCount} title=${e.path}>${e.key} : ${e.refCount}</div>`)}</div>
          <${Lanes} rows=${rows} row=${i} />`;
      })}
    </div>
    <p class="legend">A file in parentheses is re-referenced: an earlier checkpoint (its colour) uploaded it and this one only points at it. Counts are the registry's right after the checkpoint completed; a file whose count drops to 0 is deleted from storage. Bars on the right: the checkpoints retained after each completion.</p>
  </div>`;
}

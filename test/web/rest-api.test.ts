/**
 * The REST API and /metrics of a real `weir run` (child process, counter job with lsm
 * state, checkpoints every 300 ms, parallelism 2, 2 retained), checked against what the
 * job left in checkpoint storage. A second run resumes from the first one's latest
 * checkpoint and must report the restore.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { JOB, getJson, startCounterJob, waitFor, waitForCheckpoints, type RunningJob } from './helpers.ts';
import { parsePrometheusText, type PromSample } from './prometheus-text.ts';

let job: RunningJob;
let api: string;

before(async () => {
  job = await startCounterJob();
  api = `${job.url}/api/jobs`;
  await waitForCheckpoints(job.url, 4);
});

after(async () => {
  await job?.stop();
});

test('/api/jobs lists the running job', async () => {
  const r = await getJson(api);
  assert.equal(r.jobs.length, 1);
  const j = r.jobs[0];
  assert.equal(j.id, JOB);
  assert.equal(j.status, 'RUNNING');
  assert.ok(j.uptimeMillis > 0);
  assert.ok(j.startTime <= Date.now());
});

test('/api/jobs/:job: status, parallelism, operator chains with per-subtask records, rates and backpressure', async () => {
  const a = await getJson(`${api}/${JOB}`);
  assert.equal(a.status, 'RUNNING');
  assert.equal(a.parallelism, 2);
  assert.equal(a.maxParallelism, 128);
  assert.deepEqual(a.vertices.map((v: any) => v.name), ['numbers', 'process → map → discard']);
  assert.deepEqual(a.vertices[1].operators.map((o: any) => [o.id, o.keyed, o.isSink]), [['count', true, false], ['counts', false, false], ['discard', false, true]]);
  assert.deepEqual(a.edges, [{ from: 0, to: 1, partitioning: 'hash' }]);
  for (const v of a.vertices) {
    assert.equal(v.subtasks.length, 2);
    for (const s of v.subtasks) {
      assert.ok(s.recordsIn > 0, `${v.name}[${s.index}] took records in`);
      for (const k of ['recordsInPerSecond', 'recordsOutPerSecond']) assert.ok(Number.isFinite(s[k]) && s[k] >= 0, k);
      assert.ok(s.backpressureRatio >= 0 && s.backpressureRatio <= 1);
    }
    assert.equal(v.recordsIn, v.subtasks[0].recordsIn + v.subtasks[1].recordsIn);
  }
  await new Promise((r) => setTimeout(r, 1200));
  const b = await getJson(`${api}/${JOB}`);
  // The source's records out are the keyed chain's records in plus those still in the
  // channels, but each worker thread reports its subtasks' counters every 250 ms, so one
  // reading mixes instants (the keyed chain's worker may have reported after the
  // source's). A reading 1.2 s later has the source's counter from after the first
  // reading's keyed one.
  assert.ok(b.vertices[0].recordsOut >= a.vertices[1].recordsIn, `source out ${b.vertices[0].recordsOut} 1.2 s later, keyed in ${a.vertices[1].recordsIn}`);
  assert.ok(b.vertices[1].recordsIn > a.vertices[1].recordsIn, 'records keep flowing');
  assert.ok(b.vertices[0].recordsOutPerSecond > 0, 'the source has a rate once a window has passed');
  assert.ok(b.uptimeMillis > a.uptimeMillis);
});

test('/api/jobs/:job/checkpoints: counts, history with timings and sizes, latest, retained, all consistent with storage', async () => {
  const c = await getJson(`${api}/${JOB}/checkpoints`);
  assert.ok(c.counts.completed >= 4);
  assert.equal(c.counts.failed, 0, JSON.stringify(c.latest.failed));
  assert.ok(c.counts.triggered >= c.counts.completed + c.counts.inProgress);
  assert.equal(c.counts.restored, 0);
  assert.equal(c.latest.restored, undefined);
  assert.deepEqual(c.config, { interval: 300, retained: 2 });
  const completed = c.history.filter((h: any) => h.status === 'completed');
  assert.ok(completed.length >= 4);
  const ids = c.history.map((h: any) => h.id);
  assert.deepEqual(ids, [...ids].sort((x: number, y: number) => y - x), 'newest first');
  for (const h of completed) {
    assert.ok(h.durationMillis >= 0 && h.syncMillis >= 0 && h.asyncMillis >= 0 && h.alignmentMillis >= 0, `timings of ${h.id}`);
    assert.ok(h.fullSize > 0 && h.checkpointedSize > 0 && h.checkpointedSize <= h.fullSize, `sizes of ${h.id}`);
    assert.equal(h.ackedSubtasks, h.totalSubtasks);
    assert.equal(h.totalSubtasks, 8, 'four operators, two subtasks each');
    assert.ok(h.completeTime >= h.triggerTime);
    assert.equal(h.metadataPath, `${JOB}/chk-${h.id}/_metadata`);
  }
  assert.equal(c.latest.completed.id, completed[0].id);
  // retained: the newest completed checkpoints, their _metadata in storage with the same sizes
  assert.ok(c.retained.length >= 1 && c.retained.length <= 2);
  for (const id of c.retained) {
    const file = join(job.dir, 'checkpoints', JOB, `chk-${id}`, '_metadata');
    if (!existsSync(file)) {
      // Subsumed since the read (a newer checkpoint completed meanwhile): then the API must
      // say so now; a retained checkpoint without its _metadata is a defect.
      const now = await getJson(`${api}/${JOB}/checkpoints`);
      assert.ok(!now.retained.includes(id) && now.latest.completed.id > c.latest.completed.id,
        `${file} is missing but checkpoint ${id} is still retained (retained then ${c.retained}, now ${now.retained}):\n${job.stderr().slice(-3000)}`);
      continue;
    }
    const meta = JSON.parse(readFileSync(file, 'utf8'));
    const h = c.history.find((x: any) => x.id === id);
    assert.equal(h.retained, true);
    assert.equal(meta.fullSize, h.fullSize);
    assert.equal(meta.checkpointedSize, h.checkpointedSize);
  }
  // incremental: some completed checkpoint uploaded less than its full size
  assert.ok(completed.some((h: any) => h.checkpointedSize < h.fullSize), 'incremental checkpoints re-reference files');
});

test('/api/jobs/:job/checkpoints/:id: per operator and subtask; sizes add up; 404 and 400', async () => {
  const c = await getJson(`${api}/${JOB}/checkpoints`);
  const id = c.latest.completed.id;
  const d = await getJson(`${api}/${JOB}/checkpoints/${id}`);
  assert.equal(d.id, id);
  assert.equal(d.status, 'completed');
  assert.deepEqual(d.operators.map((o: any) => o.operatorId).sort(), ['count', 'counts', 'discard', 'numbers']);
  const count = d.operators.find((o: any) => o.operatorId === 'count');
  assert.deepEqual(count.subtasks.map((s: any) => s.subtaskIndex), [0, 1]);
  for (const s of count.subtasks) {
    assert.ok(s.fullSize > 0 && s.sharedFiles > 0, 'keyed subtask has sstables');
    assert.equal(s.mode, 'incremental');
    assert.ok(s.syncMillis >= 0 && s.asyncMillis >= 0 && s.alignmentMillis >= 0);
  }
  const sum = d.operators.reduce((n: number, o: any) => n + o.fullSize, 0);
  assert.equal(sum, d.fullSize, 'operators\' full sizes add up to the checkpoint\'s');
  assert.equal(d.operators.reduce((n: number, o: any) => n + o.checkpointedSize, 0), d.checkpointedSize);
  assert.equal((await fetch(`${api}/${JOB}/checkpoints/999999`)).status, 404);
  assert.equal((await fetch(`${api}/${JOB}/checkpoints/abc`)).status, 400);
  assert.equal((await fetch(`${api}/no-such-job`)).status, 404);
  assert.equal((await fetch(`${api}/${JOB}/nothing`)).status, 404);
  assert.equal((await fetch(`${api}`, { method: 'POST' })).status, 405);
});

test('/api/jobs/:job/checkpoints/:id: phases per subtask (start delay, alignment, sync, flush wait, upload, ack) and for the checkpoint', async () => {
  // Checkpoint 1 is left out: it may be triggered before the first record reached a keyed
  // subtask (the source and the keyed chain start on their own worker threads).
  await waitForCheckpoints(job.url, 5);
  const c = await getJson(`${api}/${JOB}/checkpoints`);
  const completed = c.history.filter((h: any) => h.status === 'completed' && h.id > 1);
  assert.ok(completed.length >= 4);
  let withTable = 0;
  for (const h of completed.slice(0, 4)) {
    const d = await getJson(`${api}/${JOB}/checkpoints/${h.id}`);
    const count = d.operators.find((o: any) => o.operatorId === 'count');
    assert.equal(count.subtasks.length, 2);
    let uploaded = 0;
    for (const s of count.subtasks) {
      const p = s.phases;
      assert.ok(p, `phases of count[${s.subtaskIndex}] in checkpoint ${h.id}`);
      // What the backend says it uploaded is what the handle says is new in this checkpoint
      // (new sstables + MANIFEST + meta): never zero, since the private files are always written.
      assert.ok(p.uploadBytes > 0, `upload bytes of count[${s.subtaskIndex}]`);
      assert.equal(p.uploadBytes, s.checkpointedSize, 'upload bytes = the subtask\'s checkpointed size');
      assert.equal(p.uploadFiles + p.reusedFiles, s.sharedFiles + s.privateFiles, 'every file uploaded or reused');
      assert.equal(p.reusedFiles, s.reusedFiles);
      for (const k of ['flushWaitMillis', 'flushQueuedMillis', 'flushEncodeMillis', 'flushWriteMillis', 'flushInstallMillis', 'uploadMillis']) {
        assert.ok(Number.isFinite(p[k]) && p[k] >= 0, `${k} = ${p[k]}`);
      }
      // The counter writes between checkpoints, so every snapshot sealed a memtable and waited for its flush.
      assert.ok(p.flushWriteMillis > 0 && p.flushWaitMillis > 0, `count[${s.subtaskIndex}] of ${h.id} waited for a flush: ${JSON.stringify(p)}`);
      assert.ok(p.flushWaitMillis + p.uploadMillis <= s.syncMillis + s.asyncMillis + 5, 'flush wait and upload are inside the snapshot');
      for (const k of ['startDelayMillis', 'ackLatencyMillis', 'endToEndMillis']) assert.ok(Number.isFinite(s[k]) && s[k] >= 0, `${k} = ${s[k]}`);
      assert.ok(s.endToEndMillis <= d.durationMillis + 1, 'a subtask acknowledged within the checkpoint\'s duration');
      uploaded += p.uploadBytes;
      if (p.uploadFiles > 2) withTable++;
    }
    const p = d.phases;
    assert.equal(p.uploadBytes, uploaded, 'the checkpoint\'s upload bytes are its subtasks\' sum');
    assert.equal(p.uploadBytes, d.checkpointedSize, 'only the keyed operator uploads files');
    assert.ok(p.flushWaitMillis > 0 && p.finalizeMillis >= 0 && p.finalizeMillis <= d.durationMillis);
    assert.match(p.slowest, /^(numbers|count|counts|discard)\[[01]\]$/);
    // The same phases in the history row; its subsumeMillis may still have been 0 then (the
    // subsumption runs after the completion and fills it in when it ends).
    const row = c.history.find((x: any) => x.id === h.id).phases;
    assert.ok(row.subsumeMillis === 0 || row.subsumeMillis === p.subsumeMillis, `subsumeMillis ${row.subsumeMillis} then, ${p.subsumeMillis} now`);
    assert.deepEqual({ ...row, subsumeMillis: p.subsumeMillis }, p, 'the history row carries the same phases');
  }
  assert.ok(withTable > 0, 'some subtask uploaded a new sstable');
});

/** Sends `path` verbatim (fetch() would normalise some of these targets) and returns the status and body. */
function probe(base: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer to ${method} ${path}`)));
    req.once('error', reject);
    req.end();
  });
}

test('bad requests answer 400/404/405 as docs/rest-api.md promises, never 500', async () => {
  const cases: Array<[string, number, string?]> = [
    ['/api/jobs/%ZZ', 400],
    [`/api/jobs/${JOB}/checkpoints/%ZZ`, 400],
    [`/api/jobs/${JOB}/checkpoints/%E0%A4`, 400], // truncated UTF-8 sequence
    [`/api/jobs/${JOB}/checkpoints/%20`, 400], // Number(" ") is 0
    [`/api/jobs/${JOB}/checkpoints/0x10`, 400],
    [`/api/jobs/${JOB}/checkpoints/1e3`, 400],
    [`/api/jobs/${JOB}/checkpoints/Infinity`, 400],
    [`/api/jobs/${JOB}/checkpoints/99999999999999999999`, 400],
    ['/vendor/__proto__', 404],
    ['/vendor/constructor', 404],
    ['/vendor/hasOwnProperty', 404],
    ['/vendor/toString', 404],
    ['/__proto__', 404],
    ['/constructor', 404],
    ['/api/__proto__', 404],
    [`/api/jobs/${JOB}/__proto__`, 404],
    ['//', 400],
    ['/api/jobs', 405, 'DELETE'],
    ['/vendor/__proto__', 405, 'PUT'],
  ];
  const wrong: string[] = [];
  for (const [path, expected, method] of cases) {
    const r = await probe(job.url, path, method);
    if (r.status !== expected) wrong.push(`${method ?? 'GET'} ${path}: ${r.status} ${r.body.slice(0, 160)} (expected ${expected})`);
    else assert.ok(typeof JSON.parse(r.body).error === 'string', `${path}: error body is {"error": "…"}`);
  }
  assert.deepEqual(wrong, []);
  // the server is still fine after all of that
  assert.equal((await getJson(`${api}`)).jobs.length, 1);
});

test('/api/jobs/:job/state: local sstables by level, shared files per retained checkpoint, registry counts = references', async () => {
  const s = await getJson(`${api}/${JOB}/state`);
  const keyed = s.subtasks.filter((x: any) => x.operatorId === 'count');
  assert.deepEqual(keyed.map((x: any) => x.subtaskIndex), [0, 1]);
  const retained = new Set<number>(s.retained);
  // registry count of a path = number of retained checkpoints whose handles reference it
  const refs = new Map<string, number>();
  for (const sub of keyed) {
    assert.equal(sub.backend, 'lsm');
    assert.ok(sub.lsm.levels.length > 0);
    const live = sub.lsm.levels.flatMap((l: any) => l.files);
    for (const f of live) assert.ok(f.size > 0 && typeof f.name === 'string');
    assert.equal(sub.lsm.levels.reduce((n: number, l: any) => n + l.bytes, 0), live.reduce((n: number, f: any) => n + f.size, 0));
    // where the store's memory goes: live tables have an index and a filter in memory
    assert.ok(sub.lsm.memory.tableMeta > 0 && sub.lsm.memory.blockCache >= 0 && sub.lsm.memory.memtables === sub.lsm.memtableBytes, JSON.stringify(sub.lsm.memory));
    assert.ok(sub.checkpoints.length >= 2);
    for (const cp of sub.checkpoints) {
      assert.equal(cp.retained, retained.has(cp.checkpointId));
      for (const f of cp.sharedFiles) {
        assert.equal(f.registryKey, `count-${sub.subtaskIndex}-${f.localName}`, 'registry key = operator-subtask-file, as in the seed');
        assert.ok(f.path.startsWith(`${JOB}/shared/`));
        assert.ok(f.uploadedBy <= cp.checkpointId);
        assert.equal(f.reused, f.uploadedBy !== cp.checkpointId);
      }
      if (!cp.retained) continue;
      for (const f of cp.sharedFiles) {
        refs.set(f.path, (refs.get(f.path) ?? 0) + 1);
        assert.ok(existsSync(join(job.dir, 'checkpoints', f.path)), `${f.path} of retained checkpoint ${cp.checkpointId} is in storage`);
      }
    }
  }
  const registry = new Map<string, number>(s.registry.map((e: any) => [e.path, e.refCount]));
  assert.deepEqual(registry, refs, 'registry counts equal the references of the retained checkpoints');
  for (const e of s.registry) assert.ok(e.refCount >= 1);
});

test('/metrics parses as Prometheus text and its checkpoint counters move', async () => {
  const scrape = async (): Promise<PromSample[]> => {
    const r = await fetch(`${job.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parsePrometheusText(await r.text());
  };
  const value = (samples: PromSample[], name: string, labels: Record<string, string> = {}): number | undefined =>
    samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v))?.value;
  const first = await scrape();
  const c1 = value(first, 'weir_checkpoints_total', { status: 'completed', job: JOB });
  assert.ok(c1 !== undefined && c1 >= 4, `completed counter ${c1}`);
  await waitForCheckpoints(job.url, c1 + 2);
  const second = await scrape();
  assert.ok(value(second, 'weir_checkpoints_total', { status: 'completed' })! >= c1 + 2);
  assert.ok(value(second, 'weir_checkpoint_duration_milliseconds_count')! >= c1 + 2);
  assert.ok(value(second, 'weir_checkpoint_last_full_size_bytes')! > 0);
  assert.ok(value(second, 'weir_checkpointed_bytes_total')! <= value(second, 'weir_checkpoint_full_bytes_total')!);
  assert.ok(value(second, 'weir_checkpoint_sync_duration_milliseconds_count', { operator: 'count', subtask: '0' })! >= 1);
  assert.ok(value(second, 'weir_checkpoint_alignment_milliseconds_count', { operator: 'count', subtask: '1' })! >= 1);
  assert.ok(value(second, 'weir_records_in_total', { vertex: 'numbers', subtask: '0' })! > 0);
  assert.ok(value(second, 'weir_storage_uploaded_bytes_total')! > 0);
  assert.ok(value(second, 'weir_storage_deleted_bytes_total')! > 0, 'subsumed checkpoints were deleted');
  assert.ok(value(second, 'weir_lsm_flush_bytes', { operator: 'count', subtask: '0' })! > 0);
  assert.ok(second.some((x) => x.name === 'weir_lsm_files' && x.labels['level'] === '0'));
  assert.ok(value(second, 'weir_lsm_write_amplification', { operator: 'count', subtask: '0' })! >= 1);
  const hit = value(second, 'weir_lsm_block_cache_hit_ratio', { operator: 'count', subtask: '0' })!;
  assert.ok(hit >= 0 && hit <= 1);
  // Where the store's memory goes: the job has written and flushed tables, so their index
  // and filter are in memory; the memtables figure is the one weir_lsm_memtable_bytes shows.
  for (const subtask of ['0', '1']) {
    const mem = (kind: string) => value(second, 'weir_lsm_memory_bytes', { operator: 'count', subtask, kind });
    assert.ok(mem('table_meta')! > 0, `count[${subtask}] index and filter bytes: ${mem('table_meta')}`);
    assert.ok(mem('block_cache')! >= 0);
    assert.equal(mem('memtables'), value(second, 'weir_lsm_memtable_bytes', { operator: 'count', subtask }));
  }
});

test('logs are JSON lines with job and checkpoint fields (stderr is not a terminal)', () => {
  const lines = job.stderr().split('\n').filter((l) => l.startsWith('{'));
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const completed = parsed.filter((p) => typeof p['msg'] === 'string' && (p['msg']).endsWith('completed') && p['checkpointId'] !== undefined);
  assert.ok(completed.length >= 4, job.stderr());
  for (const p of completed) {
    assert.equal(p['job'], JOB);
    assert.equal(typeof p['fullSize'], 'number');
  }
  assert.ok(!/secretAccessKey|AWS_SECRET/i.test(job.stderr()));
});

test('a resumed run reports where it restored from (REST, metrics, logs)', async () => {
  const c = await getJson(`${api}/${JOB}/checkpoints`);
  assert.ok(c.counts.completed >= 4);
  const code = await job.stop({ keepDir: true });
  assert.equal(code, 0, job.stderr());
  const onDisk = JSON.parse(readFileSync(join(job.dir, 'checkpoints', JOB, 'chk-' + String(Math.max(...readdirIds(job.dir))), '_metadata'), 'utf8'));
  const resumed = await startCounterJob(['--resume', 'latest'], job.dir);
  job = resumed;
  await waitForCheckpoints(resumed.url, 1);
  const r = await getJson(`${resumed.url}/api/jobs/${JOB}/checkpoints`);
  assert.equal(r.counts.restored, 1);
  assert.equal(r.latest.restored.checkpointId, onDisk.checkpointId);
  assert.ok(r.latest.restored.restoreMillis >= 0);
  assert.ok(r.history.every((h: any) => h.id > onDisk.checkpointId), 'ids go on after the restored checkpoint');
  const s = await getJson(`${resumed.url}/api/jobs/${JOB}/state`);
  assert.deepEqual(s.subtasks.filter((x: any) => x.operatorId === 'count').map((x: any) => x.restoredFrom), [onDisk.checkpointId, onDisk.checkpointId]);
  const metrics = parsePrometheusText(await (await fetch(`${resumed.url}/metrics`)).text());
  assert.ok(metrics.some((x) => x.name === 'weir_restore_duration_milliseconds' && x.value >= 0));
  await waitFor(() => resumed.stderr().includes(`restored from checkpoint ${onDisk.checkpointId}`), 10_000, 'the restore log line');
});

function readdirIds(dir: string): number[] {
  const base = join(dir, 'checkpoints', JOB);
  const ids: number[] = [];
  for (const name of readdirSyncSafe(base)) {
    const m = /^chk-(\d+)$/.exec(name);
    if (m && existsSync(join(base, name, '_metadata'))) ids.push(Number(m[1]));
  }
  return ids;
}

function readdirSyncSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

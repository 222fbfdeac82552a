/**
 * One store per directory (issue 9 defect 3, LSM part): dir/LOCK is taken at open and
 * removed at close/abandon; a second open — same process or another — fails with
 * StoreLockedError naming the holder; a LOCK left by a dead process (or a reused pid) is
 * taken over; one written from another host is refused with a hint (src/lsm/dir-lock.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { openLsm, openLsmFromSnapshot, StoreLockedError, LOCK_NAME, type LockHolder } from '../../src/lsm/index.ts';
import { realProcessProbe } from '../../src/lsm/dir-lock.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

function tmp(): string {
  return mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'weir-lsm-lock-'));
}

function lockHolder(dir: string): LockHolder {
  return JSON.parse(readFileSync(join(dir, LOCK_NAME), 'utf8')) as LockHolder;
}

function isLockedBy(pid: number): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof StoreLockedError, `typed: ${String(err)}`);
    assert.equal(err.holder?.pid, pid);
    assert.match(err.message, new RegExp(`locked by pid ${pid} on `));
    return true;
  };
}

/** A child process that opens dir: `try` reports the outcome, `hold` keeps it open until stdin ends, `die` SIGKILLs itself while open. */
function child(mode: 'try' | 'hold' | 'die', dir: string): { done: Promise<{ out: string; code: number | null; signal: string | null }>; opened: Promise<void>; release: () => void; pid: number } {
  const lsm = new URL('../../src/lsm/index.ts', import.meta.url).href;
  const script = `
    import { openLsm } from ${JSON.stringify(lsm)};
    try {
      const db = await openLsm({ dir: ${JSON.stringify(dir)}, useWorker: false });
      process.stdout.write('opened\\n');
      if (${JSON.stringify(mode)} === 'die') process.kill(process.pid, 'SIGKILL');
      if (${JSON.stringify(mode)} === 'hold') {
        process.stdin.resume();
        await new Promise((resolve) => process.stdin.on('end', resolve));
      }
      await db.close();
    } catch (err) {
      process.stdout.write(err.name + ': ' + err.message + '\\n');
    }`;
  const p = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  let openedResolve!: () => void;
  const opened = new Promise<void>((resolve) => (openedResolve = resolve));
  p.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (out.includes('opened')) openedResolve();
  });
  const done = new Promise<{ out: string; code: number | null; signal: string | null }>((resolve) => p.on('exit', (code, signal) => resolve({ out, code, signal })));
  const openedOrEnded = Promise.race([opened, done.then(({ out: o }) => { throw new Error(`child ended before opening: ${o}`); })]);
  openedOrEnded.catch(() => {}); // observed only by callers that wait for the open
  return { done, opened: openedOrEnded, release: () => p.stdin.end(), pid: p.pid! };
}

test('a second open in the same process fails naming the holder; close and abandon release the lock', async () => {
  const root = tmp();
  try {
    const dir = join(root, 'db');
    const a = await openLsm({ dir, useWorker: false });
    a.put(enc('k'), enc('v'));
    assert.equal(lockHolder(dir).pid, process.pid);
    await assert.rejects(openLsm({ dir, useWorker: false }), isLockedBy(process.pid));
    await assert.rejects(openLsmFromSnapshot({ dir, useWorker: false, files: new Map(), manifest: new Uint8Array() }), /corruption|locked/);
    await a.close();
    assert.ok(!existsSync(join(dir, LOCK_NAME)), 'close removed LOCK');
    const b = await openLsm({ dir, useWorker: false });
    assert.equal(dec(b.get(enc('k'))), 'v');
    await b.abandon();
    assert.ok(!existsSync(join(dir, LOCK_NAME)), 'abandon removed LOCK');
    const c = await openLsm({ dir, useWorker: false });
    await c.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('openLsmFromSnapshot into a directory an open store holds fails before touching it', async () => {
  const root = tmp();
  try {
    const src = await openLsm({ dir: join(root, 'src'), useWorker: false });
    src.put(enc('k'), enc('v'));
    const snap = src.snapshot();
    const files = await snap.ready();
    const dir = join(root, 'db');
    const held = await openLsm({ dir, useWorker: false });
    await assert.rejects(openLsmFromSnapshot({ dir, useWorker: false, files: new Map(files.files.map((f) => [f.name, f.path])), manifest: files.manifest }), isLockedBy(process.pid));
    assert.deepEqual(held.liveFiles(), [], 'nothing was linked into the held directory');
    await held.close();
    snap.release();
    await src.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('another process cannot open a held directory, and this one cannot open the other\'s', { timeout: 60_000 }, async () => {
  const root = tmp();
  try {
    const dir = join(root, 'db');
    const mine = await openLsm({ dir, useWorker: false });
    const tried = await child('try', dir).done;
    assert.match(tried.out, new RegExp(`StoreLockedError: LSM store .* is locked by pid ${process.pid} on ${hostname()}`));
    await mine.close();

    const holder = child('hold', dir);
    await holder.opened;
    await assert.rejects(openLsm({ dir, useWorker: false }), isLockedBy(holder.pid));
    holder.release();
    const r = await holder.done;
    assert.equal(r.code, 0, r.out);
    const again = await openLsm({ dir, useWorker: false });
    await again.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a LOCK left by a process that died is taken over', { timeout: 60_000 }, async () => {
  const root = tmp();
  try {
    const dir = join(root, 'db');
    const dead = child('die', dir);
    const r = await dead.done;
    assert.equal(r.signal, 'SIGKILL', 'the child died holding the store');
    assert.equal(lockHolder(dir).pid, dead.pid, 'its LOCK is still there');
    const db = await openLsm({ dir, useWorker: false });
    assert.equal(lockHolder(dir).pid, process.pid);
    await db.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a LOCK of a live pid is refused, unless that pid started at another time (reused); another host is refused with a hint', async () => {
  const root = tmp();
  try {
    const dir = join(root, 'db');
    mkdirSync(dir);
    const parent = process.ppid;
    const start = realProcessProbe.startOf(parent);
    assert.ok(start !== undefined, 'this test needs /proc (Linux)');
    const write = (h: Partial<LockHolder>): void => writeFileSync(join(dir, LOCK_NAME), JSON.stringify({ pid: parent, host: hostname(), procStart: start, thread: 0, since: '2026-01-01T00:00:00.000Z', ...h }));

    write({});
    await assert.rejects(openLsm({ dir, useWorker: false }), isLockedBy(parent));

    write({ procStart: `${start}1` }); // same pid, another process (the pid was reused)
    const db = await openLsm({ dir, useWorker: false });
    assert.equal(lockHolder(dir).pid, process.pid);
    await db.close();

    write({ host: 'elsewhere.example' });
    await assert.rejects(openLsm({ dir, useWorker: false }), (err: unknown) => {
      assert.ok(err instanceof StoreLockedError);
      assert.match(err.message, /on elsewhere\.example .*another host; if that process is gone, delete .*LOCK/);
      return true;
    });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

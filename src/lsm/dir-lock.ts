/**
 * One store per directory: the LOCK file (as Pebble and RocksDB take one). A second
 * open of a directory — from this process, another thread, or another process — fails
 * with StoreLockedError naming the holder, until the holder closes (or abandons) its store.
 *
 * Node has no flock/fcntl, so the lock is the file's existence plus who wrote it:
 *
 *   LOCK = {"pid":…,"host":…,"procStart":…,"thread":…,"since":…}   (JSON, one line)
 *
 * Taking it: write the record to a unique temp file, then link() it to LOCK — atomic,
 * and it fails with EEXIST if LOCK exists, so a LOCK is never seen half-written.
 * Releasing it: close()/abandon() removes LOCK. A process that dies (SIGKILL, crash)
 * leaves its LOCK behind; the next open decides whether it is stale:
 *
 *  - another host: cannot be checked — refused, and the message says to delete LOCK if
 *    that process is gone (directories on shared file systems are not a weir use case);
 *  - this process and thread: stale unless a store of this thread holds it (registry);
 *  - this process, another thread: refused (a thread cannot see another's stores);
 *  - another process on this host: stale if the pid is not running, or if it is running
 *    but started at another time than the holder (Linux /proc/<pid>/stat start time:
 *    the pid was reused, common in containers). Otherwise refused.
 *
 * A stale LOCK is taken over by renaming it away, checking that the renamed file is the
 * record that was judged stale (if another opener took the lock in between, its record
 * is put back and the open fails), and linking a fresh record.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { threadId } from 'node:worker_threads';
import { ConfigError } from '../util/errors.ts';
import { equalBytes } from '../util/bytes.ts';
import type { Clock } from '../util/clock.ts';
import { isExists, isNotFound, type Vfs } from './vfs/vfs.ts';

export const LOCK_NAME = 'LOCK';

export interface LockHolder {
  pid: number;
  host: string;
  /** Process start time as the OS reports it (Linux: /proc/<pid>/stat field 22), if known. */
  procStart?: string;
  /** Worker thread id inside the process (0 = main thread). */
  thread: number;
  /** ISO time the lock was taken. */
  since: string;
}

/** What the lock needs to know about processes (injectable for tests). */
export interface ProcessProbe {
  readonly pid: number;
  readonly host: string;
  readonly thread: number;
  /** Start time of a running process, or undefined if unknown (not Linux, not running). */
  startOf(pid: number): string | undefined;
  /** True if a process with this pid exists (it may belong to another user). */
  alive(pid: number): boolean;
}

export const realProcessProbe: ProcessProbe = {
  pid: process.pid,
  host: hostname(),
  thread: threadId,
  startOf(pid) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      // Fields after "(comm)" start at field 3; the start time is field 22.
      return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
    } catch {
      return undefined;
    }
  },
  alive(pid) {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as { code?: string }).code === 'EPERM';
    }
  },
};

export class StoreLockedError extends ConfigError {
  readonly dir: string;
  readonly holder: LockHolder | undefined;
  constructor(dir: string, holder: LockHolder | undefined, detail: string) {
    const who = holder === undefined ? 'another opener' : `pid ${holder.pid} on ${holder.host}${holder.thread !== 0 ? ` (thread ${holder.thread})` : ''} since ${holder.since}`;
    super(`LSM store ${dir} is locked by ${who}: ${detail}`);
    this.dir = dir;
    this.holder = holder;
  }
}

/** Directories locked by stores of this thread (absolute path → holder). */
const held = new Map<string, LockHolder>();

export interface DirLock {
  readonly path: string;
  /** Removes LOCK (idempotent). Call after the store's last write. */
  release(): void;
}

function parseHolder(bytes: Uint8Array): LockHolder | undefined {
  try {
    const h = JSON.parse(Buffer.from(bytes).toString('utf8')) as Partial<LockHolder>;
    if (typeof h.pid !== 'number' || typeof h.host !== 'string' || typeof h.thread !== 'number' || typeof h.since !== 'string') return undefined;
    return { pid: h.pid, host: h.host, thread: h.thread, since: h.since, ...(typeof h.procStart === 'string' ? { procStart: h.procStart } : {}) };
  } catch {
    return undefined;
  }
}

type Verdict = { live: true; detail: string } | { live: false };

function judge(h: LockHolder | undefined, me: LockHolder, key: string, probe: ProcessProbe): Verdict {
  if (h === undefined) return { live: false }; // not a record weir writes (a LOCK is never seen half-written)
  if (h.host !== me.host) return { live: true, detail: `held from another host; if that process is gone, delete ${join(key, LOCK_NAME)}` };
  if (h.pid === me.pid && h.procStart === me.procStart) {
    if (h.thread !== me.thread) return { live: true, detail: 'another thread of this process has the store open' };
    return held.has(key) ? { live: true, detail: 'this process already has the store open' } : { live: false };
  }
  if (!probe.alive(h.pid)) return { live: false };
  const start = probe.startOf(h.pid);
  if (h.procStart !== undefined && start !== undefined && start !== h.procStart) return { live: false }; // pid reused
  return { live: true, detail: 'that process is running; stop it or use another directory' };
}

/**
 * Takes dir/LOCK or throws StoreLockedError. `dir` must exist. Stale locks (see the
 * file comment) are taken over.
 */
export function acquireDirLock(dir: string, fs: Vfs, clock: Clock, probe: ProcessProbe = realProcessProbe): DirLock {
  const key = resolve(dir);
  const path = join(dir, LOCK_NAME);
  const procStart = probe.startOf(probe.pid);
  const me: LockHolder = { pid: probe.pid, host: probe.host, ...(procStart === undefined ? {} : { procStart }), thread: probe.thread, since: new Date(clock.now()).toISOString() };
  const mine = held.get(key);
  if (mine !== undefined) throw new StoreLockedError(dir, mine, 'this process already has the store open');
  const record = Buffer.from(`${JSON.stringify(me)}\n`, 'utf8');
  const unique = `${probe.pid}-${probe.thread}-${Math.floor(clock.monotonic() * 1000)}`;
  const tmp = join(dir, `${LOCK_NAME}.${unique}.tmp`);
  const f = fs.create(tmp);
  try {
    f.write(record);
    f.sync();
  } finally {
    f.close();
  }
  try {
    // Bounded: at most 3 rounds (each either takes the lock, fails, or removes one stale LOCK).
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.link(tmp, path);
        fs.syncDir(dir);
        held.set(key, me);
        let released = false;
        return {
          path,
          release: () => {
            if (released) return;
            released = true;
            held.delete(key);
            try {
              fs.remove(path);
            } catch (err) {
              if (!isNotFound(err)) throw err;
            }
          },
        };
      } catch (err) {
        if (isNotFound(err)) throw new StoreLockedError(dir, undefined, 'another opener removed our lock record (it opened the store at the same moment)');
        if (!isExists(err)) throw err;
      }
      const seen = fs.readFile(path);
      if (seen === undefined) continue; // released meanwhile
      const holder = parseHolder(seen);
      const verdict = judge(holder, me, key, probe);
      if (verdict.live) throw new StoreLockedError(dir, holder, verdict.detail);
      // Stale: move it away, and make sure what we moved is what we judged.
      const moved = join(dir, `${LOCK_NAME}.stale-${unique}-${attempt}.tmp`);
      try {
        fs.rename(path, moved);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      const movedBytes = fs.readFile(moved);
      if (movedBytes !== undefined && !equalBytes(movedBytes, seen)) {
        // Another opener took the lock between our read and our rename: give it back.
        try {
          fs.link(moved, path);
        } catch { /* it re-took it already */ }
        fs.remove(moved);
        throw new StoreLockedError(dir, parseHolder(movedBytes), 'another process took the lock at the same moment');
      }
      fs.remove(moved);
    }
    throw new StoreLockedError(dir, undefined, 'could not take the lock after 3 attempts');
  } finally {
    try {
      fs.remove(tmp);
    } catch { /* best effort: a leftover *.tmp is removed by the next open */ }
  }
}

/**
 * Real crashes, not injected faults: a child process overwriting an object is killed
 * with SIGKILL in the middle of a write. Afterwards the object must be absent or one of
 * the complete versions — never a prefix, never a mix — and list() must show nothing else.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CheckpointStorage } from '../../src/storage/checkpoint-storage.ts';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { S3Storage } from '../../src/storage/s3-storage.ts';
import { crc32c, crc32cHex } from '../../src/util/crc32c.ts';
import { startS3Server } from '../support/s3-server.ts';
import type { S3TestServer } from '../support/s3-server.ts';
import { testBytes } from './contract.ts';

const WRITER = fileURLToPath(new URL('./crash-writer.ts', import.meta.url));
const SIZE = 12 * 1024 * 1024 + 7; // above the 5 MiB part size: S3 uses multipart
let dir: string;
let files: [string, string];
let sums: Set<string>;
let server: S3TestServer;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weir-crash-'));
  const a = testBytes(SIZE, 1);
  const b = testBytes(SIZE, 2);
  files = [join(dir, 'a'), join(dir, 'b')];
  await writeFile(files[0], a);
  await writeFile(files[1], b);
  sums = new Set([crc32cHex(crc32c(a)), crc32cHex(crc32c(b))]);
  server = await startS3Server();
});
after(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Runs the writer until it prints `killAt`, then SIGKILLs it. */
async function crashWriter(env: Record<string, string>, killAt: string): Promise<string[]> {
  const child = spawn(process.execPath, ['--import', 'tsx', WRITER], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env, WEIR_CRASH_FILES: files.join(':') },
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    if (stderr.length < 5000) stderr += d.toString();
  });
  const lines: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for await (const line of createInterface({ input: child.stdout })) {
    lines.push(line);
    if (line === killAt) {
      child.kill('SIGKILL');
      break;
    }
  }
  await exited;
  assert.ok(lines.includes(killAt), `writer died early:\n${lines.join('\n')}\n${stderr}`);
  return lines;
}

async function assertWholeVersion(storage: CheckpointStorage, outFile: string, versions = sums): Promise<void> {
  const listed = await storage.list('');
  assert.deepEqual(listed.map((o) => o.path), ['job/obj'], 'only the object, no temp or partial files');
  assert.equal(listed[0]!.size, SIZE);
  const data = await storage.read('job/obj');
  assert.ok(versions.has(crc32cHex(crc32c(data))), 'the object is a complete expected version');
  await storage.readToFile('job/obj', outFile, { size: SIZE });
}

test('local: SIGKILL at random points of repeated overwrites leaves a complete old or new version', async () => {
  for (const killAt of ['start 3', 'start 4']) {
    const root = join(dir, `local-${killAt}`.replace(' ', '-'));
    await crashWriter({ WEIR_CRASH_KIND: 'local', WEIR_CRASH_ROOT: root }, killAt);
    const storage = new LocalStorage({ root });
    await assertWholeVersion(storage, join(dir, 'out-local'));
    await storage.sweepTempFiles();
    await assertWholeVersion(storage, join(dir, 'out-local'));
  }
});

test('local: SIGKILL with half of the new version written: the old version, and one orphaned temp file to sweep', async () => {
  const root = join(dir, 'local-pause');
  await crashWriter({ WEIR_CRASH_KIND: 'local', WEIR_CRASH_ROOT: root, WEIR_CRASH_MODE: 'pause' }, 'mid');
  const storage = new LocalStorage({ root });
  await assertWholeVersion(storage, join(dir, 'out-pause'), new Set([first(sums)]));
  assert.equal(await storage.sweepTempFiles(), 1, 'the half-written temp file was on disk');
  await assertWholeVersion(storage, join(dir, 'out-pause'), new Set([first(sums)]));
});

test('s3: SIGKILL during multipart overwrites (random point, and half way through) leaves a complete version', async () => {
  const s3 = { WEIR_CRASH_KIND: 's3', WEIR_CRASH_ENDPOINT: server.endpoint, WEIR_CRASH_BUCKET: server.bucket };
  const storage = new S3Storage({
    bucket: server.bucket,
    prefix: 'crash',
    endpoint: server.endpoint,
    credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
  });
  try {
    await crashWriter(s3, 'start 3');
    await assertWholeVersion(storage, join(dir, 'out-s3'));
    await crashWriter({ ...s3, WEIR_CRASH_MODE: 'pause' }, 'mid');
    await assertWholeVersion(storage, join(dir, 'out-s3'), new Set([first(sums)]));
  } finally {
    await storage.close();
  }
});

function first(set: Set<string>): string {
  const [v] = set;
  assert.ok(v !== undefined);
  return v;
}

/**
 * Child process for crash.test.ts, killed by the test with SIGKILL. Two modes
 * (WEIR_CRASH_MODE):
 *  - loop: overwrite one object again and again, alternating two local files, printing
 *    "start N" before and "done N" after each write (the kill lands wherever it lands);
 *  - pause: write version A, then stream version B, print "mid" after half of B has been
 *    handed to the storage, and wait there forever (the kill lands mid-write, always).
 * Env: WEIR_CRASH_KIND (local | s3), WEIR_CRASH_ROOT, WEIR_CRASH_FILES (two paths joined
 * by ':'), WEIR_CRASH_PATH (the object, default job/obj), and for s3
 * WEIR_CRASH_ENDPOINT / WEIR_CRASH_BUCKET.
 */
import { readFile } from 'node:fs/promises';
import { LocalStorage } from '../../src/storage/local-storage.ts';
import { S3Storage } from '../../src/storage/s3-storage.ts';

const env = process.env;
const files = (env.WEIR_CRASH_FILES ?? '').split(':');
const path = env.WEIR_CRASH_PATH ?? 'job/obj';
const storage =
  env.WEIR_CRASH_KIND === 's3'
    ? new S3Storage({
        bucket: env.WEIR_CRASH_BUCKET ?? '',
        prefix: 'crash',
        endpoint: env.WEIR_CRASH_ENDPOINT ?? '',
        credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
        partSize: 5 * 1024 * 1024,
      })
    : new LocalStorage({ root: env.WEIR_CRASH_ROOT ?? '' });

if (env.WEIR_CRASH_MODE === 'pause') {
  await storage.writeFile(path, files[0]!);
  const b = await readFile(files[1]!);
  const half = Math.floor(b.length / 2);
  async function* halfThenWait(): AsyncGenerator<Uint8Array> {
    for (let off = 0; off < half; off += 1024 * 1024) yield b.subarray(off, Math.min(half, off + 1024 * 1024));
    // Give the storage time to push what it has (S3: the first part) before saying so.
    await new Promise((resolve) => setTimeout(resolve, 300));
    process.stdout.write('mid\n');
    await new Promise(() => undefined);
  }
  setInterval(() => undefined, 60_000); // stay alive until killed
  await storage.writeStream(path, halfThenWait());
} else {
  for (let n = 0; n < 10_000; n++) {
    process.stdout.write(`start ${n}\n`);
    await storage.writeFile(path, files[n % 2]!);
    process.stdout.write(`done ${n}\n`);
  }
}

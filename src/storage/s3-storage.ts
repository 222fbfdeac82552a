/**
 * CheckpointStorage on S3 or any S3-compatible store (MinIO, s3rver, R2…), with the AWS
 * SDK v3.
 *
 * Object "job/chk-3/_metadata" is key "<prefix>/job/chk-3/_metadata" in the bucket.
 * Publication is atomic by S3's own semantics: a PutObject or a *completed* multipart
 * upload becomes visible whole; a failed multipart upload is aborted and never visible.
 *
 * Multipart (objects above `partSize`): our own small uploader (s3-multipart.ts) rather
 * than lib-storage's Upload, for two reasons found in testing: Upload sends each part
 * once, so with retries in our hands one failed part restarted the whole upload; and
 * when its AbortMultipartUpload fails (s3rver answers 405), Upload throws the abort's
 * error instead of the real one, turning a retryable 500 into a permanent failure.
 * Here each part (and the create/complete calls) is retried on its own, at most
 * `queueSize` parts are in flight (memory: queueSize × partSize), and the abort is
 * best effort.
 *
 * Retries: the SDK's own retries are off (maxAttempts: 1 on the client). Every operation
 * is retried here on transient failures (5xx, 429/SlowDown/throttling, timeouts,
 * connection reset/refused) with exponential backoff and jitter, slept on the injected
 * Clock, up to `maxAttempts`; then TransientStorageError. Permanent failures (403 bad
 * credentials / access denied, NoSuchBucket, anything unrecognised) fail at once with a
 * PermanentStorageError; a missing object on read is a NotFoundError. Messages name the
 * operation and the s3:// object and never contain credentials.
 *
 * Checksums: `requestChecksumCalculation`/`responseChecksumValidation` are
 * 'WHEN_REQUIRED' (otherwise streamed bodies are sent aws-chunked, which s3rver and some
 * other S3-compatible stores store verbatim = corrupted). Our own CRC-32C is computed
 * while uploading and SENT with every PutObject and UploadPart (x-amz-checksum-crc32c),
 * so a store that validates it rejects a body corrupted on the way; the answer is
 * checked where the store does not validate (echoed checksum, else MD5 ETag): see
 * s3-integrity.ts for exactly what is verified where. Downloads are verified by size and
 * CRC-32C on readToFile when the caller passes the expectation (restore always does).
 *
 * Loading: the SDK is imported on the first operation, not with this module, so code
 * that only names S3Storage (createStorage, `weir checkpoints list <dir>`) starts
 * without it (~0.17 s of CPU; test/cli/fast-start.test.ts checks it is never loaded).
 */
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
// Types only: the SDK itself is imported on first use (loadSdk), so that code which never
// touches S3 (`weir checkpoints list <dir>`, jobs with local checkpoints) does not load it.
import type { CompletedPart, S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import type * as S3Sdk from '@aws-sdk/client-s3';
import { assert } from '../util/assert.ts';
import type { Clock } from '../util/clock.ts';
import { systemClock } from '../util/clock.ts';
import { crc32c, crc32cHex } from '../util/crc32c.ts';
import {
  ConfigError,
  CorruptionError,
  NotFoundError,
  AlreadyExistsError,
  PermanentStorageError,
  TransientStorageError,
  WeirError,
} from '../util/errors.ts';
import type { CheckpointStorage, ObjectInfo, WriteResult } from './checkpoint-storage.ts';
import { checkLocalSource, fileChunks, writeFileAtomically } from './local-files.ts';
import type { Expectation } from './local-files.ts';
import { comparePaths, validateDeletePrefix, validatePath, validatePrefix } from './paths.ts';
import type { StreamingWrite } from './streaming-write.ts';
import { UploadCorrupted, checkUploadAnswer, compositeCrc32cBase64, crc32cBase64 } from './s3-integrity.ts';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface S3StorageOptions {
  bucket: string;
  /** Key prefix inside the bucket ("" or "team/weir"); leading/trailing '/' ignored. */
  prefix?: string;
  /** e.g. "http://127.0.0.1:9000" for MinIO/s3rver; default: AWS. */
  endpoint?: string;
  /** Default "us-east-1". */
  region?: string;
  /** Default: the SDK's provider chain (env, ~/.aws, instance role). */
  credentials?: S3Credentials;
  /** Path-style URLs (bucket in the path); needed by most S3-compatible stores. Default: true if endpoint is set. */
  forcePathStyle?: boolean;
  /** Multipart part size and threshold, bytes (S3 minimum 5 MiB). Default 8 MiB. */
  partSize?: number;
  /** Parts uploaded in parallel per multipart upload. Default 4. */
  queueSize?: number;
  /** Attempts per operation, including the first. Default 5. */
  maxAttempts?: number;
  /** First backoff delay; doubles per attempt up to maxDelayMs, with jitter. Default 100 / 10_000. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** No response headers, or no body bytes, for this long → TimeoutError (transient, retried). Default 120_000. */
  requestTimeoutMs?: number;
  /** Connection timeout. Default 10_000. */
  connectionTimeoutMs?: number;
  /** Keys per ListObjectsV2 page (1..1000). Default 1000. */
  listPageSize?: number;
  /** Keys per DeleteObjects request (1..1000). Default 1000. */
  deleteBatchSize?: number;
  clock?: Clock;
  /**
   * Check an upload's ETag against the MD5 of the bytes sent when the store does not echo
   * the CRC-32C (s3-integrity.ts). Default true. Turn off only for a store that ignores
   * x-amz-checksum-crc32c AND whose ETags are not MD5s (SSE-KMS/SSE-C on a non-AWS store).
   */
  verifyEtagMd5?: boolean;
  /** Uniform [0, 1) for backoff jitter. Default Math.random. */
  random?: () => number;
  /** Called before each backoff sleep (for logs and metrics). */
  onRetry?: (info: RetryInfo) => void;
}

export interface RetryInfo {
  op: string;
  path: string;
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  error: unknown;
}

export interface S3StorageStats {
  /** Requests attempted (first tries and retries). */
  attempts: number;
  /** Retries after a transient failure. */
  retries: number;
  /** Upload answers that showed a corrupted body (then sent again). */
  corruptedUploads: number;
  /** Upload requests (PutObject, UploadPart) verified by echoed checksum, by MD5 ETag, or not at all. */
  verifiedByChecksum: number;
  verifiedByEtag: number;
  unverified: number;
}

const MIN_PART_SIZE = 5 * 1024 * 1024;

const TRANSIENT_NAMES = new Set([
  'SlowDown', 'Throttling', 'ThrottlingException', 'ThrottledException', 'RequestThrottled',
  'TooManyRequestsException', 'ProvisionedThroughputExceededException', 'RequestLimitExceeded',
  'RequestTimeout', 'RequestTimeoutException', 'TimeoutError', 'InternalError', 'ServiceUnavailable',
  'ServiceUnavailableException', 'BandwidthLimitExceeded', 'PriorRequestNotComplete', 'NetworkingError',
  'OperationAborted',
  // A body that reached the store corrupted: the store's own check (BadDigest,
  // XAmzContentChecksumMismatch) or ours (UploadCorrupted). Sending it again from the
  // in-memory buffer is the remedy.
  'BadDigest', 'XAmzContentChecksumMismatch', 'UploadCorrupted',
]);
const TRANSIENT_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'EHOSTUNREACH',
  'ENETUNREACH', 'ENETDOWN', 'EHOSTDOWN', 'ERR_STREAM_PREMATURE_CLOSE', 'UND_ERR_SOCKET',
]);
const AUTH_NAMES = new Set([
  'AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken',
  'TokenRefreshRequired', 'AllAccessDisabled', 'CredentialsProviderError',
]);

type Failure =
  | { kind: 'transient' }
  | { kind: 'not-found' }
  | { kind: 'no-bucket' }
  | { kind: 'auth' }
  | { kind: 'permanent' };

interface AwsLikeError {
  name?: string;
  code?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  cause?: unknown;
}

/** Sorts an S3 SDK / network error into what the caller can do about it. */
export function classifyS3Error(err: unknown): Failure {
  if (err instanceof WeirError) return { kind: 'permanent' };
  const e = (err ?? {}) as AwsLikeError;
  const name = e.name ?? e.Code ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (name === 'NoSuchBucket') return { kind: 'no-bucket' };
  // A multipart upload that vanished (aborted elsewhere, lifecycle rule): not a missing object.
  if (name === 'NoSuchUpload') return { kind: 'permanent' };
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) return { kind: 'not-found' };
  if (AUTH_NAMES.has(name) || status === 403 || status === 401) return { kind: 'auth' };
  if (TRANSIENT_NAMES.has(name) || (status !== undefined && (status >= 500 || status === 429))) return { kind: 'transient' };
  if (e.$retryable) return { kind: 'transient' };
  const code = e.code ?? (e.cause as AwsLikeError | undefined)?.code;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return { kind: 'transient' };
  if (/socket hang up|ECONNRESET|premature close|aborted/i.test(e.message ?? '')) return { kind: 'transient' };
  return { kind: 'permanent' };
}

type Sdk = typeof S3Sdk;
let sdkModule: Promise<Sdk> | undefined;

/** Imports the AWS SDK once per thread, when the first S3Storage needs its client. */
function loadSdk(): Promise<Sdk> {
  return (sdkModule ??= import('@aws-sdk/client-s3'));
}

export class S3Storage implements CheckpointStorage, StreamingWrite {
  readonly uri: string;
  readonly bucket: string;
  /** "" or "a/b/" — always ends with '/' when non-empty. */
  readonly keyPrefix: string;
  /** Settings of the SDK client, made on first use (the SDK is loaded then). */
  private readonly clientConfig: S3ClientConfig;
  private client: Promise<{ client: S3Client; sdk: Sdk }> | undefined;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly listPageSize: number;
  private readonly deleteBatchSize: number;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;
  private readonly secrets: string[];
  private readonly where: string;
  private readonly counts: S3StorageStats = { attempts: 0, retries: 0, corruptedUploads: 0, verifiedByChecksum: 0, verifiedByEtag: 0, unverified: 0 };
  private readonly verifyEtagMd5: boolean;
  private closed = false;

  constructor(options: S3StorageOptions) {
    if (!options.bucket || !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(options.bucket)) {
      throw new ConfigError(`invalid S3 bucket name ${JSON.stringify(options.bucket)}`);
    }
    this.bucket = options.bucket;
    const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
    if (prefix !== '') validatePath(prefix);
    this.keyPrefix = prefix === '' ? '' : `${prefix}/`;
    this.uri = `s3://${this.bucket}${prefix === '' ? '' : `/${prefix}`}`;

    this.partSize = options.partSize ?? 8 * 1024 * 1024;
    if (this.partSize < MIN_PART_SIZE) throw new ConfigError(`S3 partSize must be >= ${MIN_PART_SIZE} bytes (S3's minimum part size)`);
    this.queueSize = options.queueSize ?? 4;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    this.listPageSize = options.listPageSize ?? 1000;
    this.deleteBatchSize = options.deleteBatchSize ?? 1000;
    assert(Number.isInteger(this.maxAttempts) && this.maxAttempts >= 1, 'maxAttempts must be an integer >= 1');
    assert(this.queueSize >= 1, 'queueSize must be >= 1');
    if (!(this.listPageSize >= 1 && this.listPageSize <= 1000)) throw new ConfigError('listPageSize must be within 1..1000');
    if (!(this.deleteBatchSize >= 1 && this.deleteBatchSize <= 1000)) throw new ConfigError('deleteBatchSize must be within 1..1000');
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
    this.verifyEtagMd5 = options.verifyEtagMd5 ?? true;
    this.secrets = [options.credentials?.secretAccessKey, options.credentials?.sessionToken, options.credentials?.accessKeyId]
      .filter((s): s is string => typeof s === 'string' && s.length >= 4);

    let endpoint: string | undefined;
    if (options.endpoint !== undefined) {
      let url: URL;
      try {
        url = new URL(options.endpoint);
      } catch (err) {
        throw new ConfigError(`invalid S3 endpoint ${JSON.stringify(options.endpoint)}`, { cause: err });
      }
      if (url.username || url.password) throw new ConfigError('S3 endpoint must not contain credentials; pass them as options or AWS_* env');
      endpoint = url.href.replace(/\/$/, '');
    }
    this.where = endpoint ? ` at ${endpoint}` : '';

    this.clientConfig = {
      region: options.region ?? 'us-east-1',
      ...(endpoint ? { endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      forcePathStyle: options.forcePathStyle ?? endpoint !== undefined,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // Without throwOnRequestTimeout the SDK only *warns* when requestTimeout passes and
      // a request to a hung server waits forever (found by the 'hang' retry test).
      // socketTimeout covers a response body that stalls after the headers arrived.
      requestHandler: {
        requestTimeout: options.requestTimeoutMs ?? 120_000,
        throwOnRequestTimeout: true,
        socketTimeout: options.requestTimeoutMs ?? 120_000,
        connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      },
    };
  }

  stats(): S3StorageStats {
    return { ...this.counts };
  }

  async write(path: string, data: Uint8Array): Promise<WriteResult> {
    this.key(path);
    return this.putFromSource('write', path, [data]);
  }

  /** PutObject with `If-None-Match: *`: S3 (since 2024), MinIO and R2 answer 412 if the key exists. */
  async create(path: string, data: Uint8Array): Promise<WriteResult> {
    const { client, sdk } = await this.s3();
    const key = this.key(path);
    try {
      await this.retry('create', path, () =>
        client.send(new sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: data, ContentLength: data.length, IfNoneMatch: '*' })),
      );
    } catch (err) {
      const status = ((err as { cause?: AwsLikeError }).cause ?? (err as AwsLikeError)).$metadata?.httpStatusCode;
      if (status === 412 || status === 409) throw new AlreadyExistsError(this.label(path), { cause: err });
      throw err;
    }
    return { size: data.length, checksum: crc32cHex(crc32c(data)) };
  }

  async writeFile(path: string, localFile: string): Promise<WriteResult> {
    this.key(path);
    const size = await checkLocalSource(localFile);
    // Small files are read whole: simplest, and retried like any PutObject.
    const source = size <= this.partSize ? [await readFile(localFile)] : fileChunks(localFile);
    const result = await this.putFromSource('writeFile', path, source);
    if (result.size !== size) {
      throw new PermanentStorageError(`${localFile} changed size while uploading to ${this.label(path)} (${size} → ${result.size} bytes)`);
    }
    return result;
  }

  /** Streams to S3; each request (PutObject or part) is retried from its in-memory buffer. */
  async writeStream(path: string, source: AsyncIterable<Uint8Array>): Promise<WriteResult> {
    this.key(path);
    return this.putFromSource('write', path, source);
  }

  async read(path: string): Promise<Uint8Array> {
    const { client, sdk } = await this.s3();
    const key = this.key(path);
    return this.retry('read', path, async () => {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }));
      assert(out.Body, `S3 GetObject returned no body for ${key}`);
      return out.Body.transformToByteArray();
    });
  }

  async readToFile(path: string, localFile: string, expect?: Expectation): Promise<void> {
    const { client, sdk } = await this.s3();
    const key = this.key(path);
    await this.retry('readToFile', path, async () => {
      const out = await client.send(new sdk.GetObjectCommand({ Bucket: this.bucket, Key: key }));
      assert(out.Body, `S3 GetObject returned no body for ${key}`);
      const body = out.Body as Readable;
      if (expect?.size !== undefined && out.ContentLength !== undefined && out.ContentLength !== expect.size) {
        body.destroy(); // do not download a file we already know is wrong
        throw new CorruptionError(this.label(path), undefined, `size ${out.ContentLength} bytes, expected ${expect.size}`);
      }
      await writeFileAtomically(localFile, body, this.label(path), expect);
    });
  }

  async stat(path: string): Promise<ObjectInfo | undefined> {
    const { client, sdk } = await this.s3();
    const key = this.key(path);
    try {
      return await this.retry('stat', path, async () => {
        const out = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
        return { path, size: out.ContentLength ?? 0 };
      });
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    this.checkOpen();
    validatePrefix(prefix);
    const out: ObjectInfo[] = [];
    await this.forEachPage(prefix, async (page) => {
      out.push(...page);
    });
    return out.sort((a, b) => comparePaths(a.path, b.path));
  }

  async delete(path: string): Promise<void> {
    const { client, sdk } = await this.s3();
    const key = this.key(path);
    try {
      await this.retry('delete', path, () => client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err; // some stores answer 404 for an absent key
    }
  }

  async deletePrefix(prefix: string): Promise<void> {
    const { client, sdk } = await this.s3();
    this.checkOpen();
    validateDeletePrefix(prefix);
    await this.forEachPage(prefix, async (page) => {
      for (let i = 0; i < page.length; i += this.deleteBatchSize) {
        const batch = page.slice(i, i + this.deleteBatchSize);
        await this.retry('deletePrefix', prefix, async () => {
          const out = await client.send(
            new sdk.DeleteObjectsCommand({
              Bucket: this.bucket,
              Delete: { Objects: batch.map((o) => ({ Key: this.keyPrefix + o.path })), Quiet: true },
            }),
          );
          const errors = (out.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
          if (errors.length > 0) {
            const first = errors[0]!;
            // Surfaced as an error object so classification (and so retry) applies to it.
            throw Object.assign(new Error(`${errors.length} of ${batch.length} keys not deleted, first ${first.Key}: ${first.Code} ${first.Message ?? ''}`), {
              name: first.Code ?? 'DeleteObjectsError',
            });
          }
        });
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const made = this.client;
    this.client = undefined;
    if (made) (await made.catch(() => undefined))?.client.destroy();
  }

  /** The SDK and this storage's client, both made on the first call. */
  private s3(): Promise<{ client: S3Client; sdk: Sdk }> {
    return (this.client ??= loadSdk().then((sdk) => ({ client: new sdk.S3Client(this.clientConfig), sdk })));
  }

  // ---------------------------------------------------------------------------------

  /**
   * Uploads the bytes of `source`: one PutObject if they fit in one part, else a
   * multipart upload. Nothing is visible unless this resolves.
   */
  private async putFromSource(op: string, path: string, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<WriteResult> {
    const { client, sdk } = await this.s3();
    const key = this.key(path);
    let size = 0;
    let crc = 0;
    const parts = rechunk(source, this.partSize, (chunk) => {
      crc = crc32c(chunk, crc);
      size += chunk.length;
    });
    const first = await parts.next();
    const second = first.done ? first : await parts.next();
    if (second.done) {
      const body = first.done ? new Uint8Array(0) : first.value;
      const bodyCrc = crc32c(body);
      try {
        await this.retry(op, path, async () => {
          const out = await client.send(
            new sdk.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentLength: body.length, ChecksumCRC32C: crc32cBase64(bodyCrc) }),
          );
          this.checkAnswer(`S3 ${op} ${this.label(path)}`, body, bodyCrc, out);
        });
      } catch (err) {
        // The store kept a body we know is corrupted: do not leave it under the name.
        if (err instanceof TransientStorageError && err.cause instanceof UploadCorrupted) {
          await client.send(new sdk.DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
        }
        throw err;
      }
      return { size, checksum: crc32cHex(crc) };
    }
    assert(!first.done, 'multipart upload without a first part');
    await this.multipart(op, path, key, first.value, second.value, parts, () => size);
    return { size, checksum: crc32cHex(crc) };
  }

  private async multipart(
    op: string,
    path: string,
    key: string,
    part1: Uint8Array,
    part2: Uint8Array,
    rest: AsyncGenerator<Uint8Array>,
    totalSize: () => number,
  ): Promise<void> {
    const { client, sdk } = await this.s3();
    const created = await this.retry(op, path, () =>
      client.send(new sdk.CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ChecksumAlgorithm: 'CRC32C' })),
    );
    const uploadId = created.UploadId;
    if (!uploadId) throw new PermanentStorageError(`S3 ${op} ${this.label(path)}${this.where}: CreateMultipartUpload returned no UploadId`);
    const done: CompletedPart[] = [];
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;

    const partCrcs: number[] = [];
    const send = (partNumber: number, body: Uint8Array): void => {
      const partCrc = crc32c(body);
      partCrcs[partNumber - 1] = partCrc;
      const p = this.retry(op, path, async () => {
        const out = await client.send(
          new sdk.UploadPartCommand({
            Bucket: this.bucket, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length,
            ChecksumCRC32C: crc32cBase64(partCrc),
          }),
        );
        this.checkAnswer(`S3 ${op} ${this.label(path)} part ${partNumber}`, body, partCrc, out);
        return out;
      }).then(
        (out) => {
          if (!out.ETag) throw new PermanentStorageError(`S3 ${op} ${this.label(path)}: part ${partNumber} has no ETag`);
          done.push({ PartNumber: partNumber, ETag: out.ETag, ChecksumCRC32C: crc32cBase64(partCrc) });
        },
      ).catch((error: unknown) => {
        failure ??= { error };
      }).finally(() => inFlight.delete(p));
      inFlight.add(p);
    };

    try {
      send(1, part1);
      send(2, part2);
      let partNumber = 2;
      for (;;) {
        while (inFlight.size >= this.queueSize && !failure) await Promise.race(inFlight);
        if (failure) break;
        const next = await rest.next();
        if (next.done) break;
        partNumber++;
        if (partNumber > 10_000) {
          throw new PermanentStorageError(`S3 ${op} ${this.label(path)}: more than 10,000 parts (S3's limit); raise partSize`);
        }
        send(partNumber, next.value);
      }
      await Promise.all(inFlight);
      if (failure) throw failure.error;
      done.sort((a, b) => a.PartNumber! - b.PartNumber!);
      assert(done.length === partNumber, () => `uploaded ${done.length} of ${partNumber} parts`);
      let attempted = false;
      await this.retry(op, path, async () => {
        try {
          const out = await client.send(
            new sdk.CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId, MultipartUpload: { Parts: done } }),
          );
          const composite = compositeCrc32cBase64(partCrcs);
          if (out.ChecksumCRC32C !== undefined && out.ChecksumCRC32C !== '' && out.ChecksumCRC32C !== composite) {
            throw new PermanentStorageError(`S3 ${op} ${this.label(path)}: the store reports checksum ${out.ChecksumCRC32C} for the object, its parts give ${composite}`);
          }
        } catch (err) {
          // A retried Complete whose first try did succeed (answer lost) sees NoSuchUpload;
          // the object is then there with our size (names are never reused, so not an old one).
          if (attempted && (err as AwsLikeError).name === 'NoSuchUpload') {
            const head = await client.send(new sdk.HeadObjectCommand({ Bucket: this.bucket, Key: key }));
            if (head.ContentLength === totalSize()) return;
          }
          throw err;
        } finally {
          attempted = true;
        }
      });
    } catch (err) {
      await Promise.allSettled(inFlight);
      await rest.return(undefined).catch(() => undefined);
      // Best effort: an unaborted upload is invisible anyway (and bucket lifecycle rules clean it).
      await client
        .send(new sdk.AbortMultipartUploadCommand({ Bucket: this.bucket, Key: key, UploadId: uploadId }))
        .catch(() => undefined);
      throw err;
    }
  }

  /** Verifies the answer to one upload request (s3-integrity.ts); counts how. */
  private checkAnswer(what: string, body: Uint8Array, crc: number, answer: { ETag?: string | undefined; ChecksumCRC32C?: string | undefined }): void {
    try {
      const how = checkUploadAnswer(what, body, crc, answer, this.verifyEtagMd5);
      if (how === 'checksum') this.counts.verifiedByChecksum++;
      else if (how === 'etag-md5') this.counts.verifiedByEtag++;
      else this.counts.unverified++;
    } catch (err) {
      this.counts.corruptedUploads++;
      throw err;
    }
  }

  /** Lists one ListObjectsV2 page at a time (each page retried on its own) and hands it to `fn`. */
  private async forEachPage(prefix: string, fn: (page: ObjectInfo[]) => Promise<void>): Promise<void> {
    const { client, sdk } = await this.s3();
    let token: string | undefined;
    for (let pages = 0; ; pages++) {
      assert(pages < 10_000_000, 'S3 listing did not terminate');
      const out = await this.retry('list', prefix, () =>
        client.send(
          new sdk.ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.keyPrefix + prefix,
            MaxKeys: this.listPageSize,
            ...(token ? { ContinuationToken: token } : {}),
          }),
        ),
      );
      const page: ObjectInfo[] = [];
      for (const obj of out.Contents ?? []) {
        if (!obj.Key?.startsWith(this.keyPrefix)) continue;
        const path = obj.Key.slice(this.keyPrefix.length);
        if (!isValidPath(path)) continue; // e.g. "dir/" markers made by consoles: not our objects
        page.push({ path, size: obj.Size ?? 0 });
      }
      if (page.length > 0) await fn(page);
      if (!out.IsTruncated) return;
      const next = out.NextContinuationToken;
      if (!next || next === token) {
        throw new PermanentStorageError(`S3 list ${this.uri}/${prefix}${this.where}: truncated listing without a new continuation token`);
      }
      token = next;
    }
  }

  private async retry<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
    this.checkOpen();
    for (let attempt = 1; ; attempt++) {
      this.counts.attempts++;
      try {
        return await fn();
      } catch (err) {
        const failure = classifyS3Error(err);
        if (failure.kind !== 'transient' || attempt >= this.maxAttempts) throw this.translate(op, path, err, attempt);
        this.counts.retries++;
        const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        const delayMs = ceiling / 2 + (ceiling / 2) * this.random(); // "equal jitter"
        this.onRetry?.({ op, path, attempt, delayMs, error: err });
        await this.clock.sleep(delayMs);
      }
    }
  }

  private translate(op: string, path: string, err: unknown, attempts: number): Error {
    if (err instanceof WeirError) return err;
    const label = this.label(path);
    const failure = classifyS3Error(err);
    const e = (err ?? {}) as AwsLikeError;
    const status = e.$metadata?.httpStatusCode;
    const detail = this.scrub(`${e.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`);
    switch (failure.kind) {
      case 'not-found':
        return new NotFoundError(label, { cause: err });
      case 'no-bucket':
        return new PermanentStorageError(`S3 ${op} ${label}: bucket "${this.bucket}" does not exist${this.where} (NoSuchBucket)`, { cause: err });
      case 'auth':
        return new PermanentStorageError(
          `S3 ${op} ${label}: access denied${this.where} — check the credentials and the bucket policy (${detail})`,
          { cause: err },
        );
      case 'transient':
        return new TransientStorageError(`S3 ${op} ${label}${this.where} failed after ${attempts} attempt(s): ${detail}`, { cause: err });
      case 'permanent':
        return new PermanentStorageError(`S3 ${op} ${label}${this.where} failed: ${detail}`, { cause: err });
    }
  }

  private scrub(message: string): string {
    let out = message;
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }

  private key(path: string): string {
    this.checkOpen();
    validatePath(path);
    return this.keyPrefix + path;
  }

  private label(path: string): string {
    return `${this.uri}/${path}`;
  }

  private checkOpen(): void {
    if (this.closed) throw new PermanentStorageError(`${this.uri} is closed`);
  }
}

function isValidPath(path: string): boolean {
  try {
    validatePath(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Cuts a stream of chunks into parts of exactly `partSize` bytes (the last may be
 * shorter, never empty). A chunk that covers a whole part is passed as a view, without
 * copying. `observe` sees every input byte once, in order.
 */
async function* rechunk(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  partSize: number,
  observe: (chunk: Uint8Array) => void,
): AsyncGenerator<Uint8Array> {
  let buf: Uint8Array | undefined;
  let fill = 0;
  for await (const chunk of source) {
    if (chunk.length === 0) continue;
    observe(chunk);
    let off = 0;
    while (off < chunk.length) {
      if (fill === 0 && chunk.length - off >= partSize) {
        yield chunk.subarray(off, off + partSize);
        off += partSize;
        continue;
      }
      buf ??= new Uint8Array(partSize);
      const take = Math.min(partSize - fill, chunk.length - off);
      buf.set(chunk.subarray(off, off + take), fill);
      fill += take;
      off += take;
      if (fill === partSize) {
        yield buf;
        buf = undefined; // the yielded buffer now belongs to the uploader
        fill = 0;
      }
    }
  }
  if (fill > 0 && buf) yield buf.subarray(0, fill);
}

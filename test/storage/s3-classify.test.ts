import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyS3Error } from '../../src/storage/s3-storage.ts';
import { CorruptionError } from '../../src/util/errors.ts';

const sdk = (name: string, status?: number, extra: object = {}): object =>
  Object.assign(new Error(name), { name, ...(status ? { $metadata: { httpStatusCode: status } } : {}), ...extra });
const net = (code: string): object => Object.assign(new Error(`connect ${code}`), { code });

test('S3 errors are sorted into what the caller can do', () => {
  const table: Array<[object, string]> = [
    [sdk('InternalError', 500), 'transient'],
    [sdk('ServiceUnavailable', 503), 'transient'],
    [sdk('SlowDown', 503), 'transient'],
    [sdk('Unknown', 502), 'transient'],
    [sdk('TooManyRequests', 429), 'transient'],
    [sdk('ThrottlingException'), 'transient'],
    [sdk('RequestTimeout', 400), 'transient'],
    [sdk('TimeoutError'), 'transient'],
    [net('ECONNRESET'), 'transient'],
    [net('ECONNREFUSED'), 'transient'],
    [net('EPIPE'), 'transient'],
    [net('ETIMEDOUT'), 'transient'],
    [Object.assign(new Error('socket hang up'), { name: 'Error' }), 'transient'],
    [sdk('Whatever', undefined, { $retryable: {} }), 'transient'],
    [sdk('NoSuchKey', 404), 'not-found'],
    [sdk('NotFound', 404), 'not-found'],
    [sdk('NoSuchBucket', 404), 'no-bucket'],
    [sdk('NoSuchUpload', 404), 'permanent'],
    [sdk('AccessDenied', 403), 'auth'],
    [sdk('InvalidAccessKeyId', 403), 'auth'],
    [sdk('SignatureDoesNotMatch', 403), 'auth'],
    [sdk('ExpiredToken', 400), 'auth'],
    [sdk('InvalidArgument', 400), 'permanent'],
    [sdk('MethodNotAllowed', 405), 'permanent'],
    [net('ENOTFOUND'), 'permanent'],
    [new CorruptionError('s3://b/x', undefined, 'bad crc'), 'permanent'],
    [new Error('something else'), 'permanent'],
  ];
  for (const [err, kind] of table) {
    assert.equal(classifyS3Error(err).kind, kind, `${(err as Error).name}: ${(err as Error).message}`);
  }
  assert.equal(classifyS3Error(undefined).kind, 'permanent');
});

/** Opens checkpoint storage from what a user writes: a directory, `file://…` or `s3://bucket/prefix`. */
import { fileURLToPath } from 'node:url';
import type { CheckpointStorage } from '../storage/checkpoint-storage.ts';
import { LocalStorage } from '../storage/local-storage.ts';
import { S3Storage } from '../storage/s3-storage.ts';
import { ConfigError } from '../util/errors.ts';

export function openCheckpointStorage(spec: string | CheckpointStorage): CheckpointStorage {
  if (typeof spec !== 'string') return spec;
  if (spec.startsWith('s3://')) {
    const rest = spec.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash < 0 ? rest : rest.slice(0, slash);
    const prefix = slash < 0 ? '' : rest.slice(slash + 1);
    if (!bucket) throw new ConfigError(`checkpoint storage ${spec}: missing bucket name`);
    const endpoint = process.env.WEIR_S3_ENDPOINT ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
    return new S3Storage({ bucket, prefix, ...(endpoint ? { endpoint } : {}), ...(process.env.AWS_REGION ? { region: process.env.AWS_REGION } : {}) });
  }
  if (spec.startsWith('file://')) return new LocalStorage({ root: fileURLToPath(spec) });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(spec)) throw new ConfigError(`checkpoint storage ${spec}: unsupported scheme (use a directory or s3://bucket/prefix)`);
  return new LocalStorage({ root: spec });
}

/**
 * createStorage(uri): the one place a user-supplied checkpoint location becomes a
 * CheckpointStorage.
 *
 *   file:///abs/dir        → LocalStorage (file://localhost/abs/dir too)
 *   /abs/dir, rel/dir, ~/d → LocalStorage (relative paths resolved against cwd, ~ = home)
 *   s3://bucket[/prefix]   → S3Storage; endpoint, region and credentials from options, else
 *                            env AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL, AWS_REGION /
 *                            AWS_DEFAULT_REGION, AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *                            (+ AWS_SESSION_TOKEN), else the SDK's default chain.
 *   memory://name          → MemoryStorage (tests, demos; gone when the process exits)
 *
 * Anything else — another scheme, credentials inside the URI, a file URI on another
 * host — is a ConfigError with one clear line.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../util/errors.ts';
import type { CheckpointStorage } from './checkpoint-storage.ts';
import { LocalStorage } from './local-storage.ts';
import { MemoryStorage } from './memory-storage.ts';
import { S3Storage } from './s3-storage.ts';
import type { S3StorageOptions } from './s3-storage.ts';

export interface CreateStorageOptions {
  /** S3 settings that override the environment (bucket and prefix come from the URI). */
  s3?: Partial<Omit<S3StorageOptions, 'bucket' | 'prefix'>>;
  /** Environment to read AWS_* from. Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Base for relative paths. Default process.cwd(). */
  cwd?: string;
  /** What "~/" expands to. Default os.homedir(). */
  homeDir?: string;
}

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;

export function createStorage(uri: string, options: CreateStorageOptions = {}): CheckpointStorage {
  if (typeof uri !== 'string' || uri.trim() === '') throw new ConfigError('checkpoint storage location is empty');
  const scheme = SCHEME.exec(uri)?.[1]?.toLowerCase();
  if (scheme === undefined) {
    // "~/x" reaches us unexpanded when quoted in a shell or written in a config file.
    const path = uri === '~' || uri.startsWith('~/') ? join(options.homeDir ?? homedir(), uri.slice(1)) : uri;
    const root = isAbsolute(path) ? path : resolve(options.cwd ?? process.cwd(), path);
    return new LocalStorage({ root });
  }
  switch (scheme) {
    case 'file':
      return new LocalStorage({ root: filePath(uri) });
    case 's3':
      return s3Storage(uri, options);
    case 'memory':
      return new MemoryStorage({ name: uri.slice('memory://'.length) || undefined });
    default:
      throw new ConfigError(
        `unsupported checkpoint storage scheme "${scheme}:" in ${redact(uri)} (use file:///abs/dir, a directory path, or s3://bucket/prefix)`,
      );
  }
}

function filePath(uri: string): string {
  let url: URL;
  try {
    url = new URL(uri);
  } catch (err) {
    throw new ConfigError(`invalid file URI ${redact(uri)}`, { cause: err });
  }
  if (url.hostname !== '' && url.hostname !== 'localhost') {
    throw new ConfigError(`file URI ${redact(uri)} names host "${url.hostname}"; use file:///absolute/path`);
  }
  if (url.search || url.hash) throw new ConfigError(`file URI ${redact(uri)} must not have a query or fragment`);
  try {
    return fileURLToPath(url);
  } catch (err) {
    throw new ConfigError(`invalid file URI ${redact(uri)}: ${(err as Error).message}`, { cause: err });
  }
}

function s3Storage(uri: string, options: CreateStorageOptions): S3Storage {
  const m = /^s3:\/\/([^/?#]*)(\/[^?#]*)?$/i.exec(uri);
  if (!m) throw new ConfigError(`invalid S3 URI ${redact(uri)}; expected s3://bucket/prefix`);
  const authority = m[1] ?? '';
  if (authority.includes('@')) {
    throw new ConfigError('S3 URI must not contain credentials; use AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or options');
  }
  if (authority === '') throw new ConfigError(`S3 URI ${uri} has no bucket; expected s3://bucket/prefix`);
  const prefix = decodeURIComponent((m[2] ?? '').replace(/^\/+|\/+$/g, ''));
  const env = options.env ?? process.env;
  const s3 = options.s3 ?? {};
  const endpoint = s3.endpoint ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const region = s3.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined) && !s3.credentials) {
    throw new ConfigError('set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither');
  }
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  const credentials =
    s3.credentials ??
    (accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : undefined);
  return new S3Storage({
    ...s3,
    bucket: authority,
    prefix,
    ...(endpoint !== undefined ? { endpoint } : {}),
    ...(region !== undefined ? { region } : {}),
    ...(credentials ? { credentials } : {}),
  });
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v === '' ? undefined : v;
}

/** Drops any userinfo from a URI before it goes into a message. */
function redact(uri: string): string {
  return uri.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/@]*@/, '$1***@');
}

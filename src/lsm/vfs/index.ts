/**
 * The LSM engine's file-system interface and its implementations (vfs.ts explains why).
 */
export type { AsyncWritableFile, RandomAccessFile, Vfs, WritableFile } from './vfs.ts';
export { isExists, isNotFound } from './vfs.ts';
export { realFs, FileReadSource } from './real-fs.ts';
export { HookedFs, type FsHook, type FsOp, type FsOpKind } from './hooked-fs.ts';
export { ErrorFs, InjectedFsError, onNth, type Injector } from './error-fs.ts';
export { LoggingFs } from './logging-fs.ts';

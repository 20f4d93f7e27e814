/**
 * Upload (06-quality.md fault item 9, "upload truthfulness"): the bytes go to a temp file in the target
 * directory while being hashed, are fsynced, renamed over the target, and the directory is fsynced —
 * only then is `{path, size, sha256}` returned. On any failure (source aborted or short, size limit,
 * disk full) the temp file is removed: the target is either the old file or the complete new one,
 * never a partial file.
 */
import { createHash, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { lstat, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { BadRequest, DroverError } from '../../../domain/errors.js';
import type { Workspace } from './confine.js';
import { resolveInWorkspace } from './confine.js';
import type { PinnedDir } from './dir.js';
import { withDir } from './dir.js';
import { fsError } from './fs-errors.js';
import { parseMode } from './mode.js';

export interface UploadOptions {
  /** Permission bits; default: the replaced file's, else 0644. */
  mode?: number | undefined;
  /** Refuse (payload_too_large) once more bytes than this arrive. */
  maxBytes?: number | undefined;
  /** The announced length (Content-Length): a source that ends earlier is an interrupted upload. */
  expectedBytes?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface UploadResult {
  path: string;
  size: number;
  sha256: string;
}

export async function uploadFile(
  ws: Workspace,
  path: string,
  source: AsyncIterable<Uint8Array>,
  options: UploadOptions = {},
): Promise<UploadResult> {
  const mode = options.mode === undefined ? undefined : parseMode(options.mode);
  const target = await resolveInWorkspace(ws, path);
  if (target.isRoot) throw new BadRequest('cannot write to the workspace root itself');
  try {
    const written = await withDir(
      ws,
      dirname(target.host),
      (dir) => writeIntoDir(dir, basename(target.host), source, { ...options, mode, durable: true }),
      {},
    );
    return { path: target.sandbox, ...written };
  } catch (err) {
    throw fsError(err, target.sandbox);
  }
}

export interface WriteIntoDirOptions extends UploadOptions {
  /** fsync the file and the directory before returning (uploads); archive extraction skips it. */
  durable: boolean;
  mtimeMs?: number | undefined;
}

/** Atomically (re)place `dir/name` with the bytes of `source`. The shared core of upload and extract. */
export async function writeIntoDir(
  dir: PinnedDir,
  name: string,
  source: AsyncIterable<Uint8Array>,
  options: WriteIntoDirOptions,
): Promise<{ size: number; sha256: string }> {
  const existing = await lstat(dir.at(name)).catch(() => undefined);
  // Checked before reading the body so a doomed upload fails at once instead of after 1 GiB.
  if (existing?.isDirectory()) throw new BadRequest('path is a directory');
  const mode = options.mode ?? (existing?.isFile() ? existing.mode & 0o777 : 0o644);

  const temp = `.drover-upload-${randomBytes(8).toString('hex')}.tmp`;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const file = await open(dir.at(temp), flags, 0o600);
  let closed = false;
  let placed = false;
  try {
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of source) {
      options.signal?.throwIfAborted();
      size += chunk.byteLength;
      if (options.maxBytes !== undefined && size > options.maxBytes) {
        throw new DroverError('payload_too_large', `upload is larger than ${options.maxBytes} bytes`);
      }
      hash.update(chunk);
      await writeAll(file, chunk);
    }
    options.signal?.throwIfAborted();
    if (options.expectedBytes !== undefined && size !== options.expectedBytes) {
      throw new BadRequest(`upload ended after ${size} of ${options.expectedBytes} bytes`);
    }
    await file.chmod(mode);
    if (options.mtimeMs !== undefined) await file.utimes(options.mtimeMs / 1000, options.mtimeMs / 1000);
    if (options.durable) await file.sync();
    await file.close();
    closed = true;
    await rename(dir.at(temp), dir.at(name));
    placed = true;
    if (options.durable) await dir.sync();
    return { size, sha256: hash.digest('hex') };
  } finally {
    if (!closed) await file.close().catch(() => undefined);
    if (!placed) await unlink(dir.at(temp)).catch(() => undefined);
  }
}

async function writeAll(file: FileHandle, chunk: Uint8Array): Promise<void> {
  let offset = 0;
  while (offset < chunk.byteLength) {
    const { bytesWritten } = await file.write(chunk, offset, chunk.byteLength - offset);
    offset += bytesWritten;
  }
}

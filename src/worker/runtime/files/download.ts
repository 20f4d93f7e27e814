/**
 * Download: a stream of a regular file's bytes, optionally a byte range. The file is opened before
 * anything is returned, so "not found", "is a directory" and a bad range are errors the edge can turn
 * into statuses before it sends headers.
 */
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import { BadRequest } from '../../../domain/errors.js';
import type { Workspace } from './confine.js';
import { resolveInWorkspace } from './confine.js';
import { withDir } from './dir.js';
import { RangeNotSatisfiable, fsError } from './fs-errors.js';

/**
 * O_NOFOLLOW: a symlink swapped in after the check fails instead of being followed. O_NONBLOCK: a FIFO
 * planted by the sandbox opens at once (and is then refused) instead of parking a worker thread forever.
 */
export const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** `{start, end}` inclusive (HTTP semantics; `end` defaults to the last byte), or the last `suffix` bytes. */
export type ByteRange = { start: number; end?: number | undefined } | { suffix: number };

export interface Download {
  path: string;
  /** The whole file's size (for Content-Range). */
  size: number;
  /** The bytes served: [start, end] inclusive; `length` is 0 for an empty file. */
  start: number;
  end: number;
  length: number;
  stream: Readable;
}

export async function openDownload(ws: Workspace, path: string, range?: ByteRange): Promise<Download> {
  const target = await resolveInWorkspace(ws, path);
  if (target.isRoot) throw new BadRequest('path is a directory', { path: target.sandbox });
  let file: FileHandle | undefined;
  try {
    file = await withDir(ws, dirname(target.host), (dir) => open(dir.at(basename(target.host)), READ_FLAGS));
    const info = await file.stat();
    if (info.isDirectory()) throw new BadRequest('path is a directory', { path: target.sandbox });
    if (!info.isFile()) throw new BadRequest('path is not a regular file', { path: target.sandbox });
    const span = byteSpan(info.size, range);
    const stream =
      span.length === 0
        ? Readable.from([])
        : file.createReadStream({ start: span.start, end: span.end, autoClose: true });
    if (span.length === 0) await file.close();
    return { path: target.sandbox, size: info.size, ...span, stream };
  } catch (err) {
    await file?.close().catch(() => undefined);
    throw fsError(err, target.sandbox);
  }
}

/** Which bytes a range selects in a file of `size` bytes. Pure. */
export function byteSpan(size: number, range?: ByteRange): { start: number; end: number; length: number } {
  if (range === undefined) return { start: 0, end: size - 1, length: size };
  if ('suffix' in range) {
    if (!Number.isInteger(range.suffix) || range.suffix <= 0) throw new RangeNotSatisfiable(size);
    const length = Math.min(range.suffix, size);
    if (length === 0) throw new RangeNotSatisfiable(size);
    return { start: size - length, end: size - 1, length };
  }
  const { start } = range;
  const end = Math.min(range.end ?? size - 1, size - 1);
  if (!Number.isInteger(start) || start < 0 || start >= size || end < start || !Number.isInteger(end)) {
    throw new RangeNotSatisfiable(size);
  }
  return { start, end, length: end - start + 1 };
}

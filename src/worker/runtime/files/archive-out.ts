/**
 * Archive out: a tar stream of a directory (entries named relative to it) or of one file (named by its
 * base name). The walk uses directory descriptors and lstat: a symlink is archived as a symlink, never
 * followed, and sockets, FIFOs and devices are left out. Hard links are archived as separate files.
 * The stream is pulled by its consumer (backpressure), and a consumer that stops closes every open
 * descriptor (the generator's finally blocks run on destroy).
 */
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Readable } from 'node:stream';
import type { Workspace } from './confine.js';
import { resolveInWorkspace } from './confine.js';
import type { PinnedDir } from './dir.js';
import { PinnedDir as Dir, skipVanished } from './dir.js';
import { READ_FLAGS } from './download.js';
import { fsError } from './fs-errors.js';
import { END_OF_ARCHIVE, encodeHeader, padding } from './tar-format.js';

const READ_CHUNK = 64 * 1024;

export interface ArchiveOut {
  path: string;
  stream: Readable;
}

export async function openArchiveOut(ws: Workspace, path: string): Promise<ArchiveOut> {
  const target = await resolveInWorkspace(ws, path);
  let dir: PinnedDir | undefined;
  try {
    // Opened now, so "not found" is an error before the first byte is sent.
    if (target.isRoot) {
      dir = await Dir.root(ws);
      return { path: target.sandbox, stream: byteStream(archiveDir(dir), dir) };
    }
    const parent = await Dir.at(ws, dirname(target.host));
    const name = basename(target.host);
    const info = await lstat(parent.at(name)).catch(async (err) => {
      await parent.close();
      throw err;
    });
    if (info.isDirectory()) {
      dir = await parent.openDir(name).finally(() => parent.close());
      return { path: target.sandbox, stream: byteStream(archiveDir(dir), dir) };
    }
    const entryName = target.segments.at(-1) ?? name;
    return { path: target.sandbox, stream: byteStream(archiveSingle(parent, name, entryName), parent) };
  } catch (err) {
    await dir?.close();
    throw fsError(err, target.sandbox);
  }
}

/**
 * The directory we hold is closed when the stream closes (ended, failed or destroyed), not in the
 * generator: a generator destroyed before its first pull never runs its finally block.
 */
function byteStream(source: AsyncGenerator<Buffer>, held: PinnedDir): Readable {
  const stream = Readable.from(source, { objectMode: false });
  stream.once('close', () => void held.close());
  return stream;
}

async function* archiveDir(root: PinnedDir): AsyncGenerator<Buffer> {
  yield* entriesOf(root, '');
  yield END_OF_ARCHIVE;
}

async function* archiveSingle(parent: PinnedDir, name: string, entryName: string): AsyncGenerator<Buffer> {
  yield* entry(parent, name, entryName);
  yield END_OF_ARCHIVE;
}

async function* entriesOf(dir: PinnedDir, prefix: string): AsyncGenerator<Buffer> {
  for (const name of (await readdir(dir.self())).sort()) yield* entry(dir, name, `${prefix}${name}`);
}

async function* entry(dir: PinnedDir, name: string, entryName: string): AsyncGenerator<Buffer> {
  const info = await lstat(dir.at(name)).catch(() => undefined);
  if (info === undefined) return; // removed while we archived
  const base = { mode: info.mode, mtimeMs: info.mtimeMs };
  if (info.isSymbolicLink()) {
    const linkname = await readlink(dir.at(name)).catch(() => undefined);
    if (linkname !== undefined) yield encodeHeader({ ...base, name: entryName, type: 'symlink', size: 0, linkname });
  } else if (info.isDirectory()) {
    const child = await dir.openDir(name).catch(skipVanished);
    if (child === undefined) return;
    try {
      yield encodeHeader({ ...base, name: `${entryName}/`, type: 'dir', size: 0 });
      yield* entriesOf(child, `${entryName}/`);
    } finally {
      await child.close();
    }
  } else if (info.isFile()) {
    yield* fileEntry(dir, name, entryName);
  }
}

/** The header announces the size at open time; a file that changes meanwhile is cut or zero-padded. */
async function* fileEntry(dir: PinnedDir, name: string, entryName: string): AsyncGenerator<Buffer> {
  const file = await open(dir.at(name), READ_FLAGS).catch(() => undefined);
  if (file === undefined) return;
  try {
    const info = await file.stat();
    if (!info.isFile()) return;
    yield encodeHeader({ name: entryName, type: 'file', size: info.size, mode: info.mode, mtimeMs: info.mtimeMs });
    let left = info.size;
    while (left > 0) {
      const buffer = Buffer.allocUnsafe(Math.min(READ_CHUNK, left));
      const { bytesRead } = await file.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) {
        const zeros = Buffer.alloc(Math.min(READ_CHUNK, left));
        left -= zeros.length;
        yield zeros; // the file shrank: keep the promised size
      } else {
        left -= bytesRead;
        yield buffer.subarray(0, bytesRead);
      }
    }
    yield padding(info.size);
  } finally {
    await file.close();
  }
}

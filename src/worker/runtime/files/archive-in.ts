/**
 * Archive in: extract a tar stream (gzip-compressed or not, detected by its magic bytes) into a
 * directory of the workspace. Every entry is judged before anything is written for it:
 *  - names: no absolute names, no `..`, no NUL, not overlong (the path rules of confine.ts), and the
 *    resolved destination must stay inside — so an entry "through" a symlink to outside is refused;
 *  - types: regular files, directories, symlinks whose target stays inside /workspace (judged
 *    lexically from the link's own directory), hard links to a regular file already inside; devices,
 *    FIFOs, sparse and other types are refused;
 *  - size: the sum of entry sizes and the number of entries are bounded.
 * A refused entry fails the whole call with BadRequest (or payload_too_large). Extraction is not
 * atomic: entries before the refused one stay, as with tar(1); each file itself is written through a
 * temp file and rename, so no file is ever left half-written. Directory modes are applied at the end
 * (deepest first), so a read-only directory in the archive does not block its own contents.
 */
import { link, lstat, symlink, unlink } from 'node:fs/promises';
import { basename, dirname, posix } from 'node:path';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { BadRequest, Conflict } from '../../../domain/errors.js';
import type { Resolved, Workspace } from './confine.js';
import { SANDBOX_ROOT, resolveInWorkspace } from './confine.js';
import type { PinnedDir } from './dir.js';
import { withDir } from './dir.js';
import { changeMode } from './chmod.js';
import { fsError } from './fs-errors.js';
import type { TarEntry } from './tar-read.js';
import { readTar } from './tar-read.js';
import { writeIntoDir } from './upload.js';

export interface ExtractOptions {
  /** Bound on the total size of the extracted contents (default 10 GiB). */
  maxBytes?: number | undefined;
  /** Bound on the number of entries (default 100,000). */
  maxEntries?: number | undefined;
}

interface DirMode {
  path: string;
  mode: number;
  depth: number;
}

export interface ExtractResult {
  path: string;
  entries: number;
  bytes: number;
}

export async function extractArchive(
  ws: Workspace,
  path: string,
  source: AsyncIterable<Uint8Array>,
  options: ExtractOptions = {},
): Promise<ExtractResult> {
  const target = await resolveInWorkspace(ws, path);
  await withDir(ws, target.host, async () => undefined, {}).catch((err) => {
    throw fsError(err, target.sandbox);
  });
  const limits = { maxBytes: options.maxBytes ?? 10 * 1024 ** 3, maxEntries: options.maxEntries ?? 100_000 };
  const dirModes: DirMode[] = [];
  let entries = 0;
  let bytes = 0;
  for await (const entry of readTar(maybeGunzip(source), limits)) {
    const written = await extractEntry(ws, target, entry, dirModes);
    entries++;
    bytes += written;
  }
  dirModes.sort((a, b) => b.depth - a.depth);
  // Best effort, through the same confined chmod as the API (a directory removed since is skipped).
  for (const dir of dirModes) await changeMode(ws, dir.path, dir.mode).catch(() => undefined);
  return { path: target.sandbox, entries, bytes };
}

/** The entry's path under the destination, or undefined for the destination itself (`./`). */
export function entryPath(destination: string, name: string): string | undefined {
  if (name.includes('\0')) throw new BadRequest('archive entry name contains a NUL byte');
  if (name.startsWith('/')) throw new BadRequest('archive entry has an absolute name', { name });
  const segments = name.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new BadRequest('archive entry name contains ".."', { name });
  return segments.length === 0 ? undefined : `${destination}/${segments.join('/')}`;
}

async function extractEntry(
  ws: Workspace,
  destination: Resolved,
  entry: TarEntry,
  dirModes: DirMode[],
): Promise<number> {
  const path = entryPath(destination.sandbox, entry.name);
  if (path === undefined) return 0;
  if (entry.type === 'dir') {
    const dir = await resolveInWorkspace(ws, path);
    await withDir(ws, dir.host, async () => undefined, {}).catch((err) => {
      throw fsError(err, dir.sandbox);
    });
    dirModes.push({ path: dir.sandbox, mode: entry.mode & 0o1777, depth: dir.segments.length });
    return 0;
  }
  if (entry.type !== 'file' && entry.type !== 'symlink' && entry.type !== 'hardlink') {
    throw new BadRequest(`archive entry type '${printable(entry.typeflag)}' is not supported`, { name: entry.name });
  }
  // The entry replaces whatever is at its path; a symlink there is replaced, not written through.
  const place = await resolveInWorkspace(ws, path, { followLast: false });
  if (place.isRoot) throw new BadRequest('archive entry would replace the workspace root');
  try {
    return await withDir(
      ws,
      dirname(place.host),
      async (dir) => {
        const name = basename(place.host);
        if (entry.type === 'file') {
          const written = await writeIntoDir(dir, name, entry.body, {
            mode: entry.mode & 0o1777,
            mtimeMs: entry.mtimeMs,
            durable: false,
          });
          return written.size;
        }
        await clearForLink(dir, name, place.sandbox);
        if (entry.type === 'symlink') {
          checkLinkTarget(place.sandbox, entry.linkname);
          await symlink(entry.linkname, dir.at(name));
        } else {
          await hardLink(ws, destination, entry.linkname, dir, name);
        }
        return 0;
      },
      {},
    );
  } catch (err) {
    throw fsError(err, place.sandbox);
  }
}

/** A symlink's target, read from the link's own directory, must name something under /workspace. */
export function checkLinkTarget(linkPath: string, target: string): void {
  if (target === '' || target.includes('\0')) throw new BadRequest('archive symlink has an invalid target');
  const resolved = posix.resolve(posix.dirname(linkPath), target);
  if (resolved !== SANDBOX_ROOT && !resolved.startsWith(`${SANDBOX_ROOT}/`)) {
    throw new BadRequest('archive symlink points outside the workspace', { path: linkPath, target });
  }
}

async function hardLink(ws: Workspace, destination: Resolved, linkname: string, dir: PinnedDir, name: string): Promise<void> {
  const sourcePath = entryPath(destination.sandbox, linkname);
  if (sourcePath === undefined) throw new BadRequest('archive hard link has an invalid target');
  const source = await resolveInWorkspace(ws, sourcePath, { followLast: false });
  if (!source.exists) throw new BadRequest('archive hard link target does not exist', { target: linkname });
  await withDir(ws, dirname(source.host), async (sourceDir) => {
    const sourceName = sourceDir.at(basename(source.host));
    // link(2) does not follow a symlink source on Linux, but a link to a symlink is refused anyway.
    if (!(await lstat(sourceName)).isFile()) throw new BadRequest('archive hard link target is not a regular file');
    await link(sourceName, dir.at(name));
  });
}

/** tar(1) semantics: a non-directory already at the path is removed; a directory is a conflict. */
async function clearForLink(dir: PinnedDir, name: string, sandboxPath: string): Promise<void> {
  const existing = await lstat(dir.at(name)).catch(() => undefined);
  if (existing === undefined) return;
  if (existing.isDirectory()) throw new Conflict('a directory exists where the archive has a link', { path: sandboxPath });
  await unlink(dir.at(name));
}

function printable(typeflag: string): string {
  return /^[\x20-\x7e]$/.test(typeflag) ? typeflag : `0x${typeflag.charCodeAt(0).toString(16)}`;
}

/**
 * The source as is, or gunzipped when it starts with the gzip magic bytes. Closing this generator
 * early (an error, the end marker) closes the source too.
 */
async function* maybeGunzip(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  async function* whole(head: Uint8Array): AsyncGenerator<Uint8Array> {
    yield head;
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) yield next.value;
    finished = true;
  }
  try {
    let first = await iterator.next();
    while (first.done !== true && first.value.byteLength === 0) first = await iterator.next();
    if (first.done === true) {
      finished = true;
      return;
    }
    const head = first.value;
    if (head[0] !== 0x1f || head[1] !== 0x8b) {
      yield* whole(head);
      return;
    }
    const gunzip = createGunzip();
    const compressed = Readable.from(whole(head), { objectMode: false });
    pipeline(compressed, gunzip, () => undefined);
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code?.startsWith('Z_')) throw new BadRequest('archive is not valid gzip');
      throw err;
    } finally {
      compressed.destroy();
    }
  } finally {
    if (!finished) await iterator.return?.();
  }
}

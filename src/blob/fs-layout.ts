/**
 * Where the fs driver keeps things under `artifacts.path`, and the confinement checks that keep every
 * access inside it:
 *
 *   objects/<key>   the bytes, one plain file per key
 *   meta/<key>      JSON {sha256, size, contentType, ino}: a parallel tree, so metadata can never
 *                   collide with a key (a sidecar `<key>.sha256` would shadow a key of that name)
 *   tmp/            uploads in progress; on the same filesystem, so the final rename is atomic, and
 *                   outside objects/ so a half-written upload never shows in a listing
 *
 * The meta file records the inode of the object it describes. The object is renamed into place after
 * its meta file, so a reader between the two renames sees a meta file for another inode and reports no
 * sha256 rather than a wrong one.
 */
import { constants } from 'node:fs';
import { mkdir, open, readFile, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { BadRequest } from '../domain/errors.js';

export interface Layout {
  objects: string;
  meta: string;
  tmp: string;
}

export interface MetaRecord {
  v: 1;
  sha256: string;
  size: number;
  contentType?: string | undefined;
  /** Inode of the object file this record describes, as a decimal string (inodes can exceed 2^53). */
  ino: string;
}

/** Creates the three trees and returns them by their real paths, against which confinement is judged. */
export async function prepareLayout(root: string): Promise<Layout> {
  const dirs = { objects: join(root, 'objects'), meta: join(root, 'meta'), tmp: join(root, 'tmp') };
  await Promise.all(Object.values(dirs).map((d) => mkdir(d, { recursive: true, mode: 0o700 })));
  const [objects, meta, tmp] = await Promise.all([realpath(dirs.objects), realpath(dirs.meta), realpath(dirs.tmp)]);
  return { objects, meta, tmp };
}

/**
 * A key whose path would leave the store. A BadRequest for writes; reads treat it as "no such object",
 * since what is outside the store is not in it.
 */
export class OutsideStore extends BadRequest {
  constructor() {
    super('object key resolves outside the artifact store');
  }
}

function inside(base: string, candidate: string): boolean {
  const rel = relative(base, candidate);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/** Pure: the path of a (normalised) key under a tree, refusing anything that would leave it. */
export function pathIn(base: string, key: string): string {
  const p = join(base, ...key.split('/'));
  if (!inside(base, p)) throw new OutsideStore();
  return p;
}

/**
 * Refuses a path whose parent directory really lives outside `base`: a symlinked directory inside the
 * root must not lead reads, writes or deletes out of it. (The last component is opened with
 * O_NOFOLLOW or replaced by rename, neither of which follows a symlink.) Throws ENOENT when the parent
 * does not exist, which callers treat as "no such object".
 */
export async function assertConfined(base: string, path: string): Promise<void> {
  const parent = await realpath(dirname(path));
  if (parent !== base && !parent.startsWith(base + sep)) throw new OutsideStore();
}

export async function ensureParent(base: string, path: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await assertConfined(base, path);
}

export async function readMeta(path: string): Promise<MetaRecord | undefined> {
  try {
    const parsed = JSON.parse(await readFile(path, { encoding: 'utf8', flag: constants.O_RDONLY | constants.O_NOFOLLOW })) as MetaRecord;
    return parsed.v === 1 && typeof parsed.sha256 === 'string' && typeof parsed.ino === 'string' ? parsed : undefined;
  } catch {
    // A missing or unreadable meta file only costs the sha256; the object itself is still served.
    return undefined;
  }
}

/** Writes a small file and fsyncs it before returning, so a later rename publishes complete bytes. */
export async function writeDurable(path: string, data: string): Promise<void> {
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(data, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Makes a completed rename durable: the directory entry, not just the file data, reaches the disk. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The errno code of a filesystem error, if it is one. */
export function errnoOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

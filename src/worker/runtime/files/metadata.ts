/**
 * stat and list. Entries are described with lstat — a symlink is reported as a symlink, never
 * followed — and recursion descends only into real directories, so listing a tree that contains a
 * link to `/` shows the link and stops there.
 */
import type { Stats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Workspace } from './confine.js';
import { SANDBOX_ROOT, resolveInWorkspace } from './confine.js';
import type { PinnedDir } from './dir.js';
import { skipVanished, withDir } from './dir.js';
import { fsError } from './fs-errors.js';

export interface FileInfo {
  name: string;
  /** Sandbox path (`/workspace/...`). */
  path: string;
  size: number;
  isDir: boolean;
  isSymlink: boolean;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  mtimeMs: number;
}

export function fileInfo(name: string, path: string, info: Stats): FileInfo {
  return {
    name,
    path,
    size: info.size,
    isDir: info.isDirectory(),
    isSymlink: info.isSymbolicLink(),
    mode: info.mode & 0o7777,
    mtimeMs: Math.floor(info.mtimeMs),
  };
}

export async function statPath(ws: Workspace, path: string): Promise<FileInfo> {
  const target = await resolveInWorkspace(ws, path);
  try {
    if (target.isRoot) return fileInfo('workspace', SANDBOX_ROOT, await lstat(ws.root));
    const info = await withDir(ws, dirname(target.host), (dir) => lstat(dir.at(basename(target.host))));
    return fileInfo(target.segments.at(-1) ?? 'workspace', target.sandbox, info);
  } catch (err) {
    throw fsError(err, target.sandbox);
  }
}

export interface ListOptions {
  recursive?: boolean | undefined;
  /** Stop after this many entries and report `truncated` (default 10,000). */
  limit?: number | undefined;
}

export interface Listing {
  items: FileInfo[];
  truncated: boolean;
}

export const DEFAULT_LIST_LIMIT = 10_000;

export async function listDirectory(ws: Workspace, path: string, options: ListOptions = {}): Promise<Listing> {
  const target = await resolveInWorkspace(ws, path);
  const limit = options.limit ?? DEFAULT_LIST_LIMIT;
  const items: FileInfo[] = [];
  try {
    // One entry past the limit tells "cut" from "exactly limit".
    await withDir(ws, target.host, (dir) =>
      walk(dir, target.sandbox, options.recursive === true, (entry) => items.push(entry) <= limit),
    );
  } catch (err) {
    throw fsError(err, target.sandbox);
  }
  return { items: items.slice(0, limit), truncated: items.length > limit };
}

/**
 * Depth-first, names sorted within a directory; `visit` returns false to stop. Returns false when
 * stopped. Children are opened from the parent's descriptor with O_NOFOLLOW (dir.ts).
 */
export async function walk(
  dir: PinnedDir,
  sandboxPath: string,
  recursive: boolean,
  visit: (entry: FileInfo) => boolean | Promise<boolean>,
): Promise<boolean> {
  const names = (await readdir(dir.self())).sort();
  for (const name of names) {
    const info = await lstat(dir.at(name)).catch(() => undefined);
    if (info === undefined) continue; // removed while we listed
    const entry = fileInfo(name, `${sandboxPath}/${name}`, info);
    if (!(await visit(entry))) return false;
    if (recursive && info.isDirectory()) {
      const child = await dir.openDir(name).catch(skipVanished);
      if (child === undefined) continue; // removed or swapped for a symlink: not followed
      try {
        if (!(await walk(child, entry.path, true, visit))) return false;
      } finally {
        await child.close();
      }
    }
  }
  return true;
}

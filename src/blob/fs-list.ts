/**
 * Listing the fs driver's objects in S3's order (ascending UTF-8 bytes of the whole key) by walking
 * the directory tree. Sorting each directory by name alone would be wrong: `a-c` sorts before `a/b`
 * ('-' < '/'), yet a walk that recursed into `a` first would emit `a/b` first. Comparing a directory
 * as `name/` restores key order, since every key below it shares that prefix. Subtrees that cannot
 * intersect the prefix, or that lie wholly before the cursor, are skipped unread.
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoOf } from './fs-layout.js';
import type { ListItem } from './types.js';

export function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

interface Entry {
  /** Key of the file, or key prefix (ending '/') of the directory. */
  sortKey: string;
  name: string;
  dir: boolean;
}

async function entries(dirPath: string, dirKey: string): Promise<Entry[]> {
  let dirents;
  try {
    dirents = await readdir(dirPath, { withFileTypes: true });
  } catch (err) {
    if (errnoOf(err) === 'ENOENT' || errnoOf(err) === 'ENOTDIR') return [];
    throw err;
  }
  const out: Entry[] = [];
  for (const d of dirents) {
    // Only plain files and directories are objects; a symlink is never followed, not even to list it.
    if (d.isDirectory()) out.push({ sortKey: `${dirKey}${d.name}/`, name: d.name, dir: true });
    else if (d.isFile()) out.push({ sortKey: `${dirKey}${d.name}`, name: d.name, dir: false });
  }
  return out.sort((a, b) => compareKeys(a.sortKey, b.sortKey));
}

/**
 * Keys under `objectsRoot` that start with `prefix` and sort after `after`, in order, stopping after
 * `max` items. Files that vanish mid-walk (a concurrent delete) are skipped.
 */
export async function listObjects(objectsRoot: string, prefix: string, after: string | undefined, max: number): Promise<ListItem[]> {
  const items: ListItem[] = [];
  const startDir = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/') + 1) : '';

  const walk = async (dirKey: string): Promise<void> => {
    for (const e of await entries(join(objectsRoot, ...dirKey.split('/').filter(Boolean)), dirKey)) {
      if (items.length >= max) return;
      if (e.dir) {
        const intersects = e.sortKey.startsWith(prefix) || prefix.startsWith(e.sortKey);
        const beforeCursor = after !== undefined && compareKeys(e.sortKey, after) < 0 && !after.startsWith(e.sortKey);
        if (intersects && !beforeCursor) await walk(e.sortKey);
        continue;
      }
      if (!e.sortKey.startsWith(prefix)) continue;
      if (after !== undefined && compareKeys(e.sortKey, after) <= 0) continue;
      try {
        const st = await lstat(join(objectsRoot, ...e.sortKey.split('/')));
        if (st.isFile()) items.push({ key: e.sortKey, size: st.size, lastModified: Math.floor(st.mtimeMs) });
      } catch (err) {
        if (errnoOf(err) !== 'ENOENT') throw err;
      }
    }
  };

  await walk(startDir);
  return items;
}

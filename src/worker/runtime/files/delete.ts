/**
 * delete: a file or symlink (the link itself), an empty directory, or with `recursive` a whole tree.
 * The tree is removed through directory descriptors opened with O_NOFOLLOW — never by path — so a
 * directory swapped for a symlink to `/` while we delete makes the delete fail, not delete `/`.
 * The workspace root itself is refused.
 */
import { lstat, readdir, rmdir, unlink } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { BadRequest, Conflict } from '../../../domain/errors.js';
import type { Workspace } from './confine.js';
import { resolveInWorkspace } from './confine.js';
import type { PinnedDir } from './dir.js';
import { withDir } from './dir.js';
import { fsError } from './fs-errors.js';

export async function deletePath(ws: Workspace, path: string, options: { recursive?: boolean } = {}): Promise<{ path: string }> {
  const target = await resolveInWorkspace(ws, path, { followLast: false });
  if (target.isRoot) throw new BadRequest('refusing to delete the workspace root');
  try {
    await withDir(ws, dirname(target.host), async (dir) => {
      const name = basename(target.host);
      const info = await lstat(dir.at(name));
      if (!info.isDirectory()) return unlink(dir.at(name));
      if (options.recursive === true) return removeTree(dir, name);
      return rmdir(dir.at(name)).catch((err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOTEMPTY' || err.code === 'EEXIST') {
          throw new Conflict('directory is not empty; delete it with recursive', { path: target.sandbox });
        }
        throw err;
      });
    });
  } catch (err) {
    throw fsError(err, target.sandbox);
  }
  return { path: target.sandbox };
}

async function removeTree(parent: PinnedDir, name: string): Promise<void> {
  const dir = await parent.openDir(name);
  try {
    for (const entry of await readdir(dir.self())) {
      const info = await lstat(dir.at(entry)).catch(() => undefined);
      if (info === undefined) continue;
      if (info.isDirectory()) await removeTree(dir, entry);
      else await unlink(dir.at(entry)).catch(ignoreMissing);
    }
  } finally {
    await dir.close();
  }
  await rmdir(parent.at(name));
}

function ignoreMissing(err: NodeJS.ErrnoException): void {
  if (err.code !== 'ENOENT') throw err;
}

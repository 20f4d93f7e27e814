/**
 * chmod, following a symlink only as far as resolveInWorkspace allows (to a target inside). The change
 * is made through a descriptor opened with O_NOFOLLOW, so a symlink swapped in after the check is not
 * followed; a file the worker may not open for reading (it is not root) falls back to a path chmod
 * after checking the last component is not a symlink.
 */
import { constants } from 'node:fs';
import { chmod, lstat, open } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { BadRequest } from '../../../domain/errors.js';
import type { Workspace } from './confine.js';
import { resolveInWorkspace } from './confine.js';
import { withDir } from './dir.js';
import { fsError } from './fs-errors.js';
import type { FileInfo } from './metadata.js';
import { statPath } from './metadata.js';
import { parseMode } from './mode.js';

const FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

export async function changeMode(ws: Workspace, path: string, mode: number | string): Promise<FileInfo> {
  const bits = parseMode(mode);
  const target = await resolveInWorkspace(ws, path);
  try {
    if (target.isRoot) {
      await chmod(ws.root, bits);
    } else {
      await withDir(ws, dirname(target.host), async (dir) => {
        const name = dir.at(basename(target.host));
        const file = await open(name, FLAGS).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'EACCES') return undefined;
          throw err;
        });
        if (file !== undefined) {
          try {
            await file.chmod(bits);
          } finally {
            await file.close();
          }
          return;
        }
        if ((await lstat(name)).isSymbolicLink()) throw new BadRequest('path is a symlink; refused');
        await chmod(name, bits);
      });
    }
  } catch (err) {
    throw fsError(err, target.sandbox);
  }
  return statPath(ws, target.sandbox);
}

/**
 * move: rename(2) semantics — a file replaces a file at the destination, a directory may replace an
 * empty directory, nothing is moved "into" an existing directory. Both ends are confined and a symlink
 * at either end is moved or replaced itself, never followed. Missing parents of the destination are
 * created, as for uploads.
 */
import { rename } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { BadRequest, NotFound } from '../../../domain/errors.js';
import type { Workspace } from './confine.js';
import { resolveInWorkspace } from './confine.js';
import { PinnedDir } from './dir.js';
import { fsError } from './fs-errors.js';

export async function movePath(ws: Workspace, from: string, to: string): Promise<{ from: string; to: string }> {
  const source = await resolveInWorkspace(ws, from, { followLast: false });
  const destination = await resolveInWorkspace(ws, to, { followLast: false });
  if (source.isRoot || destination.isRoot) throw new BadRequest('cannot move the workspace root');
  if (!source.exists) throw new NotFound(`path ${source.sandbox}`);
  let fromDir: PinnedDir | undefined;
  let toDir: PinnedDir | undefined;
  try {
    fromDir = await PinnedDir.at(ws, dirname(source.host));
    toDir = await PinnedDir.at(ws, dirname(destination.host), {});
    await rename(fromDir.at(basename(source.host)), toDir.at(basename(destination.host)));
    return { from: source.sandbox, to: destination.sandbox };
  } catch (err) {
    // EINVAL: a directory moved into itself; ENOENT here is the source vanishing mid-way.
    throw fsError(err, source.sandbox);
  } finally {
    await fromDir?.close();
    await toDir?.close();
  }
}

/** mkdir with parents (mkdir -p): idempotent for an existing directory, Conflict for anything else. */
import { lstat } from 'node:fs/promises';
import { Conflict } from '../../../domain/errors.js';
import type { Workspace } from './confine.js';
import { resolveInWorkspace } from './confine.js';
import { withDir } from './dir.js';
import { fsError } from './fs-errors.js';
import type { FileInfo } from './metadata.js';
import { statPath } from './metadata.js';
import { parseMode } from './mode.js';

export async function makeDirectory(ws: Workspace, path: string, options: { mode?: number } = {}): Promise<FileInfo> {
  const mode = options.mode === undefined ? 0o755 : parseMode(options.mode);
  const target = await resolveInWorkspace(ws, path);
  try {
    if (target.exists) {
      const info = await lstat(target.host);
      if (!info.isDirectory()) throw new Conflict('path exists and is not a directory', { path: target.sandbox });
    } else {
      await withDir(ws, target.host, async () => undefined, { mode });
    }
  } catch (err) {
    throw fsError(err, target.sandbox);
  }
  return statPath(ws, target.sandbox);
}

/**
 * A directory held open by descriptor, reached from the workspace root one component at a time with
 * O_NOFOLLOW. Files are then addressed relative to the descriptor (`/proc/self/fd/N/name`, which the
 * kernel resolves like openat()), so once a directory is open, renaming or swapping the path that led to
 * it for a symlink cannot redirect the operation outside the workspace: the check and the use are the
 * same object. Without /proc (not Linux), paths are joined instead — each step still refuses a symlink
 * in its last component, but intermediate components are re-resolved (documented weaker fallback).
 */
import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { BadRequest, Conflict } from '../../../domain/errors.js';
import type { Workspace } from './confine.js';
import { relativeSegments } from './confine.js';

const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * Recursive walks (list, glob, archive, delete) hold one descriptor per level. Descriptors are a
 * process-wide resource, so one sandbox's absurdly deep tree must not starve the worker (EMFILE for
 * everyone): below this many levels under the starting directory, a walk refuses with TreeTooDeep.
 */
export const MAX_WALK_DEPTH = 256;

export class TreeTooDeep extends Conflict {
  constructor() {
    super(`directory tree is more than ${MAX_WALK_DEPTH} levels deep below the requested path`);
  }
}

/** For walkers: an entry that vanished or was swapped for a symlink is skipped; too deep is not. */
export function skipVanished(err: unknown): undefined {
  if (err instanceof TreeTooDeep) throw err;
  return undefined;
}

export class PinnedDir {
  private constructor(
    private readonly handle: FileHandle,
    private readonly hostPath: string,
    private readonly viaProc: boolean,
    /** Levels of descriptors held above this one in the current walk (0 for a walk's start). */
    private readonly depth = 0,
  ) {}

  static async root(ws: Workspace): Promise<PinnedDir> {
    return new PinnedDir(await open(ws.root, DIR_FLAGS), ws.root, ws.procFd);
  }

  /**
   * Open the directory at `hostPath` (a path resolveInWorkspace returned) by walking from the root.
   * With `create`, missing components are created (mkdir -p), each inside the one already open.
   */
  static async at(ws: Workspace, hostPath: string, create?: { mode?: number }): Promise<PinnedDir> {
    let dir = await PinnedDir.root(ws);
    try {
      for (const name of relativeSegments(ws, hostPath)) {
        // Each parent is closed once the child is open, so the walk down holds one descriptor.
        const next = create ? await dir.openOrCreateDir(name, create.mode ?? 0o755) : await dir.open(name, 0);
        await dir.close();
        dir = next;
      }
      return dir;
    } catch (err) {
      await dir.close();
      throw err;
    }
  }

  /** A path naming `name` inside this directory (never crossing a symlink on the way to it). */
  at(name: string): string {
    if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
      throw new BadRequest('invalid file name');
    }
    return this.viaProc ? `/proc/self/fd/${this.handle.fd}/${name}` : join(this.hostPath, name);
  }

  /** A path naming this directory itself (for readdir). */
  self(): string {
    return this.viaProc ? `/proc/self/fd/${this.handle.fd}` : this.hostPath;
  }

  /** A subdirectory, one level deeper in the current walk. */
  async openDir(name: string): Promise<PinnedDir> {
    if (this.depth >= MAX_WALK_DEPTH) throw new TreeTooDeep();
    return this.open(name, this.depth + 1);
  }

  private async open(name: string, depth: number): Promise<PinnedDir> {
    const handle = await open(this.at(name), DIR_FLAGS).catch((err: NodeJS.ErrnoException) => {
      // ELOOP: the component is a symlink now (swapped in after the check); never followed.
      if (err.code === 'ELOOP') throw new BadRequest('path changed into a symlink during the operation');
      if (err.code === 'ENOTDIR') throw new BadRequest('path (or one of its parents) is not a directory');
      throw err;
    });
    return new PinnedDir(handle, join(this.hostPath, name), this.viaProc, depth);
  }

  private async openOrCreateDir(name: string, mode: number): Promise<PinnedDir> {
    try {
      return await this.open(name, 0);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    // mkdir never follows a symlink in its last component (EEXIST instead), so a racing symlink
    // cannot make us create a directory elsewhere; a racing mkdir by the sandbox is fine.
    await mkdir(this.at(name), { mode }).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EEXIST') throw err;
    });
    return this.open(name, 0);
  }

  /** fsync the directory (makes a rename inside it durable). */
  async sync(): Promise<void> {
    await this.handle.sync();
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/** Run `fn` with the directory open, closing it afterwards whatever happens. */
export async function withDir<T>(
  ws: Workspace,
  hostPath: string,
  fn: (dir: PinnedDir) => Promise<T>,
  create?: { mode?: number },
): Promise<T> {
  const dir = await PinnedDir.at(ws, hostPath, create);
  try {
    return await fn(dir);
  } finally {
    await dir.close();
  }
}

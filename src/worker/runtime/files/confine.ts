/**
 * Path confinement (03-worker.md, "Path confinement"; 06-quality.md security item 3). Every file
 * operation names a path as the sandbox sees it — `/workspace/...` or relative to `/workspace` — and
 * this module is the only way such a path becomes a host path.
 *
 * Two layers, because the worker runs outside the sandbox with more rights than the code inside it, and
 * that code can rewrite the workspace (plant symlinks, swap directories) while we work:
 *  1. `parseSandboxPath` (pure): NUL, overlong, `..` and absolute paths outside /workspace are refused.
 *     Any `..` segment is refused, even one that would stay inside: it is never needed by a client that
 *     knows the path it wants, and refusing it removes a whole class of lexical tricks.
 *  2. `resolveInWorkspace`: walks the path from the workspace root; every symlink met is resolved to its
 *     real path and refused when it lands outside. The result is a symlink-free host path at the time of
 *     the check. Operations then open it component by component with O_NOFOLLOW (dir.ts), so a symlink
 *     swapped in after the check makes the operation fail instead of escaping.
 * Error messages name sandbox paths only: host paths (the worker's data dir) never leave the worker.
 */
import { lstat, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BadRequest } from '../../../domain/errors.js';

export const SANDBOX_ROOT = '/workspace';
/** PATH_MAX and NAME_MAX on Linux, in bytes. */
export const MAX_PATH_BYTES = 4096;
export const MAX_SEGMENT_BYTES = 255;

/** A sandbox's workspace as the worker sees it. */
export interface Workspace {
  /** Real (symlink-free) host path of the directory mounted as /workspace. */
  readonly root: string;
  /**
   * Whether `/proc/self/fd/N/name` works here: then operations address files relative to an open
   * directory descriptor (an openat() the kernel resolves from the descriptor, not from the path),
   * which is what makes the O_NOFOLLOW walk immune to directories being swapped mid-operation.
   */
  readonly procFd: boolean;
}

export async function openWorkspace(hostDir: string): Promise<Workspace> {
  const root = await realpath(hostDir);
  if (root === '/') throw new Error('refusing to use / as a workspace');
  const info = await stat(root);
  if (!info.isDirectory()) throw new Error('workspace is not a directory');
  const procFd = await stat('/proc/self/fd').then(
    (s) => s.isDirectory(),
    () => false,
  );
  return { root, procFd };
}

/** The normalized segments of a sandbox path (empty = /workspace itself). Pure. */
export function parseSandboxPath(input: string): string[] {
  if (typeof input !== 'string' || input.length === 0) throw new BadRequest('path is required');
  if (input.includes('\0')) throw new BadRequest('path contains a NUL byte');
  if (Buffer.byteLength(input) > MAX_PATH_BYTES) throw new BadRequest(`path is longer than ${MAX_PATH_BYTES} bytes`);
  let rest = input;
  if (input.startsWith('/')) {
    if (input !== SANDBOX_ROOT && !input.startsWith(`${SANDBOX_ROOT}/`)) {
      throw new BadRequest(`path must be inside ${SANDBOX_ROOT}`, { path: input });
    }
    rest = input.slice(SANDBOX_ROOT.length);
  }
  const segments: string[] = [];
  for (const segment of rest.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') throw new BadRequest('path may not contain ".." segments', { path: input });
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) {
      throw new BadRequest(`a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
    segments.push(segment);
  }
  return segments;
}

export function sandboxPathOf(segments: readonly string[]): string {
  return segments.length === 0 ? SANDBOX_ROOT : `${SANDBOX_ROOT}/${segments.join('/')}`;
}

export function isInside(root: string, hostPath: string): boolean {
  return hostPath === root || hostPath.startsWith(`${root}/`);
}

export interface Resolved {
  /** Host path, symlink-free up to the last component (and including it unless followLast: false). */
  host: string;
  /** The normalized path as the sandbox names it (what replies report). */
  sandbox: string;
  segments: string[];
  /** True when this is /workspace itself. */
  isRoot: boolean;
  /** Whether something exists at `host` (as of the check). */
  exists: boolean;
}

export interface ResolveOptions {
  /**
   * Follow a symlink in the last component (default true: read, write, stat, chmod act on the target,
   * as POSIX tools do). Delete and move act on the link itself, so they pass false.
   */
  followLast?: boolean;
}

/**
 * Resolve a sandbox path to a host path inside the workspace, or throw BadRequest. Symlinks in the
 * path are followed only while they stay inside the workspace; a dangling one is refused, because
 * creating "through" it would create wherever it points.
 */
export async function resolveInWorkspace(ws: Workspace, input: string, options: ResolveOptions = {}): Promise<Resolved> {
  const segments = parseSandboxPath(input);
  const followLast = options.followLast ?? true;
  const sandbox = sandboxPathOf(segments);
  let real = ws.root;
  for (let i = 0; i < segments.length; i++) {
    const candidate = join(real, segments[i]!);
    const last = i === segments.length - 1;
    const info = await lstat(candidate).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      if (err.code === 'ENOTDIR') throw new BadRequest('a parent of the path is not a directory', { path: sandbox });
      throw err;
    });
    if (info === undefined) {
      return { host: join(candidate, ...segments.slice(i + 1)), sandbox, segments, isRoot: false, exists: false };
    }
    if (info.isSymbolicLink() && (!last || followLast)) {
      const target = await realpath(candidate).catch(() => {
        throw new BadRequest('path goes through a symlink whose target does not exist', { path: sandbox });
      });
      if (!isInside(ws.root, target)) {
        throw new BadRequest('path escapes the workspace through a symlink', { path: sandbox });
      }
      real = target;
    } else {
      real = candidate;
    }
  }
  return { host: real, sandbox, segments, isRoot: real === ws.root, exists: true };
}

/** The workspace-relative components of a host path that resolveInWorkspace returned. */
export function relativeSegments(ws: Workspace, hostPath: string): string[] {
  if (!isInside(ws.root, hostPath)) throw new BadRequest('path escapes the workspace');
  return hostPath === ws.root ? [] : hostPath.slice(ws.root.length + 1).split('/');
}

/**
 * File-system errors → domain errors, in one table. Node's messages contain host paths (the worker's
 * data dir), so they are replaced by messages naming the sandbox path.
 */
import { BadRequest, Conflict, DroverError, NotFound } from '../../../domain/errors.js';

/** A Range that does not overlap the file (HTTP 416 at the edge); `size` is the file's length. */
export class RangeNotSatisfiable extends BadRequest {
  constructor(readonly size: number) {
    super('requested range is not satisfiable', { size, reason: 'range_not_satisfiable' });
  }
}

export function fsError(err: unknown, sandboxPath: string): Error {
  if (err instanceof DroverError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const details = { path: sandboxPath };
  switch (code) {
    case 'ENOENT':
      return new NotFound(`path ${sandboxPath}`);
    case 'EEXIST':
      return new Conflict('path already exists', details);
    case 'ENOTEMPTY':
      return new Conflict('directory is not empty', details);
    case 'EISDIR':
      return new BadRequest('path is a directory', details);
    case 'ENOTDIR':
      return new BadRequest('path (or one of its parents) is not a directory', details);
    case 'ELOOP':
      return new BadRequest('path is a symlink; refused', details);
    case 'ENAMETOOLONG':
      return new BadRequest('path is too long', details);
    case 'EINVAL':
      return new BadRequest('invalid operation on this path', details);
    case 'EXDEV':
      return new BadRequest('cannot move across file systems', details);
    case 'EBUSY':
      return new Conflict('path is busy', details);
    case 'EACCES':
    case 'EPERM':
      return new DroverError('forbidden', 'permission denied', details);
    case 'ENOSPC':
    case 'EDQUOT':
      return new DroverError('payload_too_large', 'no space left in the sandbox', details);
    default:
      return err instanceof Error ? err : new Error(String(err));
  }
}

/** Await `promise`, translating file-system errors for `sandboxPath`. */
export async function mapFsErrors<T>(sandboxPath: string, promise: Promise<T>): Promise<T> {
  try {
    return await promise;
  } catch (err) {
    throw fsError(err, sandboxPath);
  }
}

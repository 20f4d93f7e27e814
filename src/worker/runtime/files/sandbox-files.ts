/**
 * The file API of one sandbox, as the worker's RPC and data-plane servers call it. Every method takes
 * sandbox paths (`/workspace/...` or relative to it), confines them (confine.ts), and throws domain
 * errors only: BadRequest for a refused path (traversal, NUL, overlong, symlink escape), NotFound,
 * Conflict, `payload_too_large`, `forbidden`; RangeNotSatisfiable (a BadRequest) for a bad Range.
 */
import type { ArchiveOut } from './archive-out.js';
import { openArchiveOut } from './archive-out.js';
import type { ExtractOptions, ExtractResult } from './archive-in.js';
import { extractArchive } from './archive-in.js';
import { changeMode } from './chmod.js';
import type { Workspace } from './confine.js';
import { openWorkspace } from './confine.js';
import { deletePath } from './delete.js';
import type { ByteRange, Download } from './download.js';
import { openDownload } from './download.js';
import type { GlobOptions } from './glob.js';
import { globPaths } from './glob.js';
import type { FileInfo, Listing, ListOptions } from './metadata.js';
import { listDirectory, statPath } from './metadata.js';
import { makeDirectory } from './mkdir.js';
import { movePath } from './move.js';
import type { UploadOptions, UploadResult } from './upload.js';
import { uploadFile } from './upload.js';

export class SandboxFiles {
  private constructor(readonly workspace: Workspace) {}

  /** `hostDir` is the provider's RuntimeHandle.workspace. */
  static async open(hostDir: string): Promise<SandboxFiles> {
    return new SandboxFiles(await openWorkspace(hostDir));
  }

  upload(path: string, source: AsyncIterable<Uint8Array>, options?: UploadOptions): Promise<UploadResult> {
    return uploadFile(this.workspace, path, source, options);
  }

  download(path: string, range?: ByteRange): Promise<Download> {
    return openDownload(this.workspace, path, range);
  }

  stat(path: string): Promise<FileInfo> {
    return statPath(this.workspace, path);
  }

  list(path: string, options?: ListOptions): Promise<Listing> {
    return listDirectory(this.workspace, path, options);
  }

  glob(pattern: string, options?: GlobOptions): Promise<Listing> {
    return globPaths(this.workspace, pattern, options);
  }

  mkdir(path: string, options?: { mode?: number }): Promise<FileInfo> {
    return makeDirectory(this.workspace, path, options);
  }

  move(from: string, to: string): Promise<{ from: string; to: string }> {
    return movePath(this.workspace, from, to);
  }

  chmod(path: string, mode: number | string): Promise<FileInfo> {
    return changeMode(this.workspace, path, mode);
  }

  delete(path: string, options?: { recursive?: boolean }): Promise<{ path: string }> {
    return deletePath(this.workspace, path, options);
  }

  archiveOut(path: string): Promise<ArchiveOut> {
    return openArchiveOut(this.workspace, path);
  }

  archiveIn(path: string, source: AsyncIterable<Uint8Array>, options?: ExtractOptions): Promise<ExtractResult> {
    return extractArchive(this.workspace, path, source, options);
  }
}

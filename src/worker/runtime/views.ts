/**
 * Runtime results → the JSON shapes of 02-api.md (snake_case, `_ms` durations, RFC 3339 times), so
 * the RPC server and the data-plane routes answer identically. Frames have their own: toWireFrame.
 */
import { toRfc3339 } from '../../domain/clock.js';
import type { ExecResult } from './exec.js';
import type { FileInfo } from './files/metadata.js';
import type { ProcessInfo } from './processes.js';

export function execResultView(result: ExecResult) {
  return {
    exit_code: result.exitCode,
    signal: result.signal,
    stdout: result.stdout,
    stderr: result.stderr,
    encoding: result.encoding,
    truncated: result.truncated,
    duration_ms: result.durationMs,
    timed_out: result.timedOut,
  };
}

export function processView(info: ProcessInfo) {
  return {
    id: info.id,
    pid: info.pid,
    command: info.command,
    pty: info.pty,
    running: info.running,
    exit_code: info.exitCode,
    signal: info.signal,
    started_at: toRfc3339(info.startedAt),
    exited_at: info.exitedAt === null ? null : toRfc3339(info.exitedAt),
    first_seq: info.firstSeq,
    last_seq: info.lastSeq,
  };
}

/** `mode` is the permission bits as a number (0o644 → 420), as stat(2) has them. */
export function fileInfoView(info: FileInfo) {
  return {
    name: info.name,
    path: info.path,
    size: info.size,
    is_dir: info.isDir,
    is_symlink: info.isSymlink,
    mode: info.mode,
    mtime: toRfc3339(info.mtimeMs),
  };
}

/**
 * Synchronous exec (02-api.md `POST .../exec`): run to completion and answer with both outputs.
 *
 * - `timeoutMs`: at the deadline the whole process group gets SIGKILL and the result says `timedOut`
 *   with whatever output came before (more useful to a caller than a bare 504).
 * - Output is capped per stream (default 10 MiB); past the cap we keep reading and discarding, so a
 *   chatty process is never blocked on a full pipe, and say `truncated`.
 * - `encoding` is `utf8` when both outputs are valid UTF-8 (a character cut by the cap is dropped
 *   first), else `base64` for both: one field covers both, as the API has it.
 * - `durationMs` is measured on a monotonic clock: a duration must not jump with the wall clock.
 */
import { isUtf8 } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import type { ExitInfo } from '../providers/types.js';
import type { LaunchRequest, RuntimeTarget } from './launch.js';
import { checkTimeout, feedStdin, launch } from './launch.js';

export const DEFAULT_MAX_OUTPUT_BYTES = 10 * 1024 * 1024;

export interface ExecRequest extends Omit<LaunchRequest, 'pty'> {
  timeoutMs?: number | undefined;
  /** Written to stdin, which is then closed (absent: stdin is closed at once). */
  stdin?: Buffer | string | undefined;
}

export interface ExecOptions {
  /** Per stream. */
  maxOutputBytes?: number | undefined;
  /** Aborting kills the process group (the caller went away). */
  signal?: AbortSignal | undefined;
  /** Monotonic milliseconds; injectable for tests. */
  now?: (() => number) | undefined;
}

export interface ExecResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  encoding: 'utf8' | 'base64';
  truncated: boolean;
  durationMs: number;
  timedOut: boolean;
}

export async function runExec(target: RuntimeTarget, request: ExecRequest, options: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = checkTimeout(request.timeoutMs);
  const now = options.now ?? (() => performance.now());
  options.signal?.throwIfAborted();
  const started = now();
  const { process: child } = await launch(target, { ...request, pty: undefined });
  const max = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const outputs = { stdout: new CappedBuffer(max), stderr: new CappedBuffer(max) };
  child.onOutput((stream, chunk) => outputs[stream].add(chunk));
  const exited = new Promise<ExitInfo>((resolve) => child.onExit(resolve));

  let timedOut = false;
  const kill = (): void => child.signal('SIGKILL');
  const timer =
    timeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          timedOut = true;
          kill();
        }, timeoutMs);
  options.signal?.addEventListener('abort', kill, { once: true });
  if (options.signal?.aborted === true) kill(); // aborted while the process was starting
  let exit: ExitInfo;
  try {
    feedStdin(child, request.stdin);
    exit = await exited;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', kill);
  }

  const stdout = outputs.stdout.bytes();
  const stderr = outputs.stderr.bytes();
  const text = isUtf8(stdout) && isUtf8(stderr);
  return {
    exitCode: exit.exitCode,
    signal: exit.signal,
    stdout: stdout.toString(text ? 'utf8' : 'base64'),
    stderr: stderr.toString(text ? 'utf8' : 'base64'),
    encoding: text ? 'utf8' : 'base64',
    truncated: outputs.stdout.truncated || outputs.stderr.truncated,
    durationMs: Math.max(0, Math.round(now() - started)),
    timedOut,
  };
}

/** Keeps the first `max` bytes and counts the rest. */
export class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  truncated = false;

  constructor(private readonly max: number) {}

  add(chunk: Buffer): void {
    const room = this.max - this.kept;
    if (chunk.length > room) this.truncated = true;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  /** The kept bytes; when truncated, without a UTF-8 sequence the cap cut in half. */
  bytes(): Buffer {
    const all = Buffer.concat(this.chunks, this.kept);
    return this.truncated ? dropPartialUtf8(all) : all;
  }
}

/** Remove an incomplete UTF-8 sequence at the end (at most 3 bytes), if there is one. Pure. */
export function dropPartialUtf8(bytes: Buffer): Buffer {
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: look further back
    const need = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return need > back ? bytes.subarray(0, bytes.length - back) : bytes;
  }
  return bytes;
}

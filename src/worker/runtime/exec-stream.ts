/**
 * Streaming exec (02-api.md, exec with `Accept: application/x-ndjson`): output frames as they come,
 * then exactly one exit frame, which is produced only after the process exited and every output frame
 * before it was handed to the consumer (the provider reports exit after all output).
 *
 * Backpressure: frames wait in a queue for the consumer; past `highWaterBytes` the provider is paused
 * (the process then blocks on its full pipe) and it resumes once the consumer has taken the queue down
 * to half. Memory per stream is bounded by the high-water mark plus one provider chunk.
 *
 * The stream is single-consumer. A consumer that stops early (break, return, error), an abort signal
 * or the timeout kills the process group; the timeout is reported as `timedOut` on the exit frame.
 */
import type { SandboxProcess } from '../providers/types.js';
import type { ExecRequest } from './exec.js';
import { Fifo } from './fifo.js';
import type { ExecFrame, OutputStream } from './frames.js';
import { MAX_FRAME_BYTES } from './frames.js';
import type { RuntimeTarget } from './launch.js';
import { checkTimeout, feedStdin, launch } from './launch.js';

export const DEFAULT_HIGH_WATER_BYTES = 1024 * 1024;
/** Bookkeeping cost counted per queued frame, so a flood of 1-byte chunks is bounded too. */
const FRAME_OVERHEAD = 64;

export interface ExecStreamOptions {
  signal?: AbortSignal | undefined;
  highWaterBytes?: number | undefined;
}

export interface ExecStream extends AsyncIterable<ExecFrame> {
  readonly pid: number;
  /** Kill the process group (the exit frame still follows). */
  kill(): void;
}

export async function startExecStream(
  target: RuntimeTarget,
  request: ExecRequest,
  options: ExecStreamOptions = {},
): Promise<ExecStream> {
  const timeoutMs = checkTimeout(request.timeoutMs);
  options.signal?.throwIfAborted();
  const { process: child } = await launch(target, { ...request, pty: undefined });
  const stream = new FrameStream(child, options.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES, timeoutMs, options.signal);
  feedStdin(child, request.stdin);
  return stream;
}

class FrameStream implements ExecStream {
  private readonly queue = new Fifo<ExecFrame>();
  private queuedBytes = 0;
  private paused = false;
  private seq = 0;
  private exited = false;
  private timedOut = false;
  private iterated = false;
  private wake: (() => void) | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onAbort = (): void => this.kill();

  constructor(
    private readonly child: SandboxProcess,
    private readonly highWater: number,
    timeoutMs: number | undefined,
    private readonly signal: AbortSignal | undefined,
  ) {
    child.onOutput((stream, chunk) => this.output(stream, chunk));
    child.onExit((exit) => {
      this.exited = true;
      this.detach();
      this.enqueue({ kind: 'exit', seq: ++this.seq, exitCode: exit.exitCode, signal: exit.signal, timedOut: this.timedOut });
    });
    if (timeoutMs !== undefined) {
      this.timer = setTimeout(() => {
        this.timedOut = true;
        this.kill();
      }, timeoutMs);
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    if (signal?.aborted === true) this.kill(); // aborted while the process was starting
  }

  get pid(): number {
    return this.child.pid;
  }

  kill(): void {
    if (!this.exited) this.child.signal('SIGKILL');
  }

  [Symbol.asyncIterator](): AsyncIterator<ExecFrame> {
    if (this.iterated) throw new Error('an exec stream can be read once');
    this.iterated = true;
    return this.frames();
  }

  private async *frames(): AsyncGenerator<ExecFrame> {
    try {
      for (;;) {
        const frame = this.queue.shift();
        if (frame === undefined) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          continue;
        }
        if (frame.kind === 'data') this.taken(frame.data.length);
        yield frame;
        if (frame.kind === 'exit') return;
      }
    } finally {
      // The consumer stopped before the exit frame: nobody will read the rest, so stop the process.
      this.kill();
      this.detach();
    }
  }

  private output(stream: OutputStream, chunk: Buffer): void {
    for (let offset = 0; offset < chunk.length; offset += MAX_FRAME_BYTES) {
      const data = chunk.subarray(offset, offset + MAX_FRAME_BYTES);
      this.queuedBytes += data.length + FRAME_OVERHEAD;
      this.enqueue({ kind: 'data', seq: ++this.seq, stream, data });
    }
    if (!this.paused && this.queuedBytes >= this.highWater) {
      this.paused = true;
      this.child.pause();
    }
  }

  private taken(bytes: number): void {
    this.queuedBytes -= bytes + FRAME_OVERHEAD;
    if (this.paused && this.queuedBytes <= this.highWater / 2) {
      this.paused = false;
      this.child.resume();
    }
  }

  private enqueue(frame: ExecFrame): void {
    this.queue.push(frame);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private detach(): void {
    clearTimeout(this.timer);
    this.signal?.removeEventListener('abort', this.onAbort);
  }
}

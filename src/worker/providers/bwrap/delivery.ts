/**
 * The delivery contract of a SandboxProcess, shared by pipe and PTY processes: output in order per
 * stream, nothing delivered while paused, output that arrives before anyone listens is kept for the
 * first listener, and the exit reported exactly once, after the last chunk has been delivered.
 */
import type { ExitInfo } from '../types.js';

type Stream = 'stdout' | 'stderr';
type OutputListener = (stream: Stream, chunk: Buffer) => void;
type ExitListener = (exit: ExitInfo) => void;

/** Turns the source's flow on and off (backpressure reaches the process through its pipe or pty). */
export interface Flow {
  pause(): void;
  resume(): void;
}

export class Delivery {
  private readonly outputListeners: OutputListener[] = [];
  private readonly exitListeners: ExitListener[] = [];
  private readonly queue: Array<[Stream, Buffer]> = [];
  private paused = false;
  private exit: ExitInfo | undefined;
  private exitDelivered = false;

  constructor(private readonly flow: Flow) {}

  onOutput(listener: OutputListener): void {
    this.outputListeners.push(listener);
    this.flush();
    this.maybeExit();
  }

  onExit(listener: ExitListener): void {
    this.exitListeners.push(listener);
    if (this.exitDelivered && this.exit) call(() => listener(this.exit as ExitInfo));
  }

  /** From the source: a chunk, delivered now or queued. */
  push(stream: Stream, chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.paused || this.outputListeners.length === 0 || this.queue.length > 0) {
      this.queue.push([stream, chunk]);
      this.flush();
      return;
    }
    this.deliver(stream, chunk);
  }

  /** From the source: the process ended and every byte of its output has been pushed. */
  finish(exit: ExitInfo): void {
    if (this.exit) return;
    this.exit = exit;
    this.maybeExit();
  }

  pause(): void {
    this.paused = true;
    this.flow.pause();
  }

  resume(): void {
    this.paused = false;
    this.flush();
    if (!this.paused) this.flow.resume();
    this.maybeExit();
  }

  get exited(): boolean {
    return this.exit !== undefined;
  }

  private flush(): void {
    while (!this.paused && this.outputListeners.length > 0 && this.queue.length > 0) {
      const [stream, chunk] = this.queue.shift() as [Stream, Buffer];
      this.deliver(stream, chunk);
    }
  }

  private deliver(stream: Stream, chunk: Buffer): void {
    for (const listener of this.outputListeners) call(() => listener(stream, chunk));
  }

  private maybeExit(): void {
    if (!this.exit || this.exitDelivered || this.paused) return;
    // Output nobody ever asked for is dropped rather than holding the exit back forever.
    if (this.queue.length > 0 && this.outputListeners.length > 0) return;
    this.queue.length = 0;
    this.exitDelivered = true;
    const exit = this.exit;
    for (const listener of this.exitListeners) call(() => listener(exit));
  }
}

/** A listener's exception must not tear down the stream plumbing (or the worker) it was called from. */
function call(fn: () => void): void {
  try {
    fn();
  } catch {
    // The listener's own bug; delivery to the others continues.
  }
}

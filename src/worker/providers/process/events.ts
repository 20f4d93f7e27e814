/**
 * The delivery half of a SandboxProcess, shared by every provider that runs (or emulates) processes:
 * output in arrival order per stream, pause/resume, and an exit that is reported once and only after
 * every chunk has reached the listeners.
 *
 * Two failures this prevents: a fast process (`true`) finishing before the caller has attached its
 * listeners (chunks and exit are held until someone listens), and an exit overtaking output that was
 * held back by pause() (the exit waits for the held chunks).
 */
import type { ExitInfo } from '../types.js';

export type OutputStream = 'stdout' | 'stderr';
type OutputListener = (stream: OutputStream, chunk: Buffer) => void;
type ExitListener = (exit: ExitInfo) => void;

export class ProcessEvents {
  private readonly outputListeners: OutputListener[] = [];
  private readonly exitListeners: ExitListener[] = [];
  /** Chunks not yet delivered: nobody listens yet, or delivery is paused. */
  private readonly held: Array<[OutputStream, Buffer]> = [];
  private paused = false;
  private exitInfo: ExitInfo | undefined;
  private exitDelivered = false;

  get exited(): boolean {
    return this.exitInfo !== undefined;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  output(stream: OutputStream, chunk: Buffer): void {
    if (chunk.length === 0) return;
    if (this.paused || this.outputListeners.length === 0 || this.held.length > 0) {
      this.held.push([stream, chunk]);
      return;
    }
    this.deliver(stream, chunk);
  }

  /** The source is finished (process gone, streams closed). Later calls are ignored. */
  exit(info: ExitInfo): void {
    if (this.exitInfo) return;
    this.exitInfo = info;
    this.maybeDeliverExit();
  }

  onOutput(listener: OutputListener): void {
    this.outputListeners.push(listener);
    this.flush();
  }

  onExit(listener: ExitListener): void {
    this.exitListeners.push(listener);
    if (this.exitDelivered && this.exitInfo) {
      // Registered after the fact: still called, but never synchronously inside onExit().
      const info = this.exitInfo;
      setImmediate(() => listener(info));
      return;
    }
    // An exit that happened before anyone listened is reported on the next turn, so a caller that
    // registers onExit and then onOutput in the same tick still gets the output first.
    if (this.exitInfo) setImmediate(() => this.maybeDeliverExit());
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.flush();
  }

  private flush(): void {
    while (!this.paused && this.outputListeners.length > 0 && this.held.length > 0) {
      const [stream, chunk] = this.held.shift() as [OutputStream, Buffer];
      this.deliver(stream, chunk);
    }
    this.maybeDeliverExit();
  }

  private maybeDeliverExit(): void {
    const info = this.exitInfo;
    if (!info || this.exitDelivered || this.exitListeners.length === 0) return;
    // Output nobody will ever read (no output listener) does not hold the exit back; paused or
    // not-yet-flushed output for a listener does.
    if (this.held.length > 0 && (this.paused || this.outputListeners.length > 0)) return;
    this.exitDelivered = true;
    for (const listener of this.exitListeners) listener(info);
  }

  private deliver(stream: OutputStream, chunk: Buffer): void {
    for (const listener of this.outputListeners) listener(stream, chunk);
  }
}

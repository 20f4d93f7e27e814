/**
 * A sandbox process on a pseudo-terminal (one output stream). The worker holds the master; the exit is
 * reported once nsenter has exited and the master has hit end of output (EIO once the last slave fd
 * is closed), so output still buffered in the terminal is never cut off — also while paused.
 * Writes and resizes are applied in call order: a resize runs `stty`, and input written after it must
 * not overtake it (a program reading that input may print its window size).
 */
import type { ChildProcess } from 'node:child_process';
import { write as fsWrite } from 'node:fs';
import tty from 'node:tty';
import type { ExitInfo, SandboxProcess } from '../types.js';
import { Delivery } from './delivery.js';

/** End of input on a terminal is the VEOF character, as when someone types Ctrl-D. */
const VEOF = Buffer.from([0x04]);

export class PtyProcess implements SandboxProcess {
  readonly pid: number;
  private readonly delivery: Delivery;
  private readonly reader: tty.ReadStream;
  private exit: ExitInfo | undefined;
  private outputEnded = false;
  private closed = false;
  /** Writes and resizes, in call order. */
  private ops: Promise<void> = Promise.resolve();
  private wantedSize: { cols: number; rows: number } | undefined;

  constructor(
    child: ChildProcess,
    private readonly master: number,
    private readonly signalGroup: (signal: NodeJS.Signals) => void,
    private readonly applySize: (size: { cols: number; rows: number }) => Promise<void>,
  ) {
    this.pid = child.pid ?? -1;
    this.reader = new tty.ReadStream(master);
    this.delivery = new Delivery({ pause: () => this.reader.pause(), resume: () => this.reader.resume() });
    this.reader.on('data', (chunk: Buffer | string) => this.delivery.push('stdout', Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk)));
    // EIO is how a pty master says "no slave left": the end of output, not a failure.
    this.reader.on('error', () => this.endOfOutput());
    this.reader.on('end', () => this.endOfOutput());
    this.reader.on('close', () => this.endOfOutput());
    child.once('exit', (code, signal) => {
      this.exit = { exitCode: signal ? null : code, signal };
      this.maybeFinish();
    });
    child.once('error', (err) => {
      this.delivery.push('stdout', Buffer.from(`drover: could not start the process: ${err.message}\r\n`));
      if (this.pid < 0) {
        this.exit = { exitCode: 126, signal: null };
        this.endOfOutput();
      }
    });
  }

  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): void {
    this.delivery.onOutput(listener);
  }

  onExit(listener: (exit: ExitInfo) => void): void {
    this.delivery.onExit(listener);
  }

  write(data: Buffer): void {
    const copy = Buffer.from(data);
    this.ops = this.ops.then(() => this.writeAll(copy));
  }

  endInput(): void {
    this.write(VEOF);
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.delivery.exited) this.signalGroup(signal);
  }

  resize(cols: number, rows: number): void {
    // Only the latest size matters: a burst of resizes (a window being dragged) runs stty once.
    const pending = this.wantedSize !== undefined;
    this.wantedSize = { cols, rows };
    if (pending) return;
    this.ops = this.ops.then(async () => {
      const size = this.wantedSize;
      this.wantedSize = undefined;
      if (size && !this.closed) await this.applySize(size).catch(() => {});
    });
  }

  pause(): void {
    this.delivery.pause();
  }

  resume(): void {
    this.delivery.resume();
  }

  private endOfOutput(): void {
    if (this.outputEnded) return;
    this.outputEnded = true;
    this.maybeFinish();
  }

  private maybeFinish(): void {
    if (!this.exit || !this.outputEnded) return;
    this.delivery.finish(this.exit);
    if (!this.closed) {
      this.closed = true;
      this.reader.destroy(); // Closes the master.
    }
  }

  /** The master is non-blocking: a full terminal buffer answers EAGAIN, so wait and try again. */
  private writeAll(data: Buffer): Promise<void> {
    return new Promise((resolve) => {
      let offset = 0;
      const step = (): void => {
        if (this.closed || offset >= data.length) return resolve();
        fsWrite(this.master, data, offset, data.length - offset, null, (err, written) => {
          if (err) {
            if ((err as NodeJS.ErrnoException).code === 'EAGAIN') setTimeout(step, 5);
            else resolve(); // The terminal is gone; input to a dead process is dropped.
            return;
          }
          offset += written;
          step();
        });
      };
      step();
    });
  }
}

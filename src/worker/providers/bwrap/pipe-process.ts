/** A sandbox process on pipes: stdout and stderr apart, exit when the process and its pipes are done. */
import type { ChildProcess } from 'node:child_process';
import type { SandboxProcess } from '../types.js';
import { Delivery } from './delivery.js';

export class PipeProcess implements SandboxProcess {
  readonly pid: number;
  private readonly delivery: Delivery;

  constructor(
    private readonly child: ChildProcess,
    private readonly signalGroup: (signal: NodeJS.Signals) => void,
  ) {
    this.pid = child.pid ?? -1;
    const { stdout, stderr, stdin } = child;
    this.delivery = new Delivery({
      pause: () => {
        stdout?.pause();
        stderr?.pause();
      },
      resume: () => {
        stdout?.resume();
        stderr?.resume();
      },
    });
    stdout?.on('data', (chunk: Buffer) => this.delivery.push('stdout', chunk));
    stderr?.on('data', (chunk: Buffer) => this.delivery.push('stderr', chunk));
    // Writing to a process that has stopped reading is the caller's race, not a worker crash.
    stdin?.on('error', () => {});
    // 'close' comes after the exit and after both pipes have ended, so after the last chunk: a
    // paused pipe does not end until resumed and drained.
    child.once('close', (code, signal) => this.delivery.finish({ exitCode: signal ? null : code, signal }));
    child.once('error', (err) => {
      this.delivery.push('stderr', Buffer.from(`drover: could not start the process: ${err.message}\n`));
      if (this.pid < 0) this.delivery.finish({ exitCode: 126, signal: null });
    });
  }

  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): void {
    this.delivery.onOutput(listener);
  }

  onExit(listener: (exit: { exitCode: number | null; signal: NodeJS.Signals | null }) => void): void {
    this.delivery.onExit(listener);
  }

  write(data: Buffer): void {
    if (this.child.stdin?.writable) this.child.stdin.write(data);
  }

  endInput(): void {
    this.child.stdin?.end();
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.delivery.exited) this.signalGroup(signal);
  }

  resize(): void {
    // No terminal: nothing to resize.
  }

  pause(): void {
    this.delivery.pause();
  }

  resume(): void {
    this.delivery.resume();
  }
}

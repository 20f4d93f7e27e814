/**
 * An emulated process playing a MockScript. Everything happens on later turns of the event loop (never
 * inside startProcess), like a real process, and goes through the same ProcessEvents as real ones, so
 * ordering, pause and exit-after-output behave exactly as the conformance suite expects.
 */
import type { ExitInfo, SandboxProcess } from '../types.js';
import { ProcessEvents } from '../process/events.js';
import type { MockScript } from './commands.js';

/** Signals whose default action is not to terminate; the emulation ignores them. */
const HARMLESS = new Set<NodeJS.Signals>(['SIGCHLD', 'SIGCONT', 'SIGURG', 'SIGWINCH', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU']);

export class MockProcess implements SandboxProcess {
  private readonly events = new ProcessEvents();
  private timer: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    readonly pid: number,
    private readonly script: MockScript,
    private readonly pty: boolean,
    private readonly onEnd: (proc: MockProcess) => void,
  ) {
    setImmediate(() => this.play());
  }

  get running(): boolean {
    return !this.ended;
  }

  onOutput(listener: (stream: 'stdout' | 'stderr', chunk: Buffer) => void): void {
    this.events.onOutput(listener);
  }

  onExit(listener: (exit: ExitInfo) => void): void {
    this.events.onExit(listener);
  }

  write(data: Buffer): void {
    if (this.ended || this.script.kind !== 'cat') return;
    const copy = Buffer.from(data);
    setImmediate(() => {
      if (!this.ended) this.emit('stdout', copy);
    });
  }

  endInput(): void {
    if (this.script.kind === 'cat') setImmediate(() => this.finish({ exitCode: 0, signal: null }));
  }

  signal(signal: NodeJS.Signals): void {
    if (this.ended || HARMLESS.has(signal)) return;
    this.finish({ exitCode: null, signal });
  }

  resize(): void {}

  pause(): void {
    this.events.pause();
  }

  resume(): void {
    this.events.resume();
  }

  private play(): void {
    if (this.ended) return;
    const script = this.script;
    if (script.kind === 'print') {
      if (script.stdout) this.emit('stdout', Buffer.from(script.stdout));
      if (script.stderr) this.emit('stderr', Buffer.from(script.stderr));
      this.finish({ exitCode: script.exitCode, signal: null });
    } else if (script.kind === 'sleep') {
      this.timer = setTimeout(() => this.finish({ exitCode: 0, signal: null }), script.ms);
    }
  }

  private emit(stream: 'stdout' | 'stderr', chunk: Buffer): void {
    // A terminal merges both streams into one.
    this.events.output(this.pty ? 'stdout' : stream, chunk);
  }

  private finish(exit: ExitInfo): void {
    if (this.ended) return;
    this.ended = true;
    if (this.timer) clearTimeout(this.timer);
    this.onEnd(this);
    this.events.exit(exit);
  }
}

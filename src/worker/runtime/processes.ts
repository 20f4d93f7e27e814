/**
 * The background processes of one sandbox runtime (02-api.md `.../processes`): start (optionally on a
 * PTY), list, status, stdin, signal, resize, and output replay/follow through each process's
 * OutputLog. One registry per runtime; the worker drops it when the runtime is destroyed (after
 * `killAll`).
 *
 * Output is recorded unconditionally — the provider is never paused for a background process, so a
 * process whose readers are slow or absent keeps running; the ring absorbs and readers that fall out of
 * it get a gap frame. Exited processes stay listed (their output replayable) until more than
 * `maxExited` have accumulated; then the oldest exited ones are forgotten.
 */
import type { Clock } from '../../domain/clock.js';
import { Conflict, NotFound } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import type { ExitInfo, SandboxProcess } from '../providers/types.js';
import { checkPtySize, parseSignal } from './command.js';
import type { OutputFrame } from './frames.js';
import type { LaunchRequest, RuntimeTarget } from './launch.js';
import { launch } from './launch.js';
import type { ReadOptions } from './output-log.js';
import { DEFAULT_RING_BYTES, OutputLog } from './output-log.js';

export interface ProcessRegistryOptions {
  target: RuntimeTarget;
  clock: Clock;
  /** Output ring per process (default 8 MiB). */
  ringBytes?: number | undefined;
  /** Exited processes kept for status and replay (default 100). */
  maxExited?: number | undefined;
}

export type StartProcessRequest = LaunchRequest;

export interface ProcessInfo {
  id: string;
  pid: number;
  command: string[];
  pty: boolean;
  running: boolean;
  exitCode: number | null;
  signal: string | null;
  startedAt: number;
  exitedAt: number | null;
  /** Oldest sequence number still replayable, and the last one written (0 = no output yet). */
  firstSeq: number;
  lastSeq: number;
}

interface Entry {
  id: string;
  process: SandboxProcess;
  command: string[];
  pty: boolean;
  startedAt: number;
  exit: ExitInfo | undefined;
  exitedAt: number | null;
  log: OutputLog;
  exited: Promise<ExitInfo>;
}

export class ProcessRegistry {
  private readonly entries = new Map<string, Entry>();
  private readonly exitOrder: string[] = [];

  constructor(private readonly options: ProcessRegistryOptions) {}

  async start(request: StartProcessRequest): Promise<ProcessInfo> {
    const { process: child, argv } = await launch(this.options.target, request);
    const clock = this.options.clock;
    const log = new OutputLog(this.options.ringBytes ?? DEFAULT_RING_BYTES);
    let settle: (exit: ExitInfo) => void = () => undefined;
    const entry: Entry = {
      id: newId('prc', clock.now()),
      process: child,
      command: argv,
      pty: request.pty !== undefined,
      startedAt: clock.now(),
      exit: undefined,
      exitedAt: null,
      log,
      exited: new Promise<ExitInfo>((resolve) => (settle = resolve)),
    };
    child.onOutput((stream, chunk) => log.append(stream, chunk));
    child.onExit((exit) => {
      entry.exit = exit;
      entry.exitedAt = clock.now();
      log.finish(exit);
      this.retire(entry.id);
      settle(exit);
    });
    this.entries.set(entry.id, entry);
    return this.describe(entry);
  }

  list(): ProcessInfo[] {
    return [...this.entries.values()].map((e) => this.describe(e));
  }

  get(id: string): ProcessInfo {
    return this.describe(this.entry(id));
  }

  /** Write to stdin (for a PTY: keystrokes). */
  write(id: string, data: Buffer): void {
    const entry = this.running(id);
    if (data.length > 0) entry.process.write(data);
  }

  /** Close stdin (for a PTY: send the EOF character). */
  endInput(id: string): void {
    this.running(id).process.endInput();
  }

  /** Signal the process group. False when the process had already exited (nothing to signal). */
  signal(id: string, signal: string): boolean {
    const name = parseSignal(signal);
    const entry = this.entry(id);
    if (entry.exit !== undefined) return false;
    entry.process.signal(name);
    return true;
  }

  resize(id: string, cols: number, rows: number): void {
    const size = checkPtySize(cols, rows);
    const entry = this.running(id);
    if (!entry.pty) throw new Conflict('process has no terminal to resize');
    entry.process.resize(size.cols, size.rows);
  }

  /** Output frames after `afterSeq`; see OutputLog.read. */
  read(id: string, options: ReadOptions = {}): AsyncIterable<OutputFrame> {
    return this.entry(id).log.read(options);
  }

  /** Resolves with the exit once the process has exited. */
  waitExit(id: string): Promise<ExitInfo> {
    return this.entry(id).exited;
  }

  /** SIGKILL every running process group (runtime destroy, worker shutdown); waits for their exits. */
  async killAll(): Promise<void> {
    const running = [...this.entries.values()].filter((e) => e.exit === undefined);
    for (const entry of running) entry.process.signal('SIGKILL');
    await Promise.all(running.map((e) => e.exited));
  }

  private entry(id: string): Entry {
    const entry = this.entries.get(id);
    if (entry === undefined) throw new NotFound(`process ${id}`);
    return entry;
  }

  private running(id: string): Entry {
    const entry = this.entry(id);
    if (entry.exit !== undefined) throw new Conflict('process has exited', { exit_code: entry.exit.exitCode });
    return entry;
  }

  private retire(id: string): void {
    this.exitOrder.push(id);
    const keep = this.options.maxExited ?? 100;
    while (this.exitOrder.length > keep) this.entries.delete(this.exitOrder.shift()!);
  }

  private describe(entry: Entry): ProcessInfo {
    return {
      id: entry.id,
      pid: entry.process.pid,
      command: entry.command,
      pty: entry.pty,
      running: entry.exit === undefined,
      exitCode: entry.exit?.exitCode ?? null,
      signal: entry.exit?.signal ?? null,
      startedAt: entry.startedAt,
      exitedAt: entry.exitedAt,
      firstSeq: entry.log.firstSeq,
      lastSeq: entry.log.lastSeq,
    };
  }
}

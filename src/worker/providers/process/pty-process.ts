/**
 * A SandboxProcess on a pseudo-terminal (node-pty). stdout and stderr arrive merged as 'stdout', raw
 * bytes (no decoding here: a multi-byte character split across reads must not be mangled).
 *
 * - node-pty's child calls setsid(), so it leads its own session and process group, as with pipes.
 * - endInput() sends the terminal's EOF character (Ctrl-D): a terminal has no half-close.
 * - node-pty reports exit once the terminal has drained, but gives up 200 ms after the child is reaped
 *   and destroys the terminal, dropping what was not read. While paused we are not reading, so a
 *   process exiting during a pause would lose its last output. We therefore watch the child while
 *   paused; once it is gone, we read the terminal dry into the (still paused) delivery queue. What a
 *   background child still writes after that is bounded by node-pty's 200 ms.
 */
import { constants } from 'node:os';
import pty from 'node-pty';
import { BadRequest } from '../../../domain/errors.js';
import type { SandboxProcess } from '../types.js';
import { ProcessEvents } from './events.js';
import type { CommandLine, GroupHooks } from './pipe-process.js';
import { signalGroup } from './reap.js';

/**
 * Runs a terminal command under a small shell that stays the session leader until the command has
 * exited, holding the terminal open. Without it, a program that closes its terminal before exiting
 * (GNU coreutils do, in close_stdout) lets node-pty see EIO and close the master, which hangs up the
 * session: the program is then killed by SIGHUP and `cat` ended with Ctrl-D reports SIGHUP instead of
 * exit 0. A death by signal is passed on by the shell re-raising it on itself, so the exit still says
 * SIGSEGV or SIGKILL; the price is that a command exiting with 129–192 on its own reads as a signal.
 */
export function ptyLeaderArgv(shell: string, argv: string[]): string[] {
  const script = '"$@"; rc=$?; if [ "$rc" -gt 128 ] && [ "$rc" -le 192 ]; then ulimit -c 0; kill -s "$(kill -l "$rc")" $$; fi; exit "$rc"';
  return [shell, '-c', script, 'drover-pty', ...argv];
}

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(constants.signals).map(([name, num]) => [num, name as NodeJS.Signals]),
);

/** How often a paused terminal checks whether its process is gone. */
const PAUSED_EXIT_POLL_MS = 50;

export function startPtyProcess(line: CommandLine, size: { cols: number; rows: number }, hooks?: GroupHooks): SandboxProcess {
  assertSize(size.cols, size.rows);
  const events = new ProcessEvents();
  const term = pty.spawn(line.file, line.args, {
    cols: size.cols,
    rows: size.rows,
    cwd: line.cwd,
    env: line.env,
    encoding: null,
  });
  // node-pty rethrows terminal read errors other than EIO unless someone else listens.
  (term as unknown as { on(event: 'error', listener: () => void): void }).on('error', () => {});
  const pid = term.pid;
  hooks?.started(pid);

  let sourcePaused = false;
  let childGone = false;
  let watcher: NodeJS.Timeout | undefined;
  const stopWatching = (): void => {
    if (watcher) clearInterval(watcher);
    watcher = undefined;
  };

  term.onData((data: string | Buffer) => events.output('stdout', typeof data === 'string' ? Buffer.from(data) : data));
  term.onExit(({ exitCode, signal }) => {
    stopWatching();
    hooks?.ended(pid);
    const name = signal ? SIGNAL_NAMES.get(signal) : undefined;
    events.exit(name ? { exitCode: null, signal: name } : { exitCode, signal: null });
  });

  return {
    pid,
    onOutput: (listener) => events.onOutput(listener),
    onExit: (listener) => events.onExit(listener),
    write: (data) => {
      if (!events.exited) term.write(data);
    },
    endInput: () => {
      if (!events.exited) term.write('\x04');
    },
    signal: (signal) => {
      if (!events.exited) signalGroup(pid, signal);
    },
    resize: (cols, rows) => {
      assertSize(cols, rows);
      try {
        if (!events.exited) term.resize(cols, rows);
      } catch {
        // The terminal closed between the check and the ioctl: nothing left to resize.
      }
    },
    pause: () => {
      events.pause();
      if (sourcePaused || childGone || events.exited) return;
      term.pause();
      sourcePaused = true;
      watcher = setInterval(() => {
        if (processExists(pid)) return;
        childGone = true;
        stopWatching();
        sourcePaused = false;
        term.resume();
      }, PAUSED_EXIT_POLL_MS);
    },
    resume: () => {
      stopWatching();
      if (sourcePaused) term.resume();
      sourcePaused = false;
      events.resume();
    },
  };
}

function assertSize(cols: number, rows: number): void {
  const ok = (n: number): boolean => Number.isInteger(n) && n > 0 && n <= 65535;
  if (!ok(cols) || !ok(rows)) throw new BadRequest(`terminal size must be positive integers, got ${cols}x${rows}`);
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

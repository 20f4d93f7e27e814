/**
 * A SandboxProcess over plain pipes. Provider-neutral: give it the final command line (already wrapped
 * in rlimits, bwrap, …) and it does the rest.
 *
 * - `detached: true` makes the child a session and process-group leader, so signal() and destroy reach
 *   everything it forks that stays in the group.
 * - Exit is taken from 'close', not 'exit': 'close' comes only after stdout and stderr have ended, so
 *   no output can arrive after the exit. The flip side: a background child that keeps stdout open keeps
 *   the process "running" until it exits or closes its output (as with `$(...)` in a shell).
 * - pause() stops reading the pipes; the child then blocks on a full pipe: real backpressure.
 */
import { spawn, type ChildProcessWithoutNullStreams, type StdioOptions } from 'node:child_process';
import { scrubbedStdio } from '../bwrap/fd-scrub.js';
import type { ExitInfo, SandboxProcess } from '../types.js';
import { ProcessEvents } from './events.js';
import { signalGroup } from './reap.js';

export interface CommandLine {
  file: string;
  args: string[];
  env: Record<string, string>;
  /** Host path. */
  cwd: string;
  /** The user's argv[0], for messages. */
  command: string;
  /**
   * An open /dev/null: dup'ed over every inheritable fd of the worker in the child (node-pty leaves
   * its terminal masters inheritable; without this, one sandbox's processes would hold another's).
   */
  devNull?: number | undefined;
}

/**
 * Told when a process group starts and when its process has ended (exit reported). A group id is only
 * safe to signal by number while the process has not ended: a group cannot be renumbered while it has
 * members, but once it is empty the id may be reused by someone else's group.
 */
export interface GroupHooks {
  started(pgid: number): void;
  ended(pgid: number): void;
}

export function startPipeProcess(line: CommandLine, hooks?: GroupHooks): Promise<SandboxProcess> {
  const events = new ProcessEvents();
  const stdio: StdioOptions = line.devNull === undefined ? ['pipe', 'pipe', 'pipe'] : scrubbedStdio(['pipe', 'pipe', 'pipe'], line.devNull);
  const child = spawn(line.file, line.args, { cwd: line.cwd, env: line.env, detached: true, stdio }) as ChildProcessWithoutNullStreams;
  child.stdout.on('data', (chunk: Buffer) => events.output('stdout', chunk));
  child.stderr.on('data', (chunk: Buffer) => events.output('stderr', chunk));
  // Writing to a process that has exited fails with EPIPE; the process's exit says what happened.
  child.stdin.on('error', () => {});

  return new Promise((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // a kill() failure after start; the exit still comes
      if (err.code === 'ENOENT') {
        // Only possible when running unwrapped (the wrappers report this themselves, also as 127).
        resolve(failedStart(events, `${line.command}: command not found\n`, 127));
      } else {
        reject(err);
      }
    });
    child.once('spawn', () => {
      const pid = child.pid as number;
      hooks?.started(pid);
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        hooks?.ended(pid);
        events.exit(signal ? { exitCode: null, signal } : { exitCode: code ?? 0, signal: null });
      });
      resolve({
        pid,
        onOutput: (listener) => events.onOutput(listener),
        onExit: (listener) => events.onExit(listener),
        write: (data) => {
          if (!child.stdin.destroyed && child.stdin.writable) child.stdin.write(data);
        },
        endInput: () => {
          if (!child.stdin.destroyed) child.stdin.end();
        },
        signal: (signal) => {
          if (!events.exited) signalGroup(pid, signal);
        },
        resize: () => {},
        pause: () => {
          events.pause();
          child.stdout.pause();
          child.stderr.pause();
        },
        resume: () => {
          child.stdout.resume();
          child.stderr.resume();
          events.resume();
        },
      });
    });
  });
}

/** A process that never ran: the message on stderr, then the exit, delivered like any other. */
function failedStart(events: ProcessEvents, message: string, exitCode: number): SandboxProcess {
  const exit: ExitInfo = { exitCode, signal: null };
  setImmediate(() => {
    events.output('stderr', Buffer.from(message));
    events.exit(exit);
  });
  return {
    pid: -1,
    onOutput: (listener) => events.onOutput(listener),
    onExit: (listener) => events.onExit(listener),
    write: () => {},
    endInput: () => {},
    signal: () => {},
    resize: () => {},
    pause: () => events.pause(),
    resume: () => events.resume(),
  };
}

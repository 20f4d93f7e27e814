/**
 * Starting a process in a runtime: join the holder's namespaces with nsenter (fast, no Node process
 * per sandbox process), become the sandbox user, and lead a new session inside (`setsid`, with the
 * terminal as controlling tty for a PTY). A host-side shell prelude puts the process into the
 * runtime's cgroup before anything forks (shell.ts).
 *
 *   worker ─spawn→ sh (prelude; host) ─exec→ nsenter (host pid ns; waits, mirrors the exit)
 *                       └─fork→ env -i K=V… ─exec→ setsid ─exec→ argv   (sandbox: every namespace, uid 1000)
 *
 * The environment is built from scratch and handed over by `env -i` *inside* the sandbox. The host-side
 * sh and nsenter run as the worker's user (root) and must never see the sandbox's variables: an
 * LD_PRELOAD naming a library the sandbox wrote into its workspace would run it on the host as root.
 */
import { spawn } from 'node:child_process';
import { closeSync } from 'node:fs';
import { join, posix } from 'node:path';
import { BadRequest, Conflict } from '../../../domain/errors.js';
import type { ProcessOptions, SandboxProcess } from '../types.js';
import type { BwrapContext } from './context.js';
import { scrubbedStdio } from './fd-scrub.js';
import { SANDBOX_GID, SANDBOX_PATH, SANDBOX_UID, SANDBOX_WORKSPACE } from './layout.js';
import { PipeProcess } from './pipe-process.js';
import { isAlive } from './procfs.js';
import { openSandboxPty, resizePty } from './pty-open.js';
import { PtyProcess } from './pty-process.js';
import type { RuntimeRecord } from './record.js';
import { prelude } from './shell.js';
import { signalCommand } from './signal.js';

export async function startProcess(ctx: BwrapContext, record: RuntimeRecord, options: ProcessOptions, sandboxEnv: Record<string, string>): Promise<SandboxProcess> {
  validateArgv(options.argv);
  validateEnv(options.env);
  const holder = record.holder;
  // The holder's start time pins its identity: a dead holder's pid may belong to anything by now.
  if (!holder || !(await isAlive(holder.pid, holder.startTime))) throw new Conflict(`runtime ${record.runtimeId} is not running`);
  const cwd = sandboxCwd(options.cwd);
  const env = buildEnv(sandboxEnv, options.env, options.pty !== undefined);
  env.PWD = cwd;
  const nsenter = [
    ctx.tools.nsenter, '-t', String(holder.pid), '-U', '-m', '-p', '-n', '-i', '-u', '-C', '-r', `--wdns=${cwd}`,
    '-S', String(SANDBOX_UID), '-G', String(SANDBOX_GID), '--',
    // env's command is always setsid (an argv[0] with '=' in it would read as another assignment).
    ctx.tools.env, '-i', '--', ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
    ctx.tools.setsid, ...(options.pty ? ['--ctty'] : []), '--', ...options.argv,
  ];
  const script = prelude({ cgroupProcs: record.cgroups.map((dir) => join(dir, 'cgroup.procs')), rlimits: record.rlimits });
  const signalGroup = (pid: number) => (signal: NodeJS.Signals) => void signalCommand(pid, signal, record.cgroups).catch(() => {});
  const spawnOptions = { detached: true, cwd: '/', env: { PATH: SANDBOX_PATH } };

  if (!options.pty) {
    const child = spawn(ctx.tools.sh, ['-c', script, ...nsenter], { ...spawnOptions, stdio: scrubbedStdio(['pipe', 'pipe', 'pipe'], ctx.devNull) });
    return new PipeProcess(child, signalGroup(child.pid ?? -1));
  }
  const pty = await openSandboxPty(ctx, holder.pid, options.pty);
  let child;
  try {
    child = spawn(ctx.tools.sh, ['-c', script, ...nsenter], { ...spawnOptions, stdio: scrubbedStdio([pty.slave, pty.slave, pty.slave], ctx.devNull) });
  } catch (err) {
    closeSync(pty.master);
    throw err;
  } finally {
    // Only the process may hold the slave: the master reads EIO (end of output) once it is gone.
    closeSync(pty.slave);
  }
  return new PtyProcess(child, pty.master, signalGroup(child.pid ?? -1), (size) => resizePty(ctx, pty.master, size));
}

/** Inside the sandbox: relative paths are relative to /workspace; nsenter resolves it in the sandbox root. */
function sandboxCwd(cwd: string | undefined): string {
  if (cwd === undefined || cwd === '') return SANDBOX_WORKSPACE;
  if (typeof cwd !== 'string' || cwd.includes('\0')) throw new BadRequest('cwd must be a path without NUL bytes');
  return posix.resolve(SANDBOX_WORKSPACE, cwd);
}

/** Later layers win: defaults < sandbox env < process env. Never the worker's own environment. */
function buildEnv(sandboxEnv: Record<string, string>, processEnv: Record<string, string> | undefined, pty: boolean): Record<string, string> {
  const env: Record<string, string> = {
    PATH: SANDBOX_PATH,
    HOME: SANDBOX_WORKSPACE,
    USER: 'sandbox',
    LOGNAME: 'sandbox',
    SHELL: '/bin/sh',
    LANG: 'C.UTF-8',
  };
  if (pty) env.TERM = 'xterm-256color';
  return Object.assign(env, sandboxEnv, processEnv ?? {});
}

export function validateEnv(env: Record<string, string> | undefined): void {
  for (const [key, value] of Object.entries(env ?? {})) {
    if (key === '' || key.includes('=') || key.includes('\0')) throw new BadRequest(`invalid environment variable name ${JSON.stringify(key)}`);
    if (typeof value !== 'string' || value.includes('\0')) throw new BadRequest(`the value of ${key} must be a string without NUL bytes`);
  }
}

function validateArgv(argv: string[]): void {
  if (!Array.isArray(argv) || argv.length === 0 || argv[0] === '') throw new BadRequest('argv must name a command');
  if (argv.some((arg) => typeof arg !== 'string' || arg.includes('\0'))) throw new BadRequest('argv entries must be strings without NUL bytes');
}

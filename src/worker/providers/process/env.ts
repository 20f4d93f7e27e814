/**
 * The environment and working directory a sandbox process starts with. Built from scratch, never from
 * the worker's own environment: that may hold the worker token, the rpc secret or cloud credentials.
 */
import { isAbsolute, posix, resolve } from 'node:path';
import { BadRequest } from '../../../domain/errors.js';
import { SANDBOX_PATH } from './host.js';

/** Set on every sandbox process so the provider can find them again (destroy after a worker restart). */
export const RUNTIME_MARKER = 'DROVER_RUNTIME_ID';

/** The path a sandbox sees as its workspace (bwrap mounts it there; the process provider maps it). */
export const SANDBOX_WORKSPACE = '/workspace';

export interface EnvInput {
  runtimeId: string;
  /** What HOME means inside: the host workspace for the process provider. */
  home: string;
  sandboxEnv: Record<string, string>;
  processEnv: Record<string, string> | undefined;
  pty: boolean;
}

/** Later layers win: defaults < sandbox env < process env; the runtime marker always wins. */
export function buildEnv(input: EnvInput): Record<string, string> {
  const env: Record<string, string> = { PATH: SANDBOX_PATH, HOME: input.home, LANG: 'C.UTF-8' };
  if (input.pty) env.TERM = 'xterm-256color';
  Object.assign(env, input.sandboxEnv, input.processEnv ?? {});
  env[RUNTIME_MARKER] = input.runtimeId;
  return env;
}

/** Reject what execve would reject (or silently truncate) with a clear 400 instead of a spawn error. */
export function validateEnv(env: Record<string, string> | undefined, what: string): void {
  for (const [key, value] of Object.entries(env ?? {})) {
    if (key === '' || key.includes('=') || key.includes('\0')) throw new BadRequest(`${what}: invalid variable name ${JSON.stringify(key)}`);
    if (typeof value !== 'string' || value.includes('\0')) throw new BadRequest(`${what}: the value of ${key} must be a string without NUL bytes`);
  }
}

export function validateArgv(argv: string[]): void {
  if (!Array.isArray(argv) || argv.length === 0 || argv[0] === '') throw new BadRequest('argv must name a command');
  if (argv.some((arg) => typeof arg !== 'string' || arg.includes('\0'))) throw new BadRequest('argv entries must be strings without NUL bytes');
}

/**
 * The host directory a process of the process provider starts in. `/workspace` (the sandbox's name for
 * its workspace, as under bwrap) and relative paths map into the workspace; other absolute paths are
 * host paths, because this provider has no filesystem isolation to map them into.
 */
export function hostCwd(workspace: string, cwd: string | undefined): string {
  if (cwd === undefined || cwd === '') return workspace;
  if (cwd.includes('\0')) throw new BadRequest('cwd must not contain NUL bytes');
  if (!isAbsolute(cwd)) return resolve(workspace, cwd);
  const path = posix.normalize(cwd);
  if (path === SANDBOX_WORKSPACE || path.startsWith(`${SANDBOX_WORKSPACE}/`)) {
    return resolve(workspace, `.${path.slice(SANDBOX_WORKSPACE.length)}`);
  }
  return path;
}

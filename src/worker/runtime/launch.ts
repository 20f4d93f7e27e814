/**
 * Starting a process for exec or the process registry: validate the request, then ask the provider.
 * The provider owns isolation (providers/types.ts); this layer owns what every provider shares.
 */
import { BadRequest } from '../../domain/errors.js';
import type { Provider, SandboxProcess } from '../providers/types.js';
import type { CommandSpec } from './command.js';
import { checkEnv, checkPtySize, toArgv } from './command.js';

/** Where processes run: a provider and one of its runtimes. */
export interface RuntimeTarget {
  provider: Pick<Provider, 'startProcess'>;
  runtimeId: string;
}

export interface LaunchRequest extends CommandSpec {
  env?: Record<string, string> | undefined;
  /** Inside the sandbox; the provider's default (/workspace) when absent. */
  cwd?: string | undefined;
  pty?: { cols: number; rows: number } | undefined;
}

export interface Launched {
  process: SandboxProcess;
  argv: string[];
}

export async function launch(target: RuntimeTarget, request: LaunchRequest): Promise<Launched> {
  const argv = toArgv(request);
  const env = checkEnv(request.env);
  if (request.cwd !== undefined && (typeof request.cwd !== 'string' || request.cwd === '' || request.cwd.includes('\0'))) {
    throw new BadRequest('cwd must be a non-empty path');
  }
  const pty = request.pty === undefined ? undefined : checkPtySize(request.pty.cols, request.pty.rows);
  const process = await target.provider.startProcess(target.runtimeId, { argv, env, cwd: request.cwd, pty });
  return { process, argv };
}

/** `timeout_ms`: a positive integer a timer can hold (about 24.8 days), or absent for none. */
export function checkTimeout(timeoutMs: number | undefined): number | undefined {
  if (timeoutMs === undefined) return undefined;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2 ** 31 - 1) {
    throw new BadRequest('timeout_ms must be a positive integer of milliseconds');
  }
  return timeoutMs;
}

/** Feed stdin (if any) and close it, so a command that reads stdin sees EOF instead of waiting. */
export function feedStdin(process: SandboxProcess, stdin: Buffer | string | undefined): void {
  if (stdin !== undefined && stdin.length > 0) process.write(typeof stdin === 'string' ? Buffer.from(stdin) : stdin);
  process.endInput();
}

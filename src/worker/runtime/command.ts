/**
 * What to run, as the API takes it (`command: string[] | string`, `shell?`), turned into an argv for
 * the provider. A string always runs through `sh -c` (we never split strings ourselves: quoting rules
 * are the shell's); an array runs as is, or joined with spaces under `sh -c` when `shell: true`.
 * Arguments, environment and sizes are validated here so a bad request is a 400, not a spawn error.
 */
import { BadRequest } from '../../domain/errors.js';

export interface CommandSpec {
  command: string[] | string;
  shell?: boolean | undefined;
}

export function toArgv(spec: CommandSpec): string[] {
  const { command, shell } = spec;
  if (typeof command === 'string') {
    if (command.trim() === '') throw new BadRequest('command is empty');
    if (shell === false) throw new BadRequest('a string command runs through the shell; pass an array with shell: false');
    return checkArgs(['sh', '-c', command]);
  }
  if (!Array.isArray(command) || command.length === 0 || command[0] === '') {
    throw new BadRequest('command must be a non-empty array of strings or a string');
  }
  if (command.some((arg) => typeof arg !== 'string')) throw new BadRequest('command arguments must be strings');
  return checkArgs(shell === true ? ['sh', '-c', command.join(' ')] : [...command]);
}

function checkArgs(argv: string[]): string[] {
  if (argv.some((arg) => arg.includes('\0'))) throw new BadRequest('command contains a NUL byte');
  return argv;
}

export function checkEnv(env: Record<string, string> | undefined): Record<string, string> | undefined {
  if (env === undefined) return undefined;
  for (const [key, value] of Object.entries(env)) {
    if (key === '' || key.includes('=') || key.includes('\0')) throw new BadRequest(`invalid environment variable name`, { name: key });
    if (typeof value !== 'string' || value.includes('\0')) throw new BadRequest(`invalid value for environment variable`, { name: key });
  }
  return env;
}

const SIGNALS = [
  'SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGKILL', 'SIGTERM', 'SIGUSR1', 'SIGUSR2',
  'SIGSTOP', 'SIGCONT', 'SIGTSTP', 'SIGWINCH', 'SIGALRM', 'SIGPIPE',
] as const satisfies readonly NodeJS.Signals[];

/** A signal name a client may send (`TERM` or `SIGTERM`). */
export function parseSignal(name: string): NodeJS.Signals {
  const upper = typeof name === 'string' ? name.trim().toUpperCase() : '';
  const full = upper.startsWith('SIG') ? upper : `SIG${upper}`;
  const found = SIGNALS.find((s) => s === full);
  if (found === undefined) throw new BadRequest(`unsupported signal ${String(name)}`, { allowed: [...SIGNALS] });
  return found;
}

/** PTY dimensions within what a terminal can express. */
export function checkPtySize(cols: number, rows: number): { cols: number; rows: number } {
  const ok = (n: number) => Number.isInteger(n) && n >= 1 && n <= 10_000;
  if (!ok(cols) || !ok(rows)) throw new BadRequest('pty cols and rows must be integers between 1 and 10000');
  return { cols, rows };
}

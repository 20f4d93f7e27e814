/**
 * Runs the built `drover` CLI as a child process against a control plane listening in this process.
 * The entry is found relative to this file, so the tests run the same from dist/ and from a private
 * build dir. The child's environment has no DROVER_* variables and its cwd is an empty temp dir, so
 * nothing from the machine running the tests (a real key, a local drover-data/) can leak in.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  stdin?: string;
}

function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('DROVER_')) env[k] = v;
  return env;
}

export function emptyDir(): string {
  return mkdtempSync(join(tmpdir(), 'drover-cli-api-'));
}

/** Asynchronous on purpose: the control plane answering the child runs on this process's event loop. */
export function run(args: string[], o: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_MAIN, ...args], { cwd: o.cwd ?? emptyDir(), env: { ...cleanEnv(), ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(o.stdin ?? '');
  });
}

/** A CLI bound to one control plane URL and key (passed as flags, like a user would). */
export function cliFor(url: string, key?: string) {
  return (args: string[], o: RunOptions = {}) => run(['--url', url, ...(key ? ['--api-key', key] : []), ...args], o);
}

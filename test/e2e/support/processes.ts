/**
 * Real Drover processes for end-to-end tests: `drover serve` (and later `drover worker`) started from
 * the built CLI, on port 0, with configuration through the environment exactly as an operator would
 * give it. Each process is stopped with SIGTERM (graceful) and killed if it does not exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** dist/test/e2e/support → dist/src/cli/main.js */
export const CLI_ENTRY = fileURLToPath(new URL('../../../src/cli/main.js', import.meta.url));

export interface DroverProcess {
  url: string;
  proc: ChildProcess;
  /** Everything the process wrote, for failure messages and secret checks. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface ServeOptions {
  env: Record<string, string>;
  /** Working directory (a fresh temp dir by default, removed on stop). */
  cwd?: string;
  startTimeoutMs?: number;
}

export async function startServe(o: ServeOptions): Promise<DroverProcess> {
  const cwd = o.cwd ?? mkdtempSync(join(tmpdir(), 'drover-serve-'));
  const ownsCwd = o.cwd === undefined;
  const proc = spawn(process.execPath, ['--enable-source-maps', CLI_ENTRY, 'serve'], {
    cwd,
    env: { PATH: process.env.PATH ?? '', DROVER_SERVER_PORT: '0', DROVER_LOGGING_LEVEL: 'warn', DROVER_LOGGING_FORMAT: 'json', ...o.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`drover serve did not start within ${o.startTimeoutMs ?? 20_000} ms:\n${out}`)), o.startTimeoutMs ?? 20_000);
    const onData = () => {
      const m = /control plane listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`drover serve exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    proc,
    output: () => out,
    stop: (signal = 'SIGTERM') =>
      new Promise((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) {
          if (ownsCwd) rmSync(cwd, { recursive: true, force: true });
          return resolve(proc.exitCode);
        }
        const kill = setTimeout(() => proc.kill('SIGKILL'), 10_000);
        proc.once('exit', (code) => {
          clearTimeout(kill);
          if (ownsCwd) rmSync(cwd, { recursive: true, force: true });
          resolve(code);
        });
        proc.kill(signal);
      }),
  };
}

/** JSON over fetch, with an API key or worker credentials. */
export async function call(
  base: string,
  method: string,
  path: string,
  o: { key?: string; worker?: { id: string; token: string }; body?: unknown } = {},
): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {};
  if (o.key) headers.authorization = `Bearer ${o.key}`;
  if (o.worker) Object.assign(headers, { 'x-worker-id': o.worker.id, 'x-worker-token': o.worker.token });
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

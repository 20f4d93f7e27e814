/**
 * A real `drover worker` process for end-to-end tests, started from the built CLI like `startServe`
 * (processes.ts): configuration through the environment and flags, RPC on 127.0.0.1 port 0. It runs
 * in its own process group, so a test can check afterwards that nothing of that group survived.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CLI_ENTRY } from './processes.js';

export interface WorkerProcess {
  /** The advertised RPC URL. */
  url: string;
  proc: ChildProcess;
  pid: number;
  output(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface WorkerProcessOptions {
  controlPlaneUrl: string;
  token: string;
  id: string;
  dataDir: string;
  providers: string[];
  /** More DROVER_* variables (e.g. DROVER_WORKER_SHUTDOWN_TIMEOUT). */
  env?: Record<string, string>;
  extraArgs?: string[];
  startTimeoutMs?: number;
}

export function workerArgs(o: WorkerProcessOptions): string[] {
  return [
    'worker',
    '--id',
    o.id,
    '--control-plane',
    o.controlPlaneUrl,
    '--listen',
    '127.0.0.1:0',
    '--data-dir',
    o.dataDir,
    ...o.providers.flatMap((p) => ['--provider', p]),
    ...(o.extraArgs ?? []),
  ];
}

/** Run the CLI to completion (e.g. `worker --once`). */
export function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, ['--enable-source-maps', CLI_ENTRY, ...args], { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    proc.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function startWorkerProcess(o: WorkerProcessOptions): Promise<WorkerProcess> {
  const proc = spawn(process.execPath, ['--enable-source-maps', CLI_ENTRY, ...workerArgs(o)], {
    env: {
      PATH: process.env.PATH ?? '',
      // The token through the environment, as an operator should give it (never on the command line).
      DROVER_WORKER_TOKEN: o.token,
      DROVER_LOGGING_LEVEL: 'info',
      DROVER_LOGGING_FORMAT: 'json',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const ms = o.startTimeoutMs ?? 20_000;
    const timer = setTimeout(() => reject(new Error(`drover worker did not start within ${ms} ms:\n${out}`)), ms);
    const onData = () => {
      const m = /worker \S+ listening on (https?:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.stdout!.off('data', onData);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`drover worker exited with ${code} before listening:\n${out}`));
    });
  });
  return {
    url,
    proc,
    pid: proc.pid!,
    output: () => out,
    exited,
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      const kill = setTimeout(() => proc.kill('SIGKILL'), 20_000);
      proc.kill(signal);
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
  };
}

/**
 * Reaching ports inside a sandbox without network. One forwarder process per sandbox, started on the
 * first portAddress() and reused for every port after that (forwarder.ts). With network "host" there
 * is nothing to forward: the port is on the host's loopback.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { Unavailable } from '../../../domain/errors.js';
import type { PortAddress } from '../types.js';
import type { BwrapContext } from './context.js';
import { scrubbedStdio } from './fd-scrub.js';
import { type RuntimePaths, SANDBOX_PATH, portSocketPath } from './layout.js';

const FORWARD_TIMEOUT_MS = 30_000;

export class Forwarder {
  private readonly child: ChildProcess;
  private readonly waiting = new Map<number, Array<(error: string | undefined) => void>>();
  private readonly ready = new Set<number>();
  private exited = false;

  private constructor(child: ChildProcess) {
    this.child = child;
    createInterface({ input: child.stdout as NonNullable<ChildProcess['stdout']> }).on('line', (line) => this.onReply(line));
    child.stdin?.on('error', () => {});
    child.once('exit', () => {
      this.exited = true;
      for (const [port, waiters] of this.waiting) for (const done of waiters) done(`the port forwarder exited before port ${port} was ready`);
      this.waiting.clear();
    });
    // The forwarder must not keep a worker that is otherwise done from exiting.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
  }

  static async start(ctx: BwrapContext, holderPid: number, paths: RuntimePaths): Promise<Forwarder> {
    await mkdir(paths.ports, { recursive: true, mode: 0o700 });
    const child = spawn(ctx.tools.nsenter, ['-t', String(holderPid), '-n', '--', process.execPath, ctx.forwarderScript, paths.ports], {
      cwd: '/',
      env: { PATH: SANDBOX_PATH },
      stdio: scrubbedStdio(['pipe', 'pipe', 'ignore'], ctx.devNull),
    });
    return new Forwarder(child);
  }

  get alive(): boolean {
    return !this.exited;
  }

  async address(paths: RuntimePaths, port: number): Promise<PortAddress> {
    const path = portSocketPath(paths, port);
    if (!this.ready.has(port)) await this.request(port);
    return { kind: 'unix', path };
  }

  stop(): void {
    this.child.stdin?.end();
    if (!this.exited) this.child.kill('SIGKILL');
  }

  private request(port: number): Promise<void> {
    if (this.exited) return Promise.reject(new Unavailable('the port forwarder is not running'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done('the port forwarder did not answer'), FORWARD_TIMEOUT_MS);
      const done = (error: string | undefined): void => {
        clearTimeout(timer);
        if (error) reject(new Unavailable(`cannot forward port ${port}: ${error}`));
        else resolve();
      };
      const waiters = this.waiting.get(port);
      if (waiters) waiters.push(done);
      else {
        this.waiting.set(port, [done]);
        this.child.stdin?.write(`${JSON.stringify({ port })}\n`);
      }
    });
  }

  private onReply(line: string): void {
    let message: { port?: number; ok?: boolean; error?: string };
    try {
      message = JSON.parse(line) as typeof message;
    } catch {
      return;
    }
    const port = Number(message.port);
    if (message.ok) this.ready.add(port);
    const waiters = this.waiting.get(port) ?? [];
    this.waiting.delete(port);
    for (const done of waiters) done(message.ok ? undefined : (message.error ?? 'unknown error'));
  }
}

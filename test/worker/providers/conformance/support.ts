/**
 * Helpers for the provider conformance suite: watching a process's output and exit with bounded,
 * event-driven waits (never a sleep-then-assert), host /proc inspection, and small byte utilities.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { ExitInfo, ProcessOptions, Provider, SandboxProcess, SpawnRequest } from '../../../../src/worker/providers/types.js';
import { xorshiftBytes } from '../../../support/bytes.js';

export const MiB = 1024 * 1024;
/** Bound on any single wait. Generous: the machine is shared and loaded; this only turns hangs into failures. */
export const WAIT_MS = 60_000;

export type Event = 'stdout' | 'stderr' | 'exit';

/** Everything a process reports, recorded from the moment it starts, with waits on top. */
export class Watched {
  readonly stdout: Buffer[] = [];
  readonly stderr: Buffer[] = [];
  /** Each delivery in order, for ordering assertions. */
  readonly events: Event[] = [];
  exit: ExitInfo | undefined;
  /** Contract breaches seen by the listeners; recorded, not thrown, since they run inside the provider. */
  readonly violations: string[] = [];
  private readonly waiters = new Set<() => void>();

  constructor(readonly proc: SandboxProcess) {
    proc.onOutput((stream, chunk) => {
      if (!Buffer.isBuffer(chunk)) this.violations.push(`${stream} chunk is not a Buffer`);
      if (this.exit) this.violations.push(`${stream} output delivered after the exit`);
      (stream === 'stdout' ? this.stdout : this.stderr).push(Buffer.from(chunk));
      this.events.push(stream);
      this.wake();
    });
    proc.onExit((exit) => {
      if (this.exit) {
        this.violations.push('onExit called more than once');
        return;
      }
      this.exit = exit;
      this.events.push('exit');
      this.wake();
    });
  }

  text(stream: 'stdout' | 'stderr' = 'stdout'): string {
    return Buffer.concat(stream === 'stdout' ? this.stdout : this.stderr).toString('utf8');
  }

  bytes(stream: 'stdout' | 'stderr' = 'stdout'): Buffer {
    return Buffer.concat(stream === 'stdout' ? this.stdout : this.stderr);
  }

  /** Resolves once `predicate` holds; rejects with what was seen so far if it does not within the bound. */
  until(predicate: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) {
          if (this.exit) fail(new Error(`process exited (${JSON.stringify(this.exit)}) before ${what}; ${this.describe()}`));
          return;
        }
        finish();
        resolve();
      };
      const fail = (err: Error): void => {
        finish();
        reject(err);
      };
      const timer = setTimeout(() => fail(new Error(`timed out after ${ms} ms waiting for ${what}; ${this.describe()}`)), ms);
      const finish = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  async exited(ms = WAIT_MS): Promise<ExitInfo> {
    await this.until(() => this.exit !== undefined, 'the exit', ms).catch((err: Error) => {
      if (this.exit) return;
      throw err;
    });
    assert.deepEqual(this.violations, [], 'the process broke the delivery contract');
    return this.exit as ExitInfo;
  }

  describe(): string {
    const cut = (s: string): string => (s.length > 400 ? `${s.slice(0, 200)}…${s.slice(-200)}` : s);
    return `stdout=${JSON.stringify(cut(this.text('stdout')))} stderr=${JSON.stringify(cut(this.text('stderr')))}`;
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}

export async function start(provider: Provider, runtimeId: string, options: ProcessOptions): Promise<Watched> {
  return new Watched(await provider.startProcess(runtimeId, options));
}

/** Run to completion, feeding `input` (then end of input) if given. */
export async function run(provider: Provider, runtimeId: string, options: ProcessOptions, input?: Buffer[]): Promise<Watched> {
  const watched = await start(provider, runtimeId, options);
  if (input) {
    for (const chunk of input) watched.proc.write(chunk);
    watched.proc.endInput();
  }
  await watched.exited();
  return watched;
}

export function spawnRequest(runtimeId: string, overrides: Partial<SpawnRequest> = {}): SpawnRequest {
  return {
    sandboxId: `sbx-${runtimeId}`,
    runtimeId,
    resources: { cpuMilli: 1000, memoryMb: 1024, diskMb: 1024, pids: 512 },
    env: {},
    network: 'none',
    ...overrides,
  };
}

export function uniqueId(prefix = 'rt'): string {
  return `${prefix}-${randomBytes(5).toString('hex')}`;
}

/** A sleep duration no other process on the host is using, so its /proc cmdline identifies it. */
export function uniqueSleep(): string {
  return String(100_000 + randomBytes(3).readUIntBE(0, 3));
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Deterministic pseudo-random bytes, so a failure reproduces. */
export function pseudoRandom(size: number, seed = 0x2545f491): Buffer {
  return xorshiftBytes(size, seed);
}

/** Live (non-zombie) host processes whose argv is exactly `argv`, seen from the host's /proc. */
export async function hostProcesses(argv: string[]): Promise<number[]> {
  const wanted = `${argv.join('\0')}\0`;
  const names = (await readdir('/proc')).filter((n) => /^\d+$/.test(n));
  const found = await Promise.all(
    names.map(async (name) => {
      const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
      return cmdline === wanted && (await alive(Number(name))) ? Number(name) : undefined;
    }),
  );
  return found.filter((pid): pid is number => pid !== undefined);
}

/** Exists and is not a zombie (a zombie has exited; it only waits for its parent to collect it). */
export async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return false;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
}

/** Poll (bounded) until `check` resolves true; polling is for host state no event tells us about. */
export async function eventually(check: () => Promise<boolean>, what: string, ms = WAIT_MS): Promise<void> {
  const rounds = Math.ceil(ms / 50);
  for (let i = 0; i < rounds; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out after ${ms} ms waiting for ${what}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Asserts a promise rejects with a DroverError of this code. */
export async function rejectsWithCode(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.equal((err as { code?: unknown }).code, code, `expected error code ${code}, got ${String(err)}`);
    return true;
  });
}

/** Lists the shell's own open fds (`ls` is a child, so `/proc/$$/fd` holds exactly what sh inherited). */
export const LIST_FDS = ['sh', '-c', 'ls -l /proc/$$/fd'];

/** Descriptors above stderr that are not /dev/null, from LIST_FDS output: what leaked into the process. */
export function strayFds(listing: string): string[] {
  return listing
    .split(/\r?\n/)
    .map((line) => / (\d+) -> (.*)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && Number(m[1]) > 2 && m[2] !== '/dev/null')
    .map((m) => `${m[1]} -> ${m[2]}`);
}

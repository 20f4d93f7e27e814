/**
 * The `mock` provider: runtimes are map entries and processes are emulations (commands.ts), so spawn
 * and destroy cost next to nothing. For tests of the layers above providers, and for placement
 * benchmarks; never for real work (isolated: false, and nothing is enforced).
 *
 * Each runtime still gets a real, empty workspace directory (unless `workspaces: false`), so the
 * generic file layer can be exercised on top of it. Runtimes live only in this instance's memory:
 * a new instance's inventory is empty.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Clock } from '../../../domain/clock.js';
import { BadRequest, Conflict, NotFound, Unavailable } from '../../../domain/errors.js';
import { assertRuntimeId } from '../process/layout.js';
import type {
  EnforcedLimits,
  PortAddress,
  ProcessOptions,
  Provider,
  ProviderInfo,
  RuntimeHandle,
  RuntimeStatus,
  SandboxProcess,
  SpawnRequest,
} from '../types.js';
import { parseMockCommand } from './commands.js';
import { MockProcess } from './mock-process.js';

export interface MockProviderOptions {
  dataDir: string;
  clock?: Clock;
  /** Create a workspace directory per runtime (default true); benchmarks may turn it off. */
  workspaces?: boolean;
}

/** Above the kernel's largest possible pid (2^22), so a mock pid can never name a real process. */
const FIRST_PID = 5_000_000;

const NOTHING_ENFORCED: EnforcedLimits = { cpu: 'none', memory: 'none', pids: 'none', disk: 'none', network: 'host', filesystem: 'host' };
const WARNING = 'the mock provider runs nothing: processes are emulated, nothing is isolated or enforced (tests and benchmarks only)';

interface MockRuntime {
  handle: RuntimeHandle;
  processes: Set<MockProcess>;
}

export class MockProvider implements Provider {
  readonly name = 'mock' as const;
  private readonly runtimes = new Map<string, MockRuntime>();
  private readonly root: string;
  private readonly workspaces: boolean;
  private nextPid = FIRST_PID;
  private closed = false;

  constructor(options: MockProviderOptions) {
    this.root = join(options.dataDir, 'mock-runtimes');
    this.workspaces = options.workspaces ?? true;
  }

  info(): ProviderInfo {
    return { name: this.name, isolated: false, capabilities: ['network:host'], warnings: [WARNING] };
  }

  async spawn(req: SpawnRequest): Promise<RuntimeHandle> {
    this.assertOpen();
    assertRuntimeId(req.runtimeId);
    const existing = this.runtimes.get(req.runtimeId);
    if (existing) {
      if (existing.handle.sandboxId !== req.sandboxId) throw new Conflict(`runtime ${req.runtimeId} belongs to sandbox ${existing.handle.sandboxId}`);
      return existing.handle;
    }
    const workspace = join(this.root, req.runtimeId, 'workspace');
    if (this.workspaces) await mkdir(workspace, { recursive: true, mode: 0o700 });
    const handle: RuntimeHandle = {
      sandboxId: req.sandboxId,
      runtimeId: req.runtimeId,
      workspace,
      enforced: { ...NOTHING_ENFORCED },
      warnings: [WARNING],
    };
    this.runtimes.set(req.runtimeId, { handle, processes: new Set() });
    return handle;
  }

  async destroy(runtimeId: string): Promise<void> {
    assertRuntimeId(runtimeId);
    const rt = this.runtimes.get(runtimeId);
    this.runtimes.delete(runtimeId);
    for (const proc of rt?.processes ?? []) proc.signal('SIGKILL');
    if (this.workspaces) await rm(join(this.root, runtimeId), { recursive: true, force: true });
  }

  async status(runtimeId: string): Promise<RuntimeStatus | undefined> {
    assertRuntimeId(runtimeId);
    const rt = this.runtimes.get(runtimeId);
    if (!rt) return undefined;
    return { runtimeId, sandboxId: rt.handle.sandboxId, state: 'running', processes: rt.processes.size };
  }

  async startProcess(runtimeId: string, options: ProcessOptions): Promise<SandboxProcess> {
    this.assertOpen();
    const rt = this.live(runtimeId);
    if (!Array.isArray(options.argv) || options.argv.length === 0) throw new BadRequest('argv must name a command');
    const proc = new MockProcess(this.nextPid++, parseMockCommand(options.argv), !!options.pty, (p) => rt.processes.delete(p));
    rt.processes.add(proc);
    return proc;
  }

  async portAddress(runtimeId: string, port: number): Promise<PortAddress> {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new BadRequest(`invalid port ${port}`);
    this.live(runtimeId);
    return { kind: 'tcp', host: '127.0.0.1', port };
  }

  async inventory(): Promise<Array<{ runtimeId: string; sandboxId: string }>> {
    return [...this.runtimes.values()].map((rt) => ({ runtimeId: rt.handle.runtimeId, sandboxId: rt.handle.sandboxId }));
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    return this.closed ? { ok: false, detail: 'mock provider closed' } : { ok: true };
  }

  /** Emulated processes cannot outlive the provider: they end as if killed, so no timer is left behind. */
  async close(): Promise<void> {
    this.closed = true;
    for (const rt of this.runtimes.values()) for (const proc of rt.processes) proc.signal('SIGKILL');
  }

  private live(runtimeId: string): MockRuntime {
    assertRuntimeId(runtimeId);
    const rt = this.runtimes.get(runtimeId);
    if (!rt) throw new NotFound(`runtime ${runtimeId}`);
    return rt;
  }

  private assertOpen(): void {
    if (this.closed) throw new Unavailable('the mock provider is closed');
  }
}

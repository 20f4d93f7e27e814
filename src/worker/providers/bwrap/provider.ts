/**
 * The `bwrap` provider: each runtime is a bubblewrap sandbox — its own user, pid, mount, ipc, uts,
 * cgroup and (unless network "host") network namespaces around a private /workspace, with cgroup
 * limits where the host allows and rlimits where not. A runtime is one long-lived holder process that
 * owns the namespaces (spawn-holder.ts); every process joins them (start-process.ts), so a sandbox
 * behaves like one small machine: a server started by one exec is reachable from the next.
 *
 * Runtimes outlive the provider instance and the worker: the next instance finds them by their
 * runtime.json (runtimes.ts) and can adopt (spawn again with the same sandbox) or destroy them.
 */
import { readFile, realpath } from 'node:fs/promises';
import { Conflict, NotFound, Unavailable } from '../../../domain/errors.js';
import type {
  PortAddress,
  ProcessOptions,
  Provider,
  ProviderInfo,
  RuntimeHandle,
  RuntimeStatus,
  SandboxProcess,
  SpawnRequest,
} from '../types.js';
import type { BwrapContext } from './context.js';
import { destroyRuntime, killRuntime } from './destroy.js';
import { HealthCheck, hostProblem } from './health.js';
import { assertPort, assertRuntimeId, type RuntimePaths } from './layout.js';
import { Forwarder } from './port-forward.js';
import { isAlive } from './procfs.js';
import type { RuntimeRecord } from './record.js';
import { type RuntimeEntry, Runtimes } from './runtimes.js';
import { spawnRuntime, removeRuntimeDir } from './spawn-holder.js';
import { startProcess, validateEnv } from './start-process.js';

export class BwrapProvider implements Provider {
  readonly name = 'bwrap' as const;
  private readonly runtimes: Runtimes;
  private readonly health_: HealthCheck;

  constructor(
    private readonly ctx: BwrapContext,
    private readonly infoValue: ProviderInfo,
  ) {
    this.runtimes = new Runtimes(ctx.dataDir);
    this.health_ = new HealthCheck(ctx);
  }

  info(): ProviderInfo {
    return { ...this.infoValue, capabilities: [...this.infoValue.capabilities], warnings: [...this.infoValue.warnings] };
  }

  async spawn(req: SpawnRequest): Promise<RuntimeHandle> {
    assertRuntimeId(req.runtimeId);
    validateEnv(req.env);
    return this.runtimes.exclusive(req.runtimeId, async () => {
      const paths = this.runtimes.paths(req.runtimeId);
      const existing = await this.runtimes.get(req.runtimeId);
      if (existing && existing.record.sandboxId !== req.sandboxId) {
        throw new Conflict(`runtime ${req.runtimeId} belongs to sandbox ${existing.record.sandboxId}`);
      }
      if (!existing && (await hasForeignRecord(paths))) throw new Conflict(`runtime ${req.runtimeId} belongs to another provider`);
      if (existing && (await holderAlive(existing.record))) {
        // Spawning a live runtime of the same sandbox adopts it (how a restarted worker takes it back).
        existing.env = { ...req.env };
        return this.handle(existing.record, paths);
      }
      const problem = hostProblem(this.ctx);
      if (problem) throw new Unavailable(problem);
      // A runtime whose holder died keeps its workspace; whatever else is left of it goes first.
      if (existing) await killRuntime(existing.record, [...existing.processes]);
      let record: RuntimeRecord;
      try {
        record = await spawnRuntime(this.ctx, req, paths);
      } catch (err) {
        this.runtimes.forget(req.runtimeId);
        if (!existing) await removeRuntimeDir(paths);
        throw err;
      }
      this.runtimes.set(req.runtimeId, { record, env: { ...req.env }, processes: existing?.processes ?? new Set() });
      return this.handle(record, paths);
    });
  }

  async destroy(runtimeId: string): Promise<void> {
    assertRuntimeId(runtimeId);
    return this.runtimes.exclusive(runtimeId, async () => {
      const entry = await this.runtimes.get(runtimeId);
      const paths = this.runtimes.paths(runtimeId);
      if (!entry) {
        // No bwrap record: nothing of ours to kill, but a half-created directory may be left.
        if (!(await hasForeignRecord(paths))) await removeRuntimeDir(paths);
        return;
      }
      entry.forwarder?.stop();
      entry.forwarder = undefined;
      await destroyRuntime(entry.record, paths, [...entry.processes]);
      this.runtimes.forget(runtimeId);
    });
  }

  async status(runtimeId: string): Promise<RuntimeStatus | undefined> {
    const entry = await this.runtimes.get(runtimeId);
    if (!entry) return undefined;
    return {
      runtimeId,
      sandboxId: entry.record.sandboxId,
      state: (await holderAlive(entry.record)) ? 'running' : 'dead',
      processes: entry.processes.size,
    };
  }

  async startProcess(runtimeId: string, options: ProcessOptions): Promise<SandboxProcess> {
    const entry = await this.live(runtimeId);
    const proc = await startProcess(this.ctx, entry.record, options, entry.env);
    if (proc.pid > 0) {
      entry.processes.add(proc.pid);
      proc.onExit(() => entry.processes.delete(proc.pid));
    }
    return proc;
  }

  async portAddress(runtimeId: string, port: number): Promise<PortAddress> {
    assertRuntimeId(runtimeId);
    assertPort(port);
    const entry = await this.live(runtimeId);
    if (entry.record.network === 'host') return { kind: 'tcp', host: '127.0.0.1', port };
    const holder = entry.record.holder;
    if (!holder || !(await isAlive(holder.pid, holder.startTime))) throw new Conflict(`runtime ${runtimeId} is not running`);
    const paths = this.runtimes.paths(runtimeId);
    if (!entry.forwarder?.alive) entry.forwarder = await Forwarder.start(this.ctx, holder.pid, paths);
    return entry.forwarder.address(paths, port);
  }

  async inventory(): Promise<Array<{ runtimeId: string; sandboxId: string }>> {
    return (await this.runtimes.listRecords()).map((r) => ({ runtimeId: r.runtimeId, sandboxId: r.sandboxId }));
  }

  health(): Promise<{ ok: boolean; detail?: string }> {
    return this.health_.check();
  }

  async close(): Promise<void> {
    for (const entry of this.runtimes.all()) {
      entry.forwarder?.stop();
      entry.forwarder = undefined;
    }
  }

  private async live(runtimeId: string): Promise<RuntimeEntry> {
    const entry = await this.runtimes.get(runtimeId);
    if (!entry) throw new NotFound(`runtime ${runtimeId}`);
    return entry;
  }

  private async handle(record: RuntimeRecord, paths: RuntimePaths): Promise<RuntimeHandle> {
    return {
      sandboxId: record.sandboxId,
      runtimeId: record.runtimeId,
      // The real path, so path confinement in the file layer compares like with like.
      workspace: await realpath(paths.workspace),
      enforced: { ...record.enforced },
      warnings: [...record.warnings],
    };
  }
}

async function holderAlive(record: RuntimeRecord): Promise<boolean> {
  return record.holder !== undefined && (await isAlive(record.holder.pid, record.holder.startTime));
}

/** A runtime directory holding another provider's record (a shared data dir) is not ours to delete. */
async function hasForeignRecord(paths: RuntimePaths): Promise<boolean> {
  const text = await readFile(paths.record, 'utf8').catch(() => undefined);
  if (text === undefined) return false;
  try {
    return (JSON.parse(text) as { provider?: unknown }).provider !== 'bwrap';
  } catch {
    return false;
  }
}

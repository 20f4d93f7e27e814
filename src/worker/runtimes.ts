/**
 * The runtimes this worker holds: spawn, destroy and adopt on top of the providers, with the state
 * store as the durable record and the lease keeper told what to renew. One sandbox has at most one
 * runtime here; every operation on a sandbox runs inside that sandbox's lock (`withSandbox`), so the
 * RPC layer can put its lease check in the same critical section as the work it guards.
 *
 * Ordering, for crash safety: the record is written (state `starting`) before the provider creates
 * anything and removed only after the provider has destroyed everything, so whatever a crash leaves
 * behind is in the record and is reported in the next start's inventory.
 */
import type { Logger } from 'pino';
import type { Clock } from '../domain/clock.js';
import type { SpawnResult } from '../protocol/rpc.js';
import type { Provider, ProviderName, RuntimeHandle } from './providers/types.js';
import { KeyedLock } from './keyed-lock.js';
import { RpcFailure } from './rpc/errors.js';
import { capabilitiesOf, runtimeIdFor } from './runtime-id.js';
import type { RuntimeRecord, StateStore } from './state/types.js';

/** What the lease keeper needs to hear from the runtimes (leases.ts). */
export interface LeaseTracking {
  track(sandboxId: string, generation: number, ttlMs: number, firstRenewalInMs: number): void;
  forget(sandboxId: string): void;
}

export interface RuntimeManagerDeps {
  providers: ReadonlyMap<ProviderName, Provider>;
  state: StateStore;
  leases: LeaseTracking;
  clock: Clock;
  log: Logger;
  maxSandboxes: number;
  allowHostNetwork: boolean;
}

export interface SpawnInput {
  sandboxId: string;
  tenantId: string;
  provider: string;
  generation: number;
  spec: {
    cpu: number;
    memory_mb: number;
    disk_mb: number;
    pids?: number | undefined;
    env?: Record<string, string> | undefined;
    network: 'none' | 'host';
    service?: unknown;
  };
  leaseTtlMs: number;
  firstRenewalInMs: number;
}

/** The operations on one sandbox, available only while its lock is held. */
export interface SandboxOps {
  record(): RuntimeRecord | undefined;
  spawn(input: SpawnInput): Promise<SpawnResult>;
  /** Destroy the sandbox's runtime (if `runtimeId` is given, only that one); false when there was none. */
  destroy(runtimeId: string | null, why: string): Promise<boolean>;
  /** Take back a runtime found at start whose lease the worker still holds. */
  adopt(): Promise<void>;
}

/** Called before a runtime is destroyed, e.g. to end its process registry (data-plane routes). */
export type DestroyListener = (record: RuntimeRecord) => void | Promise<void>;

const SERVICE_NOT_RUN = 'this worker does not supervise services yet: spec.service was not started';

export class RuntimeManager {
  private readonly lock = new KeyedLock();
  private readonly destroyListeners: DestroyListener[] = [];

  constructor(private readonly deps: RuntimeManagerDeps) {}

  withSandbox<T>(sandboxId: string, fn: (ops: SandboxOps) => Promise<T>): Promise<T> {
    return this.lock.run(sandboxId, () =>
      fn({
        record: () => this.deps.state.get(sandboxId),
        spawn: (input) => this.spawn(input),
        destroy: (runtimeId, why) => this.destroy(sandboxId, runtimeId, why),
        adopt: () => this.adopt(sandboxId),
      }),
    );
  }

  records(): RuntimeRecord[] {
    return this.deps.state.list();
  }

  count(): number {
    return this.deps.state.list().length;
  }

  providerNames(): ProviderName[] {
    return [...this.deps.providers.keys()];
  }

  /** For the data-plane routes: a running runtime and the provider that owns it. */
  lookup(runtimeId: string): { record: RuntimeRecord; provider: Provider } | undefined {
    const record = this.deps.state.findRuntime(runtimeId);
    const provider = record?.state === 'running' ? this.deps.providers.get(record.provider) : undefined;
    return record && provider ? { record, provider } : undefined;
  }

  onDestroy(listener: DestroyListener): void {
    this.destroyListeners.push(listener);
  }

  /** Every runtime, destroyed in parallel (shutdown). Failures are logged, not thrown. */
  async destroyAll(why: string): Promise<void> {
    const ids = this.deps.state.list().map((r) => r.sandboxId);
    await Promise.all(
      ids.map((id) =>
        this.withSandbox(id, (ops) => ops.destroy(null, why)).catch((err) => {
          this.deps.log.error({ sandbox_id: id, err: (err as Error).message }, 'could not destroy runtime at shutdown');
        }),
      ),
    );
  }

  private async spawn(input: SpawnInput): Promise<SpawnResult> {
    const { state, log } = this.deps;
    const existing = state.get(input.sandboxId);
    if (existing && existing.generation === input.generation && existing.state === 'running') {
      // A retry of a spawn already done (its answer was lost): the same runtime, the same answer.
      return answer(existing);
    }
    if (existing && existing.generation !== input.generation) {
      await this.destroy(input.sandboxId, null, `replaced by lease generation ${input.generation}`);
    }
    const provider = this.deps.providers.get(input.provider as ProviderName);
    if (!provider) throw new RpcFailure('bad_request', `provider ${input.provider} is not offered by this worker (it offers ${this.providerNames().join(', ')})`);
    const others = state.list().filter((r) => r.sandboxId !== input.sandboxId).length;
    if (others >= this.deps.maxSandboxes) throw new RpcFailure('no_capacity', `this worker already runs its maximum of ${this.deps.maxSandboxes} sandboxes`);
    if (input.spec.network === 'host' && !this.deps.allowHostNetwork) throw new RpcFailure('spawn_failed', 'this worker does not allow network: host (worker.allow_host_network is false)');

    const record: RuntimeRecord = {
      sandboxId: input.sandboxId,
      runtimeId: existing?.generation === input.generation ? existing.runtimeId : runtimeIdFor(input.sandboxId, input.generation),
      generation: input.generation,
      provider: provider.name,
      tenantId: input.tenantId,
      state: 'starting',
      request: {
        resources: { cpuMilli: Math.round(input.spec.cpu * 1000), memoryMb: input.spec.memory_mb, diskMb: input.spec.disk_mb, pids: input.spec.pids },
        env: { ...(input.spec.env ?? {}) },
        network: input.spec.network,
      },
      capabilities: [],
      warnings: [],
      leaseTtlMs: input.leaseTtlMs,
      createdAt: this.deps.clock.now(),
    };
    await state.put(record);
    let handle: RuntimeHandle;
    try {
      handle = await provider.spawn({ sandboxId: record.sandboxId, runtimeId: record.runtimeId, resources: record.request.resources, env: record.request.env, network: record.request.network });
    } catch (err) {
      // Leave nothing half made: the provider's partial runtime and our record both go.
      await provider.destroy(record.runtimeId).catch((e: unknown) => log.warn({ runtime_id: record.runtimeId, err: (e as Error).message }, 'cleanup after a failed spawn failed'));
      await state.remove(record.sandboxId, record.runtimeId);
      throw new RpcFailure('spawn_failed', `${provider.name} could not create the runtime: ${(err as Error).message}`);
    }
    const warnings = [...handle.warnings];
    if (input.spec.service !== undefined) warnings.push(SERVICE_NOT_RUN);
    const running: RuntimeRecord = { ...record, state: 'running', capabilities: capabilitiesOf(handle.enforced), warnings };
    await state.put(running);
    this.deps.leases.track(running.sandboxId, running.generation, running.leaseTtlMs, input.firstRenewalInMs);
    log.info({ sandbox_id: running.sandboxId, runtime_id: running.runtimeId, generation: running.generation, provider: running.provider }, 'runtime spawned');
    return answer(running);
  }

  private async destroy(sandboxId: string, runtimeId: string | null, why: string): Promise<boolean> {
    const { state, log } = this.deps;
    const record = state.get(sandboxId);
    if (!record || (runtimeId !== null && record.runtimeId !== runtimeId)) return false;
    this.deps.leases.forget(sandboxId);
    if (record.state !== 'stopping') await state.put({ ...record, state: 'stopping' });
    for (const listener of this.destroyListeners) {
      try {
        await listener(record);
      } catch (err) {
        log.warn({ runtime_id: record.runtimeId, err: (err as Error).message }, 'a destroy listener failed');
      }
    }
    const provider = this.deps.providers.get(record.provider);
    if (provider) {
      // A failure keeps the record (state stopping): the next start's reconciliation tries again.
      await provider.destroy(record.runtimeId);
    } else {
      log.warn({ runtime_id: record.runtimeId, provider: record.provider }, 'runtime of a provider this worker no longer opens; forgetting it without cleanup');
    }
    await state.remove(sandboxId, record.runtimeId);
    log.info({ sandbox_id: sandboxId, runtime_id: record.runtimeId, generation: record.generation, why }, 'runtime destroyed');
    return true;
  }

  private async adopt(sandboxId: string): Promise<void> {
    const record = this.deps.state.get(sandboxId);
    if (!record) return;
    const provider = this.deps.providers.get(record.provider);
    if (!provider) throw new Error(`provider ${record.provider} is not open on this worker`);
    // Spawning an existing runtime of the same sandbox takes it back (workspace kept): providers/types.ts.
    const handle = await provider.spawn({ sandboxId, runtimeId: record.runtimeId, resources: record.request.resources, env: record.request.env, network: record.request.network });
    const adopted: RuntimeRecord = { ...record, state: 'running', capabilities: capabilitiesOf(handle.enforced), warnings: record.warnings.length ? record.warnings : handle.warnings };
    await this.deps.state.put(adopted);
    // When the lease runs out is unknown after a restart: renew at once, which also proves we hold it.
    this.deps.leases.track(sandboxId, record.generation, record.leaseTtlMs, 0);
    this.deps.log.info({ sandbox_id: sandboxId, runtime_id: record.runtimeId, generation: record.generation }, 'runtime adopted');
  }
}

function answer(r: RuntimeRecord): SpawnResult {
  return { runtime_id: r.runtimeId, state: 'running', capabilities: [...r.capabilities], warnings: [...r.warnings] };
}

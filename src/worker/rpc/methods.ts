/**
 * The RPC methods of src/protocol/rpc.ts: worker.status, worker.spawn*, worker.destroy*,
 * worker.renew_lease* (* leased), plus worker.shutdown (drain, 03-worker.md). Each leased method
 * validates its params, waits until the worker has reconciled, and then — inside the sandbox's lock —
 * checks the lease, raises and persists the sandbox's high-water mark, and only then acts. So a
 * request that passed the check can never act after a higher generation has been accepted, and a
 * worker restarted a moment later still refuses the older generation.
 *
 * More methods (worker.exec, worker.file_*, …) plug in as further entries of the same table.
 */
import type { Logger } from 'pino';
import { z } from 'zod';
import {
  destroyParamsSchema,
  renewLeaseParamsSchema,
  spawnParamsSchema,
  statusParamsSchema,
  type DestroyResult,
  type RenewLeaseResult,
  type RpcLeaseWire,
  type SpawnResult,
  type StatusResult,
} from '../../protocol/rpc.js';
import { renewalTtl, type LeaseKeeper } from '../leases.js';
import type { RuntimeManager } from '../runtimes.js';
import type { ServerTime } from '../server-time.js';
import type { StateStore } from '../state/types.js';
import type { WorkerStatus } from '../status.js';
import { pause, type Timers } from '../timers.js';
import { RpcFailure } from './errors.js';
import { checkLease } from './lease-check.js';

export interface RpcCall {
  lease: RpcLeaseWire | undefined;
  params: unknown;
}

export type RpcHandler = (call: RpcCall) => Promise<unknown>;

export interface RpcContext {
  workerId: string;
  status: WorkerStatus;
  runtimes: RuntimeManager;
  state: StateStore;
  leases: Pick<LeaseKeeper, 'refreshed'>;
  serverTime: ServerTime;
  timers: Timers;
  log: Logger;
  /** Start the drain (idempotent). */
  drain(reason: string): void;
  /** How long a leased call waits for reconciliation before giving up. */
  readyTimeoutMs: number;
  /** Renewal TTL when the lease's length cannot be told (no server-time estimate). */
  fallbackLeaseTtlMs: number;
}

/** `worker.shutdown` takes nothing (an empty object or no params). */
export const shutdownParamsSchema = z.strictObject({}).optional();

function parse<T>(schema: z.ZodType<T>, params: unknown): T {
  const r = schema.safeParse(params);
  if (!r.success) throw new RpcFailure('bad_request', `invalid params: ${z.prettifyError(r.error)}`);
  return r.data;
}

async function whenReady(ctx: RpcContext, method: string): Promise<void> {
  if (ctx.status.phase !== 'reconciling') return;
  await Promise.race([ctx.status.ready, pause(ctx.timers, ctx.readyTimeoutMs)]);
  if (ctx.status.phase === 'reconciling') {
    // "Not here, not yet": a spawn goes elsewhere; other calls are retried by the control plane.
    throw new RpcFailure(method === 'worker.spawn' ? 'no_capacity' : 'internal', 'the worker is still reconciling the runtimes it found at start');
  }
}

/** The lease rule; on success the raised high-water mark is on disk before anything else happens. */
async function leaseGate(ctx: RpcContext, method: string, lease: RpcLeaseWire | undefined, sandboxId: string) {
  const verdict = checkLease({ method, lease, sandboxId, workerId: ctx.workerId, highWater: ctx.state.highWater(sandboxId), serverNow: ctx.serverTime.now() });
  if (!verdict.ok) throw new RpcFailure(verdict.code, verdict.message);
  await ctx.state.raiseHighWater(sandboxId, verdict.generation, verdict.expiresAt);
  return { ...verdict, lease: lease! };
}

export function coreMethods(ctx: RpcContext): Map<string, RpcHandler> {
  const methods = new Map<string, RpcHandler>();

  methods.set('worker.status', async ({ params }): Promise<StatusResult> => {
    parse(statusParamsSchema, params);
    return {
      worker_id: ctx.workerId,
      status: ctx.status.reported,
      providers: ctx.runtimes.providerNames(),
      runtimes: ctx.runtimes.records().map((r) => ({ sandbox_id: r.sandboxId, runtime_id: r.runtimeId, generation: r.generation, state: r.state })),
    };
  });

  methods.set('worker.spawn', async ({ lease, params }): Promise<SpawnResult> => {
    const p = parse(spawnParamsSchema, params);
    await whenReady(ctx, 'worker.spawn');
    return ctx.runtimes.withSandbox(p.sandbox_id, async (ops) => {
      const gate = await leaseGate(ctx, 'worker.spawn', lease, p.sandbox_id);
      const refusal = ctx.status.spawnRefusal();
      if (refusal) throw new RpcFailure('draining', `${refusal}; place the sandbox elsewhere`);
      // The lease was taken just before this call, so what is left of it is (nearly) its full length.
      const remaining = ctx.serverTime.remainingMs(gate.lease.expires_at);
      return ops.spawn({
        sandboxId: p.sandbox_id,
        tenantId: p.tenant_id,
        provider: p.provider,
        generation: gate.generation,
        spec: p.spec,
        leaseTtlMs: renewalTtl(remaining, ctx.fallbackLeaseTtlMs),
        firstRenewalInMs: remaining === undefined ? 0 : Math.max(0, remaining / 3),
      });
    });
  });

  methods.set('worker.destroy', async ({ lease, params }): Promise<DestroyResult> => {
    const p = parse(destroyParamsSchema, params);
    await whenReady(ctx, 'worker.destroy');
    return ctx.runtimes.withSandbox(p.sandbox_id, async (ops) => {
      await leaseGate(ctx, 'worker.destroy', lease, p.sandbox_id);
      return { destroyed: await ops.destroy(p.runtime_id, 'destroyed by the control plane') };
    });
  });

  methods.set('worker.renew_lease', async ({ lease, params }): Promise<RenewLeaseResult> => {
    const p = parse(renewLeaseParamsSchema, params);
    await whenReady(ctx, 'worker.renew_lease');
    return ctx.runtimes.withSandbox(p.sandbox_id, async () => {
      const gate = await leaseGate(ctx, 'worker.renew_lease', lease, p.sandbox_id);
      ctx.leases.refreshed(p.sandbox_id, gate.generation, ctx.serverTime.remainingMs(gate.lease.expires_at));
      return { expires_at: gate.lease.expires_at };
    });
  });

  methods.set('worker.shutdown', async ({ params }) => {
    parse(shutdownParamsSchema, params);
    ctx.drain('worker.shutdown');
    return { status: 'draining' };
  });

  return methods;
}

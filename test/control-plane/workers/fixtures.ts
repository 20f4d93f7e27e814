/**
 * Helpers for the worker-registry tests: heartbeat bodies, sandboxes placed straight through the store
 * (placement itself is tested elsewhere), a second control plane over the same store (a "restart"),
 * and a recording WorkerRpc.
 */
import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { newId } from '../../../src/domain/ids.js';
import { buildApp } from '../../../src/control-plane/app.js';
import { createControlPlane } from '../../../src/control-plane/compose.js';
import type { ControlPlane } from '../../../src/control-plane/deps.js';
import { WorkerUnavailable, type RpcCallOptions, type RpcTarget, type WorkerRpc } from '../../../src/control-plane/rpc/client.js';
import type { HeartbeatRequest } from '../../../src/protocol/worker-protocol.js';
import { allTenants, type SandboxRecord } from '../../../src/store/types.js';
import { workerCaller, type TestControlPlane, type TestResponse } from '../support/harness.js';

export const RPC_SECRET = 'rpc-secret-0123456789abcdef';

export function hbBody(over: Partial<HeartbeatRequest> = {}): HeartbeatRequest {
  return {
    hostname: 'host.local',
    version: '0.1.0',
    status: 'online',
    providers: ['process'],
    capabilities: ['exec'],
    labels: { zone: 'a' },
    capacity: { cpu: 4, memory_mb: 8192, disk_mb: 10240, max_sandboxes: 10 },
    rpc_url: 'http://127.0.0.1:7430',
    rpc_secret: RPC_SECRET,
    ...over,
  };
}

export function heartbeat(t: TestControlPlane, id: string, over: Partial<HeartbeatRequest> = {}): Promise<TestResponse> {
  return t.request('POST', `/api/v1/worker/${id}/heartbeat`, { ...workerCaller(id), body: hbBody(over) });
}

export interface PlaceOptions {
  tenant?: string;
  restart?: boolean;
  /** Leave it in `starting` instead of moving it to running. */
  starting?: boolean;
  runtimeId?: string;
}

/** A sandbox placed on `workerId` (and running, unless `starting`), straight through the store. */
export async function placeSandbox(t: TestControlPlane, workerId: string, o: PlaceOptions = {}): Promise<SandboxRecord> {
  const tenantId = o.tenant ?? 'tenant-a';
  await t.store.tenants.ensureTenant(tenantId);
  const sbx = await t.store.sandboxes.createSandbox({
    id: newId('sbx', t.clock.now(), () => randomBytes(10)),
    tenantId,
    spec: {},
    resources: { cpuMilli: 500, memoryMb: 512, diskMb: 512 },
    labels: {},
    metadata: {},
    restartOnWorkerLoss: o.restart ?? false,
    ttlMs: 24 * 3_600_000,
    idleTimeoutMs: null,
    queueTimeoutMs: 30_000,
  });
  const placed = await t.store.sandboxes.commitPlacement(sbx.id, workerId, 'process', 60_000);
  if (placed.kind !== 'placed') throw new Error(`placement failed: ${placed.reason}`);
  if (o.starting) return placed.sandbox;
  const running = await t.store.sandboxes.transitionSandbox(sbx.id, { from: ['starting'], to: 'running', runtimeId: o.runtimeId ?? `rt-${sbx.id}`, startedNow: true });
  if (!running) throw new Error('could not start the sandbox');
  return running;
}

export async function sandbox(t: TestControlPlane, id: string): Promise<SandboxRecord> {
  const s = await t.store.sandboxes.getSandbox(allTenants, id);
  if (!s) throw new Error(`no sandbox ${id}`);
  return s;
}

export async function eventTypes(t: TestControlPlane, prefix = ''): Promise<string[]> {
  const events = await t.store.events.listEvents(allTenants, { afterSeq: 0, limit: 10_000 });
  return events.map((e) => e.type).filter((type) => type.startsWith(prefix));
}

/** Another control plane over the same store and clock: a restart (its startedAt is the clock's now). */
export function restartedControlPlane(t: TestControlPlane, rpc?: WorkerRpc): ControlPlane {
  return createControlPlane({ config: t.config, store: t.store, clock: t.clock, log: pino({ level: 'silent' }), replicaId: 'cp-restarted', ...(rpc ? { rpc } : {}) });
}

export async function appFor(cp: ControlPlane) {
  const app = await buildApp(cp);
  await app.ready();
  return app;
}

export interface RecordedCall {
  target: RpcTarget;
  method: string;
  params: unknown;
  options: RpcCallOptions | undefined;
}

/** A WorkerRpc that records calls; `reachable: false` makes every call fail as an unreachable worker. */
export function recordingRpc(o: { reachable: boolean } = { reachable: true }): WorkerRpc & { calls: RecordedCall[]; reachable: boolean } {
  const rpc = {
    calls: [] as RecordedCall[],
    reachable: o.reachable,
    async call<T>(target: RpcTarget, method: string, params: unknown, options?: RpcCallOptions): Promise<T> {
      rpc.calls.push({ target, method, params, options });
      if (!rpc.reachable) throw new WorkerUnavailable(target.id, 'connection refused');
      return {} as T;
    },
  };
  return rpc;
}

/**
 * Worker → control plane (03-worker.md): heartbeat, sandbox lease renewal, fenced sandbox state
 * reports. The schemas are the protocol module's, shared with the worker daemon. Auth (register.ts)
 * has already checked that the path's worker id is the authenticated one.
 */
import { z } from 'zod';
import { toRfc3339 } from '../../domain/clock.js';
import { Conflict, LeaseLost, NotFound } from '../../domain/errors.js';
import { WORKER_ID_PATTERN } from '../../domain/ids.js';
import { sandboxMachine } from '../../domain/states/sandbox.js';
import type { WorkerStatus } from '../../domain/states/worker.js';
import {
  heartbeatReply,
  heartbeatRequest,
  leaseRenewReply,
  leaseRenewRequest,
  sandboxStateReply,
  sandboxStateReport,
  type HeartbeatReply,
  type HeartbeatRequest,
  type InventoryItem,
} from '../../protocol/worker-protocol.js';
import { allTenants, type HeartbeatInput, type WorkerRecord } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { emitWorker, resumeDrainIfRequested } from '../services/drain.js';
import { emitSandbox, reclaimWorkerWork } from '../services/worker-loss.js';

const workerParams = z.strictObject({ workerId: z.string().regex(WORKER_ID_PATTERN) });
const leaseParams = workerParams.extend({ resourceId: z.string().min(1).max(128) });
const sandboxParams = workerParams.extend({ sandboxId: z.string().min(1).max(128) });

function toHeartbeatInput(id: string, b: HeartbeatRequest): HeartbeatInput {
  return {
    id,
    hostname: b.hostname,
    version: b.version,
    status: b.status,
    providers: b.providers,
    capabilities: b.capabilities,
    labels: b.labels,
    capacity: { cpuMilli: Math.round(b.capacity.cpu * 1000), memoryMb: b.capacity.memory_mb, diskMb: b.capacity.disk_mb, sandboxes: b.capacity.max_sandboxes },
    rpcUrl: b.rpc_url,
    rpcSecret: b.rpc_secret ?? null,
    taskKinds: b.task_kinds ?? [],
    codeVersion: b.code_version ?? null,
  };
}

/**
 * Runtimes in the inventory the worker no longer owns: the sandbox is not attached to it (ended,
 * unknown, re-placed), its lease is not this worker's at that generation, or the record names another
 * runtime (a duplicate from a retried spawn). Two queries however long the inventory is.
 */
async function releaseList(cp: ControlPlane, workerId: string, inventory: InventoryItem[]): Promise<string[]> {
  const [attached, leases] = await Promise.all([
    cp.store.sandboxes.listSandboxesOnWorker(workerId, ['starting', 'running', 'idle', 'stopping']),
    cp.store.leases.liveLeasesHeldBy(workerId, 'sandbox'),
  ]);
  const sandboxes = new Map(attached.map((s) => [s.id, s]));
  const generations = new Map(leases.map((l) => [l.resourceId, l.generation]));
  const release = new Set<string>();
  for (const item of inventory) {
    const s = sandboxes.get(item.sandbox_id);
    const owned = s !== undefined && generations.get(item.sandbox_id) === item.generation && s.generation === item.generation && (s.runtimeId === null || s.runtimeId === item.runtime_id);
    if (!owned) release.add(item.runtime_id);
  }
  return [...release];
}

function drainOf(w: WorkerRecord): HeartbeatReply['drain'] {
  if (w.status !== 'draining' && w.status !== 'drained') return undefined;
  return { deadline: w.drain?.deadlineAt == null ? null : toRfc3339(w.drain.deadlineAt) };
}

async function announce(cp: ControlPlane, w: WorkerRecord, previous: WorkerStatus | null): Promise<void> {
  if (previous === null) {
    cp.log.info({ worker_id: w.id, hostname: w.hostname, version: w.version }, 'worker registered');
    cp.metrics.workerTransitions.inc({ from: 'none', to: w.status });
    await cp.events.emit({ type: 'worker.registered', tenantId: null, resourceType: 'worker', resourceId: w.id, data: { status: w.status, hostname: w.hostname, version: w.version } });
    return;
  }
  if (previous === w.status) return;
  if (previous === 'stale' || previous === 'lost') cp.log.info({ worker_id: w.id, from: previous }, 'worker is back');
  await emitWorker(cp, w, previous);
}

export function workerProtocolRoutes(): RouteDef[] {
  // Workers this replica has had a full inventory from since it started. Per route list, which
  // buildApp makes once per control-plane instance: a restarted (or another) replica asks again.
  const inventorySeen = new Set<string>();

  return [
    defineRoute({
      id: 'worker.heartbeat',
      method: 'POST',
      path: '/api/v1/worker/:workerId/heartbeat',
      summary: 'Worker heartbeat: registers the worker, refreshes its record, returns timing, drain and runtimes to release',
      tags: ['worker-protocol'],
      auth: { kind: 'worker', scope: 'worker:heartbeat' },
      params: workerParams,
      body: heartbeatRequest,
      audit: false,
      responses: { 200: heartbeatReply },
      handler: async ({ cp, params, body }) => {
        const done = cp.metrics.heartbeatDuration.startTimer();
        try {
          // Lost → online promises that the old work is fenced. Finish any loss handling a replica left
          // half done before the heartbeat makes the worker placeable again: afterwards a fresh
          // placement on it could be fenced by mistake.
          if ((await cp.store.workers.getWorker(params.workerId))?.status === 'lost') await reclaimWorkerWork(cp, params.workerId);
          const recorded = await cp.store.workers.recordHeartbeat(toHeartbeatInput(params.workerId, body));
          await announce(cp, recorded.worker, recorded.previousStatus);
          const worker = await resumeDrainIfRequested(cp, recorded.worker);
          const reply: HeartbeatReply = {
            next_heartbeat_ms: cp.config.workers.heartbeat_interval,
            server_time: toRfc3339(worker.lastHeartbeatAt),
            cordoned: worker.cordoned,
          };
          const drain = drainOf(worker);
          if (drain) reply.drain = drain;
          if (body.inventory) reply.release = await releaseList(cp, params.workerId, body.inventory);
          // A worker back from stale/lost is asked again even if it just sent one: the loss handling
          // that fenced its work may have been running while this inventory was being checked.
          const returned = recorded.previousStatus === 'stale' || recorded.previousStatus === 'lost';
          const unseen = recorded.previousStatus === null || !inventorySeen.has(params.workerId);
          reply.inventory_wanted = returned || (!body.inventory && unseen);
          if (body.inventory) inventorySeen.add(params.workerId);
          return { body: reply };
        } finally {
          done();
        }
      },
    }),
    defineRoute({
      id: 'worker.lease_renew',
      method: 'POST',
      path: '/api/v1/worker/:workerId/leases/:resourceId/renew',
      summary: 'Renew a sandbox lease this worker holds (409 lease_lost if it no longer does)',
      tags: ['worker-protocol'],
      auth: { kind: 'worker', scope: 'worker:lease' },
      params: leaseParams,
      body: leaseRenewRequest,
      // As frequent as heartbeats, and a rejection is counted in a metric: not audited.
      audit: false,
      responses: { 200: leaseRenewReply },
      handler: async ({ cp, params, body }) => {
        try {
          const lease = await cp.store.leases.renewLease({ type: 'sandbox', id: params.resourceId }, params.workerId, body.generation, body.ttl_ms);
          return { body: { lease: { resource_id: lease.resourceId, holder_id: lease.holderId, generation: lease.generation, expires_at: toRfc3339(lease.expiresAt) } } };
        } catch (err) {
          if (err instanceof LeaseLost) cp.metrics.fencedRejected.inc({ kind: 'lease_renew' });
          throw err;
        }
      },
    }),
    defineRoute({
      id: 'worker.sandbox_state',
      method: 'POST',
      path: '/api/v1/worker/:workerId/sandboxes/:sandboxId/state',
      summary: "Fenced sandbox state report from the worker holding the sandbox's lease",
      tags: ['worker-protocol'],
      auth: { kind: 'worker', scope: 'worker:lease' },
      params: sandboxParams,
      body: sandboxStateReport,
      auditResource: { type: 'sandbox', param: 'sandboxId' },
      responses: { 200: sandboxStateReply },
      handler: async ({ cp, params, body }) => {
        const fenced = () => {
          cp.metrics.fencedRejected.inc({ kind: 'sandbox_state' });
          return new LeaseLost(`sandbox/${params.sandboxId}`);
        };
        const sbx = await cp.store.sandboxes.getSandbox(allTenants, params.sandboxId);
        if (!sbx) throw new NotFound(`sandbox ${params.sandboxId}`);
        if (sbx.workerId !== params.workerId || sbx.generation !== body.generation) throw fenced();
        const ref = { type: 'sandbox', id: sbx.id };
        const reply = (s: typeof sbx) => ({ body: { sandbox_id: s.id, state: s.state, state_reason: s.stateReason, generation: s.generation } });
        const checkFence = async () => {
          try {
            await cp.store.leases.checkFence(ref, params.workerId, body.generation);
          } catch (err) {
            if (err instanceof LeaseLost) throw fenced();
            throw err;
          }
        };
        if (sbx.state === body.state) {
          // A retried report: nothing to change, but still only for the lease holder.
          await checkFence();
          return reply(sbx);
        }
        if (!sandboxMachine.can(sbx.state, body.state)) {
          // A worker whose lease has ended (the sandbox was stopped, failed, re-placed) is told so, not
          // that its edge is wrong: lease_lost is what makes it tear the runtime down.
          await checkFence();
          throw new Conflict(`a sandbox cannot go from ${sbx.state} to ${body.state}`, { state: sbx.state });
        }
        // started_at marks the first time it runs on this placement, not a wake from idle.
        const lease = await cp.store.leases.getLease(ref);
        const startedNow = body.state === 'running' && lease !== undefined && (sbx.startedAt === null || sbx.startedAt < lease.acquiredAt);
        const reason = body.reason ?? (body.exit_code != null ? `exit_code ${body.exit_code}` : null);
        let after;
        try {
          after = await cp.store.sandboxes.reportSandboxState(sbx.id, params.workerId, body.generation, {
            from: [sbx.state],
            to: body.state,
            reason,
            ...(body.runtime_id !== undefined ? { runtimeId: body.runtime_id } : {}),
            startedNow,
          });
        } catch (err) {
          if (err instanceof LeaseLost) throw fenced();
          throw err;
        }
        // The state moved between our read and the fenced write (a stop, a TTL): report what it is now.
        if (!after) throw new Conflict(`sandbox ${sbx.id} changed state concurrently; re-read it`, { expected: sbx.state });
        await emitSandbox(cp, after, { worker_id: params.workerId, ...(body.exit_code != null ? { exit_code: body.exit_code } : {}) });
        return reply(after);
      },
    }),
  ];
}

/**
 * The worker registry as operators see it (02-api.md, "Workers"): read it, cordon and drain workers,
 * and the admin's repairs — delete a worker (fencing its work if forced) and record a heartbeat on its
 * behalf. Worker-to-control-plane calls are in worker-protocol.ts.
 */
import { z } from 'zod';
import { Conflict, NotFound } from '../../domain/errors.js';
import { WORKER_ID_PATTERN } from '../../domain/ids.js';
import type { SandboxState } from '../../domain/states/sandbox.js';
import { listOf } from '../../protocol/list.js';
import { deleteWorkerReplySchema, drainWorkerSchema, leaseViewSchema, workerDetailSchema, workerViewSchema } from '../../protocol/workers.js';
import type { SandboxRecord } from '../../store/types.js';
import { readScope } from '../auth/principal.js';
import type { ControlPlane } from '../deps.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { emitWorker, resumeDrainIfRequested, startWorkerDrain } from '../services/drain.js';
import { reclaimWorkerWork } from '../services/worker-loss.js';
import { pageQuery, viewLease, viewWorker } from '../views/worker.js';

const idParams = z.strictObject({ id: z.string().regex(WORKER_ID_PATTERN, 'not a worker id') });
const auditWorker = { type: 'worker', param: 'id' };
const flag = z.enum(['true', 'false']).transform((v) => v === 'true');

/** States in which a sandbox is still attached to the worker it was placed on. */
const ATTACHED: SandboxState[] = ['starting', 'running', 'idle', 'stopping', 'lost'];

async function view(cp: ControlPlane, id: string) {
  const w = await cp.store.workers.getWorker(id);
  if (!w) throw new NotFound(`worker ${id}`);
  return viewWorker(w, await cp.store.now(), cp.config.workers.stale_after);
}

export function workerRoutes(): RouteDef[] {
  return [
    defineRoute({
      id: 'workers.list',
      method: 'GET',
      path: '/api/v1/workers',
      summary: 'List workers, with a computed `stale` flag',
      tags: ['workers'],
      auth: { kind: 'user', scope: 'read' },
      query: z.strictObject(pageQuery),
      responses: { 200: listOf(workerViewSchema) },
      handler: async ({ cp, query }) => {
        const [page, now] = await Promise.all([cp.store.workers.listWorkers({ limit: query.limit, cursor: query.cursor }), cp.store.now()]);
        return { body: { items: page.items.map((w) => viewWorker(w, now, cp.config.workers.stale_after)), next_cursor: page.nextCursor } };
      },
    }),
    defineRoute({
      id: 'workers.get',
      method: 'GET',
      path: '/api/v1/workers/:id',
      summary: 'One worker, with the sandboxes attached to it and its live leases',
      tags: ['workers'],
      auth: { kind: 'user', scope: 'read' },
      params: idParams,
      responses: { 200: workerDetailSchema },
      handler: async ({ cp, params, principal }) => {
        const worker = await view(cp, params.id);
        // Tenancy is applied by the store: a tenant key sees only its own sandboxes here, and only the
        // leases on those; operators and admins see everything.
        const scope = readScope(principal);
        const pages = await Promise.all(ATTACHED.map((state) => cp.store.sandboxes.listSandboxes(scope, { workerId: params.id, state }, { limit: 1000 })));
        const sandboxes: SandboxRecord[] = pages.flatMap((p) => p.items);
        const visible = new Set(sandboxes.map((s) => s.id));
        const [leases, now] = await Promise.all([cp.store.leases.liveLeasesHeldBy(params.id), cp.store.now()]);
        return {
          body: {
            ...worker,
            sandboxes: sandboxes.map((s) => ({ id: s.id, state: s.state, generation: s.generation })),
            leases: leases.filter((l) => scope.kind === 'all' || (l.resourceType === 'sandbox' && visible.has(l.resourceId))).map((l) => viewLease(l, now)),
          },
        };
      },
    }),
    defineRoute({
      id: 'workers.cordon',
      method: 'POST',
      path: '/api/v1/workers/:id/cordon',
      summary: 'Stop placing new sandboxes on a worker (running ones are unaffected)',
      tags: ['workers'],
      auth: { kind: 'user', scope: 'operate' },
      params: idParams,
      auditResource: auditWorker,
      responses: { 200: workerViewSchema },
      handler: async ({ cp, params }) => {
        const w = await cp.store.workers.setCordoned(params.id, true);
        if (!w) throw new NotFound(`worker ${params.id}`);
        await cp.events.emit({ type: 'worker.cordoned', tenantId: null, resourceType: 'worker', resourceId: w.id, data: { cordoned: true } });
        return { body: await view(cp, params.id) };
      },
    }),
    defineRoute({
      id: 'workers.uncordon',
      method: 'POST',
      path: '/api/v1/workers/:id/uncordon',
      summary: 'Allow placements on a worker again; also cancels a drain',
      tags: ['workers'],
      auth: { kind: 'user', scope: 'operate' },
      params: idParams,
      auditResource: auditWorker,
      responses: { 200: workerViewSchema },
      handler: async ({ cp, params }) => {
        if (!(await cp.store.workers.setCordoned(params.id, false))) throw new NotFound(`worker ${params.id}`);
        const ended = await cp.store.workers.endDrain(params.id);
        if (!ended) throw new NotFound(`worker ${params.id}`);
        await cp.events.emit({ type: 'worker.uncordoned', tenantId: null, resourceType: 'worker', resourceId: params.id, data: { cordoned: false } });
        if (ended.worker.status !== ended.previousStatus) await emitWorker(cp, ended.worker, ended.previousStatus ?? 'online');
        return { body: await view(cp, params.id) };
      },
    }),
    defineRoute({
      id: 'workers.drain',
      method: 'POST',
      path: '/api/v1/workers/:id/drain',
      summary: 'Drain a worker: no new work; at the deadline, re-place (migrate) or stop what still runs',
      tags: ['workers'],
      auth: { kind: 'user', scope: 'operate' },
      params: idParams,
      body: drainWorkerSchema,
      auditResource: auditWorker,
      responses: { 200: workerViewSchema },
      handler: async ({ cp, params, body }) => {
        await startWorkerDrain(cp, params.id, { deadlineMs: body.deadline_ms, migrate: body.migrate });
        return { body: await view(cp, params.id) };
      },
    }),
    defineRoute({
      id: 'admin.workers.delete',
      method: 'DELETE',
      path: '/api/v1/admin/workers/:id',
      summary: 'Remove a worker from the registry; refused while it holds work unless ?force=true, which fences and fails or re-places it',
      tags: ['workers', 'admin'],
      auth: { kind: 'user', scope: 'admin' },
      params: idParams,
      query: z.strictObject({ force: flag.default(false) }),
      auditResource: auditWorker,
      responses: { 200: deleteWorkerReplySchema },
      handler: async ({ cp, params, query }) => {
        const w = await cp.store.workers.getWorker(params.id);
        if (!w) throw new NotFound(`worker ${params.id}`);
        const [liveLeases, attached] = await Promise.all([cp.store.leases.countLiveLeases(params.id), cp.store.sandboxes.listSandboxesOnWorker(params.id, ATTACHED)]);
        if ((liveLeases > 0 || attached.length > 0) && !query.force) {
          throw new Conflict(`worker ${params.id} still holds work; stop or drain it first, or pass ?force=true`, { live_leases: liveLeases, sandboxes: attached.length });
        }
        // Cordon first: placement checks the flag in its commit, so nothing new lands while we fence.
        await cp.store.workers.setCordoned(params.id, true);
        const outcome = await reclaimWorkerWork(cp, params.id);
        await cp.store.workers.deleteWorker(params.id);
        cp.log.warn({ worker_id: params.id, forced: query.force, leases_expired: outcome.leasesExpired }, 'worker deleted');
        await cp.events.emit({ type: 'worker.deleted', tenantId: null, resourceType: 'worker', resourceId: params.id, data: { forced: query.force, previous_status: w.status } });
        return {
          body: {
            id: params.id,
            deleted: true,
            leases_expired: outcome.leasesExpired,
            sandboxes_replaced: outcome.replaced,
            sandboxes_failed: outcome.failed,
            sandboxes_stopped: outcome.stopped,
          },
        };
      },
    }),
    defineRoute({
      id: 'admin.workers.heartbeat',
      method: 'POST',
      path: '/api/v1/admin/workers/:id/heartbeat',
      summary: 'Registry repair: record a heartbeat for a worker and bring it back online if stale or lost',
      tags: ['workers', 'admin'],
      auth: { kind: 'user', scope: 'admin' },
      params: idParams,
      auditResource: auditWorker,
      responses: { 200: workerViewSchema },
      handler: async ({ cp, params }) => {
        const r = await cp.store.workers.repairHeartbeat(params.id);
        if (!r) throw new NotFound(`worker ${params.id}`);
        if (r.worker.status !== r.previousStatus) {
          cp.log.warn({ worker_id: params.id, from: r.previousStatus }, 'worker brought back online by an admin');
          await emitWorker(cp, r.worker, r.previousStatus ?? 'online');
        }
        await resumeDrainIfRequested(cp, r.worker);
        return { body: await view(cp, params.id) };
      },
    }),
    defineRoute({
      id: 'leases.list',
      method: 'GET',
      path: '/api/v1/leases',
      summary: 'List leases (sandbox, task and control-plane), filtered by holder, resource type, expiry',
      tags: ['workers', 'admin'],
      auth: { kind: 'user', scope: 'admin' },
      query: z.strictObject({
        holder: z.string().min(1).max(256).optional(),
        resource_type: z.string().min(1).max(64).optional(),
        expired: flag.optional(),
        ...pageQuery,
      }),
      responses: { 200: listOf(leaseViewSchema) },
      handler: async ({ cp, query }) => {
        const [page, now] = await Promise.all([
          cp.store.leases.listLeases({ holderId: query.holder, resourceType: query.resource_type, expired: query.expired }, { limit: query.limit, cursor: query.cursor }),
          cp.store.now(),
        ]);
        return { body: { items: page.items.map((l) => viewLease(l, now)), next_cursor: page.nextCursor } };
      },
    }),
  ];
}

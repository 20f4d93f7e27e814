/**
 * Quotas: an admin sets a tenant's limits; any key reads its own tenant's limits and usage. On the
 * wire cpu is in cores (what users think in; fractions allowed), in the store it is millicores; null
 * means unlimited. PUT merges: a field left out keeps its value, so raising one limit cannot silently
 * lift the others.
 */
import { z } from 'zod';
import { NotFound } from '../../domain/errors.js';
import { ownQuotaViewSchema, putQuotaSchema, quotaViewSchema, type PutQuotaRequest, type QuotaView } from '../../protocol/admin.js';
import type { Quota } from '../../store/types.js';
import { owningTenant } from '../auth/principal.js';
import type { ControlPlane } from '../deps.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { tenantQuery } from './admin-common.js';
import { tenantParams } from './admin-tenants.js';

export function viewQuota(tenantId: string, q: Quota): QuotaView {
  return {
    tenant_id: tenantId,
    max_sandboxes: q.maxSandboxes,
    max_cpu: q.maxCpuMilli === null ? null : q.maxCpuMilli / 1000,
    max_memory_mb: q.maxMemoryMb,
    max_ttl_ms: q.maxTtlMs,
    max_running_tasks: q.maxRunningTasks,
    max_exec_timeout_ms: q.maxExecTimeoutMs,
  };
}

/** The stored quota with the given fields replaced (pure). */
export function mergeQuota(current: Quota, patch: PutQuotaRequest): Quota {
  const pick = <T>(given: T | undefined, kept: T): T => (given === undefined ? kept : given);
  return {
    maxSandboxes: pick(patch.max_sandboxes, current.maxSandboxes),
    maxCpuMilli: patch.max_cpu === undefined ? current.maxCpuMilli : patch.max_cpu === null ? null : Math.round(patch.max_cpu * 1000),
    maxMemoryMb: pick(patch.max_memory_mb, current.maxMemoryMb),
    maxTtlMs: pick(patch.max_ttl_ms, current.maxTtlMs),
    maxRunningTasks: pick(patch.max_running_tasks, current.maxRunningTasks),
    maxExecTimeoutMs: pick(patch.max_exec_timeout_ms, current.maxExecTimeoutMs),
  };
}

async function requireTenant(cp: ControlPlane, id: string): Promise<void> {
  if (!(await cp.store.tenants.getTenant(id))) throw new NotFound(`tenant ${id}`);
}

export function quotaRoutes(): RouteDef[] {
  return [
    defineRoute({
      id: 'admin.quota.get',
      method: 'GET',
      path: '/api/v1/admin/tenants/:id/quota',
      summary: "A tenant's quota (null = unlimited; max_cpu in cores)",
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      params: tenantParams,
      responses: { 200: quotaViewSchema },
      handler: async ({ cp, params }) => {
        await requireTenant(cp, params.id);
        return { body: viewQuota(params.id, await cp.store.tenants.getQuota(params.id)) };
      },
    }),
    defineRoute({
      id: 'admin.quota.put',
      method: 'PUT',
      path: '/api/v1/admin/tenants/:id/quota',
      summary: "Set a tenant's quota; fields left out keep their value, null = unlimited",
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      params: tenantParams,
      body: putQuotaSchema,
      responses: { 200: quotaViewSchema },
      auditResource: { type: 'tenant', param: 'id' },
      handler: async ({ cp, params, body }) => {
        await requireTenant(cp, params.id);
        const saved = await cp.store.transaction(async (s) => s.tenants.putQuota(params.id, mergeQuota(await s.tenants.getQuota(params.id), body)));
        return { body: viewQuota(params.id, saved) };
      },
    }),
    defineRoute({
      id: 'quota.get',
      method: 'GET',
      path: '/api/v1/quota',
      summary: "The caller's own tenant's quota and usage (admins may pass ?tenant=)",
      tags: ['quota'],
      auth: { kind: 'user', scope: 'read' },
      query: z.strictObject(tenantQuery),
      responses: { 200: ownQuotaViewSchema },
      handler: async ({ cp, principal, query }) => {
        const tenant = owningTenant(principal, query.tenant);
        await requireTenant(cp, tenant);
        const [quota, usage, tasks] = [
          await cp.store.tenants.getQuota(tenant),
          await cp.store.sandboxes.sandboxUsage(tenant),
          await cp.store.tasks.countTasksByState({ kind: 'tenant', tenantId: tenant }),
        ];
        const { tenant_id: _t, ...limits } = viewQuota(tenant, quota);
        return {
          body: {
            tenant_id: tenant,
            quota: limits,
            usage: { sandboxes: usage.sandboxes, cpu: usage.cpuMilli / 1000, memory_mb: usage.memoryMb, running_tasks: tasks.leased ?? 0 },
          },
        };
      },
    }),
  ];
}

import { sql } from 'kysely';
import { taskMachine } from '../../domain/states/task.js';
import { sandboxMachine } from '../../domain/states/sandbox.js';
import { inTransaction, type QueryContext } from '../context.js';
import { decodeCursor, toPage } from '../pagination.js';
import type { QuotasTable, TenantsTable } from '../schema.js';
import type { Page, PageRequest, Quota, TenantRecord } from '../types.js';

const toTenant = (r: TenantsTable): TenantRecord => ({ id: r.id, name: r.name, createdAt: Number(r.created_at), updatedAt: Number(r.updated_at) });

/** Create the tenant if it does not exist (keys name their tenant; the tenant springs into being). */
export async function ensureTenant(ctx: QueryContext, id: string, name = id): Promise<TenantRecord> {
  const now = ctx.now();
  await ctx.db.insertInto('tenants').values({ id, name, created_at: now, updated_at: now }).onConflict((oc) => oc.column('id').doNothing()).execute();
  return toTenant(await ctx.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirstOrThrow());
}

export async function getTenant(ctx: QueryContext, id: string): Promise<TenantRecord | undefined> {
  const row = await ctx.db.selectFrom('tenants').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toTenant(row) : undefined;
}

export async function listTenants(ctx: QueryContext, page: PageRequest): Promise<Page<TenantRecord>> {
  const after = decodeCursor<string>(page.cursor, 'string');
  let q = ctx.db.selectFrom('tenants').selectAll();
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q.orderBy('id').limit(page.limit + 1).execute();
  return toPage(rows, page.limit, (r) => r.id, toTenant);
}

export async function renameTenant(ctx: QueryContext, id: string, name: string): Promise<TenantRecord | undefined> {
  const row = await ctx.db.updateTable('tenants').set({ name, updated_at: ctx.now() }).where('id', '=', id).returningAll().executeTakeFirst();
  return row ? toTenant(row) : undefined;
}

/** Deleting a tenant that still owns anything is refused by the foreign keys; the caller says so. */
export async function deleteTenant(ctx: QueryContext, id: string): Promise<boolean> {
  const r = await ctx.db.deleteFrom('tenants').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

const UNLIMITED: Quota = { maxSandboxes: null, maxCpuMilli: null, maxMemoryMb: null, maxTtlMs: null, maxRunningTasks: null, maxExecTimeoutMs: null };

const n = (v: number | null) => (v === null ? null : Number(v));
const toQuota = (r: QuotasTable): Quota => ({
  maxSandboxes: n(r.max_sandboxes),
  maxCpuMilli: n(r.max_cpu_milli),
  maxMemoryMb: n(r.max_memory_mb),
  maxTtlMs: n(r.max_ttl_ms),
  maxRunningTasks: n(r.max_running_tasks),
  maxExecTimeoutMs: n(r.max_exec_timeout_ms),
});

/** A tenant with no quota row is unlimited (null means no limit for that dimension). */
export async function getQuota(ctx: QueryContext, tenantId: string): Promise<Quota> {
  const row = await ctx.db.selectFrom('quotas').selectAll().where('tenant_id', '=', tenantId).executeTakeFirst();
  return row ? toQuota(row) : { ...UNLIMITED };
}

export async function putQuota(ctx: QueryContext, tenantId: string, q: Quota): Promise<Quota> {
  const values = {
    tenant_id: tenantId,
    max_sandboxes: q.maxSandboxes,
    max_cpu_milli: q.maxCpuMilli,
    max_memory_mb: q.maxMemoryMb,
    max_ttl_ms: q.maxTtlMs,
    max_running_tasks: q.maxRunningTasks,
    max_exec_timeout_ms: q.maxExecTimeoutMs,
    updated_at: ctx.now(),
  };
  const { tenant_id: _t, ...update } = values;
  const row = await ctx.db
    .insertInto('quotas')
    .values(values)
    .onConflict((oc) => oc.column('tenant_id').doUpdateSet({ ...update, updated_at: sql<number>`excluded.updated_at` }))
    .returningAll()
    .executeTakeFirstOrThrow();
  return toQuota(row);
}

/** Create a tenant; undefined when one with this id already exists (the caller answers 409). */
export async function createTenant(ctx: QueryContext, id: string, name: string): Promise<TenantRecord | undefined> {
  const now = ctx.now();
  const row = await ctx.db
    .insertInto('tenants')
    .values({ id, name, created_at: now, updated_at: now })
    .onConflict((oc) => oc.column('id').doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ? toTenant(row) : undefined;
}

/** What keeps a tenant alive: live sandboxes, unfinished tasks, templates and unrevoked keys. */
export interface TenantHoldings {
  sandboxes: number;
  tasks: number;
  templates: number;
  apiKeys: number;
}

export async function tenantHoldings(ctx: QueryContext, id: string): Promise<TenantHoldings> {
  // Sequential, not Promise.all: inside a transaction the queries share one connection anyway.
  const count = async (q: { executeTakeFirst(): Promise<{ n: number | string | bigint } | undefined> }) => Number((await q.executeTakeFirst())?.n ?? 0);
  const sandboxes = await count(
    ctx.db.selectFrom('sandboxes').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', id).where('state', 'not in', [...sandboxMachine.terminal]),
  );
  const tasks = await count(
    ctx.db.selectFrom('tasks').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', id).where('state', 'not in', [...taskMachine.terminal]),
  );
  const templates = await count(ctx.db.selectFrom('templates').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', id));
  const apiKeys = await count(ctx.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_id', '=', id).where('revoked_at', 'is', null));
  return { sandboxes, tasks, templates, apiKeys };
}

export type PurgeTenantResult = { kind: 'deleted' } | { kind: 'not_found' } | { kind: 'in_use'; holdings: TenantHoldings };

/**
 * Delete a tenant that holds nothing live. Its history (terminal sandboxes and tasks, revoked keys,
 * its quota) goes with it: otherwise the foreign keys would keep every tenant that ever ran anything
 * alive forever. Audit records and events have no foreign key and stay. On PostgreSQL the tenant row
 * is locked first, so a sandbox or key created for it concurrently either commits before the count
 * (and is counted) or waits and then fails its foreign-key check.
 */
export async function purgeTenant(ctx: QueryContext, id: string): Promise<PurgeTenantResult> {
  return inTransaction(ctx, async (tx) => {
    let lock = tx.db.selectFrom('tenants').select('id').where('id', '=', id);
    if (tx.driver.rowLocks) lock = lock.forUpdate();
    if (!(await lock.executeTakeFirst())) return { kind: 'not_found' };
    const holdings = await tenantHoldings(tx, id);
    if (Object.values(holdings).some((n) => n > 0)) return { kind: 'in_use', holdings };
    await tx.db.deleteFrom('sandboxes').where('tenant_id', '=', id).execute();
    await tx.db.deleteFrom('tasks').where('tenant_id', '=', id).execute();
    await tx.db.deleteFrom('api_keys').where('tenant_id', '=', id).execute();
    await tx.db.deleteFrom('tenants').where('id', '=', id).execute();
    return { kind: 'deleted' };
  });
}

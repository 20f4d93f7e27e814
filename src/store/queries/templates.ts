import { sql } from 'kysely';
import { fromJson, toJson, type QueryContext } from '../context.js';
import { decodeCursor, toPage } from '../pagination.js';
import type { TemplatesTable } from '../schema.js';
import { scoped, scopedDelete } from '../scope.js';
import type { Page, PageRequest, TemplateRecord, TenantScope } from '../types.js';

const toTemplate = (r: TemplatesTable): TemplateRecord => ({
  tenantId: r.tenant_id,
  name: r.name,
  spec: fromJson(r.spec),
  createdAt: Number(r.created_at),
  updatedAt: Number(r.updated_at),
});

/** Create or replace a tenant's template. */
export async function putTemplate(ctx: QueryContext, tenantId: string, name: string, spec: Record<string, unknown>): Promise<TemplateRecord> {
  const now = ctx.now();
  const row = await ctx.db
    .insertInto('templates')
    .values({ tenant_id: tenantId, name, spec: toJson(spec), created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(['tenant_id', 'name']).doUpdateSet({ spec: sql<string>`excluded.spec`, updated_at: sql<number>`excluded.updated_at` }))
    .returningAll()
    .executeTakeFirstOrThrow();
  return toTemplate(row);
}

export async function getTemplate(ctx: QueryContext, scope: TenantScope, name: string): Promise<TemplateRecord | undefined> {
  const row = await scoped(ctx.db.selectFrom('templates').selectAll().where('name', '=', name), scope).executeTakeFirst();
  return row ? toTemplate(row) : undefined;
}

export async function listTemplates(ctx: QueryContext, scope: TenantScope, page: PageRequest): Promise<Page<TemplateRecord>> {
  const after = decodeCursor<string>(page.cursor, 'string');
  let q = scoped(ctx.db.selectFrom('templates').selectAll(), scope);
  if (after !== undefined) q = q.where('name', '>', after);
  const rows = await q.orderBy('name').limit(page.limit + 1).execute();
  return toPage(rows, page.limit, (r) => r.name, toTemplate);
}

export async function deleteTemplate(ctx: QueryContext, scope: TenantScope, name: string): Promise<boolean> {
  const r = await scopedDelete(ctx.db.deleteFrom('templates').where('name', '=', name), scope).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

/** Create a template only if the name is free; undefined when the tenant already has one by that name. */
export async function insertTemplate(ctx: QueryContext, tenantId: string, name: string, spec: Record<string, unknown>): Promise<TemplateRecord | undefined> {
  const now = ctx.now();
  const row = await ctx.db
    .insertInto('templates')
    .values({ tenant_id: tenantId, name, spec: toJson(spec), created_at: now, updated_at: now })
    .onConflict((oc) => oc.columns(['tenant_id', 'name']).doNothing())
    .returningAll()
    .executeTakeFirst();
  return row ? toTemplate(row) : undefined;
}

import { fromJson, toJson, type QueryContext } from '../context.js';
import { decodeCursor, toPage } from '../pagination.js';
import type { AuditLogTable } from '../schema.js';
import { scoped } from '../scope.js';
import type { AuditEntry, AuditFilter, AuditRecord, Page, PageRequest, TenantScope } from '../types.js';

const toAudit = (r: AuditLogTable): AuditRecord => ({
  id: r.id,
  at: Number(r.at),
  actorType: r.actor_type as AuditRecord['actorType'],
  actorId: r.actor_id,
  tenantId: r.tenant_id,
  action: r.action,
  resourceType: r.resource_type,
  resourceId: r.resource_id,
  outcome: r.outcome as AuditRecord['outcome'],
  requestId: r.request_id,
  remoteAddr: r.remote_addr,
  details: fromJson(r.details),
});

export async function appendAudit(ctx: QueryContext, id: string, e: AuditEntry): Promise<AuditRecord> {
  const row = await ctx.db
    .insertInto('audit_log')
    .values({
      id,
      at: ctx.now(),
      actor_type: e.actorType,
      actor_id: e.actorId,
      tenant_id: e.tenantId,
      action: e.action,
      resource_type: e.resourceType,
      resource_id: e.resourceId,
      outcome: e.outcome,
      request_id: e.requestId,
      remote_addr: e.remoteAddr,
      details: e.details ? toJson(e.details) : null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toAudit(row);
}

/** Newest first. */
export async function listAudit(ctx: QueryContext, scope: TenantScope, filter: AuditFilter, page: PageRequest): Promise<Page<AuditRecord>> {
  const before = decodeCursor<string>(page.cursor, 'string');
  let q = scoped(ctx.db.selectFrom('audit_log').selectAll(), scope);
  if (filter.action !== undefined) q = q.where('action', '=', filter.action);
  if (filter.actorId !== undefined) q = q.where('actor_id', '=', filter.actorId);
  if (filter.resourceId !== undefined) q = q.where('resource_id', '=', filter.resourceId);
  if (before !== undefined) q = q.where('id', '<', before);
  const rows = await q.orderBy('id', 'desc').limit(page.limit + 1).execute();
  return toPage(rows, page.limit, (r) => r.id, toAudit);
}

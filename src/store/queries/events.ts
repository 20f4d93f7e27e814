import { fromJson, toJson, type QueryContext } from '../context.js';
import type { EventsTable } from '../schema.js';
import type { EventInput, EventRecord, TenantScope } from '../types.js';
import { sql, type Selectable } from 'kysely';

const toEvent = (r: Selectable<EventsTable>): EventRecord => ({
  seq: Number(r.seq),
  at: Number(r.at),
  type: r.type,
  tenantId: r.tenant_id,
  resourceType: r.resource_type,
  resourceId: r.resource_id,
  data: fromJson(r.data),
});

export async function appendEvent(ctx: QueryContext, e: EventInput): Promise<EventRecord> {
  const row = await ctx.db
    .insertInto('events')
    .values({ at: ctx.now(), type: e.type, tenant_id: e.tenantId, resource_type: e.resourceType, resource_id: e.resourceId, data: toJson(e.data) })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toEvent(row);
}

export interface EventQuery {
  afterSeq: number;
  limit: number;
  types?: string[] | undefined;
}

/**
 * Events after a sequence number, oldest first. A tenant sees its own events; tenant-less events
 * (worker.*) are visible only to the all-tenants scope.
 */
export async function listEvents(ctx: QueryContext, scope: TenantScope, query: EventQuery): Promise<EventRecord[]> {
  let q = ctx.db.selectFrom('events').selectAll().where('seq', '>', query.afterSeq);
  if (scope.kind === 'tenant') q = q.where('tenant_id', '=', scope.tenantId);
  if (query.types && query.types.length > 0) q = q.where('type', 'in', query.types);
  const rows = await q.orderBy('seq').limit(query.limit).execute();
  return rows.map(toEvent);
}

/** Retention: keep at most `maxCount` events and none older than `maxAgeMs`. Returns rows removed. */
export async function pruneEvents(ctx: QueryContext, maxCount: number, maxAgeMs: number): Promise<number> {
  let removed = 0;
  const cutoff = await ctx.db.selectFrom('events').select('seq').orderBy('seq', 'desc').offset(maxCount).limit(1).executeTakeFirst();
  if (cutoff) {
    const r = await ctx.db.deleteFrom('events').where('seq', '<=', Number(cutoff.seq)).executeTakeFirst();
    removed += Number(r.numDeletedRows);
  }
  const old = await ctx.db.deleteFrom('events').where('at', '<', sql<number>`${ctx.now()} - ${maxAgeMs}`).executeTakeFirst();
  removed += Number(old.numDeletedRows);
  return removed;
}

export async function latestEventSeq(ctx: QueryContext): Promise<number> {
  const row = await ctx.db.selectFrom('events').select((eb) => eb.fn.max('seq').as('seq')).executeTakeFirst();
  return Number(row?.seq ?? 0);
}

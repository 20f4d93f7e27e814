import { fromJson, toJson, type QueryContext } from '../context.js';
import type { EventsTable } from '../schema.js';
import type { EventInput, EventRecord, TenantScope } from '../types.js';
import { sql, type Selectable } from 'kysely';
import { sandboxMachine, type SandboxState } from '../../domain/states/sandbox.js';

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

export interface EventLogStats {
  count: number;
  oldestSeq: number | null;
  latestSeq: number | null;
  oldestAt: number | null;
}

/** Size and span of the event log: diagnostics shows how far back a client can still resume. */
export async function eventLogStats(ctx: QueryContext): Promise<EventLogStats> {
  const row = await ctx.db
    .selectFrom('events')
    .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.min('seq').as('lo'), eb.fn.max('seq').as('hi'), eb.fn.min('at').as('oldest')])
    .executeTakeFirst();
  const n = Number(row?.n ?? 0);
  const num = (v: unknown) => (n === 0 || v === null || v === undefined ? null : Number(v));
  return { count: n, oldestSeq: num(row?.lo), latestSeq: num(row?.hi), oldestAt: num(row?.oldest) };
}

/*
 * Observability counts: read-only GROUP BYs over the fleet tables, for /metrics gauges and
 * /api/v1/diagnostics. They sit with the event log because that is the query file the observability
 * work owns; each is one statement, so a scrape costs a handful of index/table scans, never a walk over
 * paginated lists. They may move to their aggregates' files without changing callers (store.events.*).
 */

export interface PlacementCount {
  state: SandboxState;
  provider: string | null;
  workerId: string | null;
  count: number;
}

/** Every sandbox, terminal ones included, by state. */
export async function countSandboxesByState(ctx: QueryContext): Promise<Record<string, number>> {
  const rows = await ctx.db.selectFrom('sandboxes').select(['state', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('state').execute();
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

/**
 * Non-terminal sandboxes by (state, provider, worker). Terminal ones are left out: they accumulate
 * forever and would make the result grow with history instead of with the fleet.
 */
export async function countLiveSandboxPlacements(ctx: QueryContext): Promise<PlacementCount[]> {
  const rows = await ctx.db
    .selectFrom('sandboxes')
    .select(['state', 'provider', 'worker_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('state', 'not in', [...sandboxMachine.terminal])
    .groupBy(['state', 'provider', 'worker_id'])
    .execute();
  return rows.map((r) => ({ state: r.state as SandboxState, provider: r.provider, workerId: r.worker_id, count: Number(r.n) }));
}

/** Tasks by kind and state (all tenants). Bounded by kinds × states, not by the number of tasks. */
export async function countTasksByKind(ctx: QueryContext): Promise<{ kind: string; state: string; count: number }[]> {
  const rows = await ctx.db
    .selectFrom('tasks')
    .select(['kind', 'state', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy(['kind', 'state'])
    .orderBy('kind')
    .execute();
  return rows.map((r) => ({ kind: r.kind, state: r.state, count: Number(r.n) }));
}

export interface LeaseCounts {
  /** Unexpired leases by resource type. */
  activeByType: Record<string, number>;
  /** Expired (or released: a release expires the row) leases by resource type. */
  expiredByType: Record<string, number>;
  /** The holders with the most live leases, most first. */
  topHolders: { holderId: string; active: number }[];
}

/** Live and expired leases judged by the store clock, as every lease decision is. */
export async function leaseCounts(ctx: QueryContext, topHolders: number): Promise<LeaseCounts> {
  const byType = (live: boolean) =>
    ctx.db
      .selectFrom('leases')
      .select(['resource_type', (eb) => eb.fn.countAll<number>().as('n')])
      .where('expires_at', live ? '>' : '<=', ctx.now())
      .groupBy('resource_type')
      .execute()
      .then((rows) => Object.fromEntries(rows.map((r) => [r.resource_type, Number(r.n)])));
  // topHolders = 0 (the metrics scrape) skips the holder scan altogether.
  const holders = topHolders <= 0 ? [] : await ctx.db
    .selectFrom('leases')
    .select(['holder_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('expires_at', '>', ctx.now())
    .groupBy('holder_id')
    .orderBy('n', 'desc')
    .orderBy('holder_id')
    .limit(topHolders)
    .execute();
  return {
    activeByType: await byType(true),
    expiredByType: await byType(false),
    topHolders: holders.map((h) => ({ holderId: h.holder_id, active: Number(h.n) })),
  };
}

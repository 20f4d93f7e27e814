/**
 * Leases (01-architecture.md, "Leases and fencing"). Every check-and-write is one statement whose
 * WHERE clause carries the whole condition, judged by the store clock, so two replicas (or a replica
 * and a slow worker) can never both believe they won.
 */
import { sql } from 'kysely';
import { LeaseConflict, LeaseLost, NotFound } from '../../domain/errors.js';
import type { QueryContext } from '../context.js';
import { decodeCursor, toPage } from '../pagination.js';
import type { LeasesTable } from '../schema.js';
import type { Lease, Page, PageRequest, ResourceRef } from '../types.js';

export function toLease(row: LeasesTable): Lease {
  return {
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    holderId: row.holder_id,
    generation: Number(row.generation),
    expiresAt: Number(row.expires_at),
    acquiredAt: Number(row.acquired_at),
    renewedAt: Number(row.renewed_at),
  };
}

const label = (ref: ResourceRef) => `${ref.type}/${ref.id}`;

/**
 * Acquire: succeeds when there is no lease, it has expired, or the caller already holds it.
 * First acquire → generation 1; a new holder or a takeover after expiry → previous + 1; the current
 * holder re-acquiring an unexpired lease keeps its generation (and has its expiry extended).
 */
export async function acquireLease(ctx: QueryContext, ref: ResourceRef, holderId: string, ttlMs: number): Promise<Lease> {
  const now = ctx.now();
  const row = await ctx.db
    .insertInto('leases')
    .values({
      resource_type: ref.type,
      resource_id: ref.id,
      holder_id: holderId,
      generation: 1,
      expires_at: sql<number>`${now} + ${ttlMs}`,
      acquired_at: now,
      renewed_at: now,
    })
    .onConflict((oc) =>
      oc
        .columns(['resource_type', 'resource_id'])
        .doUpdateSet({
          generation: sql<number>`CASE WHEN leases.holder_id = excluded.holder_id AND leases.expires_at > ${now}
            THEN leases.generation ELSE leases.generation + 1 END`,
          acquired_at: sql<number>`CASE WHEN leases.holder_id = excluded.holder_id AND leases.expires_at > ${now}
            THEN leases.acquired_at ELSE excluded.acquired_at END`,
          holder_id: sql<string>`excluded.holder_id`,
          expires_at: sql<number>`excluded.expires_at`,
          renewed_at: sql<number>`excluded.renewed_at`,
        })
        .where((eb) => eb.or([eb('leases.expires_at', '<=', now), eb('leases.holder_id', '=', sql<string>`excluded.holder_id`)])),
    )
    .returningAll()
    .executeTakeFirst();
  if (!row) {
    const current = await getLease(ctx, ref);
    throw new LeaseConflict(label(ref), current ? { holder_id: current.holderId, expires_at: current.expiresAt } : undefined);
  }
  return toLease(row);
}

/** Renew: only the current holder, at the current generation, before expiry. Generation unchanged. */
export async function renewLease(ctx: QueryContext, ref: ResourceRef, holderId: string, generation: number, ttlMs: number): Promise<Lease> {
  const now = ctx.now();
  const row = await ctx.db
    .updateTable('leases')
    .set({ expires_at: sql<number>`${now} + ${ttlMs}`, renewed_at: now })
    .where('resource_type', '=', ref.type)
    .where('resource_id', '=', ref.id)
    .where('holder_id', '=', holderId)
    .where('generation', '=', generation)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new LeaseLost(label(ref));
  return toLease(row);
}

/**
 * Release: only the current holder at its generation. The row is kept, expired, rather than deleted:
 * the next acquire must continue the generation sequence, or a stale holder of generation 1 could
 * write again after a fresh generation 1 was handed out.
 */
export async function releaseLease(ctx: QueryContext, ref: ResourceRef, holderId: string, generation: number): Promise<void> {
  const existing = await getLease(ctx, ref);
  if (!existing) throw new NotFound(`lease ${label(ref)}`);
  const now = ctx.now();
  const result = await ctx.db
    .updateTable('leases')
    .set({ expires_at: now, renewed_at: now })
    .where('resource_type', '=', ref.type)
    .where('resource_id', '=', ref.id)
    .where('holder_id', '=', holderId)
    .where('generation', '=', generation)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new LeaseLost(label(ref));
}

/**
 * The fencing check for a write made on behalf of a lease: in the caller's transaction, lock the lease
 * row if it is still held at `generation` and unexpired. The caller's writes that follow in the same
 * transaction are then applied only if this returned a lease; otherwise it throws LeaseLost.
 */
export async function checkFence(ctx: QueryContext, ref: ResourceRef, holderId: string, generation: number): Promise<Lease> {
  const now = ctx.now();
  // A no-op UPDATE rather than SELECT … FOR UPDATE: it locks the row on PostgreSQL and is the same
  // statement on SQLite (which has no row locks and needs none).
  const row = await ctx.db
    .updateTable('leases')
    .set({ renewed_at: sql<number>`renewed_at` })
    .where('resource_type', '=', ref.type)
    .where('resource_id', '=', ref.id)
    .where('holder_id', '=', holderId)
    .where('generation', '=', generation)
    .where('expires_at', '>', now)
    .returningAll()
    .executeTakeFirst();
  if (!row) throw new LeaseLost(label(ref));
  return toLease(row);
}

export async function getLease(ctx: QueryContext, ref: ResourceRef): Promise<Lease | undefined> {
  const row = await ctx.db
    .selectFrom('leases')
    .selectAll()
    .where('resource_type', '=', ref.type)
    .where('resource_id', '=', ref.id)
    .executeTakeFirst();
  return row ? toLease(row) : undefined;
}

export interface LeaseFilter {
  holderId?: string | undefined;
  resourceType?: string | undefined;
  /** true: only expired; false: only live; absent: both. */
  expired?: boolean | undefined;
}

export async function listLeases(ctx: QueryContext, filter: LeaseFilter, page: PageRequest): Promise<Page<Lease>> {
  const after = decodeCursor<string>(page.cursor, 'string');
  let q = ctx.db.selectFrom('leases').selectAll();
  if (filter.holderId !== undefined) q = q.where('holder_id', '=', filter.holderId);
  if (filter.resourceType !== undefined) q = q.where('resource_type', '=', filter.resourceType);
  if (filter.expired === true) q = q.where('expires_at', '<=', ctx.now());
  if (filter.expired === false) q = q.where('expires_at', '>', ctx.now());
  // The key is type + NUL + id: a stable total order over the composite primary key.
  if (after !== undefined) {
    const [type, id] = after.split('\u0000') as [string, string];
    q = q.where((eb) => eb.or([eb('resource_type', '>', type), eb.and([eb('resource_type', '=', type), eb('resource_id', '>', id)])]));
  }
  const rows = await q.orderBy('resource_type').orderBy('resource_id').limit(page.limit + 1).execute();
  return toPage(rows, page.limit, (r) => `${r.resource_type}\u0000${r.resource_id}`, toLease);
}

/** Expire every live lease a holder has (a worker declared lost, or force-deleted). Returns them. */
export async function expireLeasesHeldBy(ctx: QueryContext, holderId: string, resourceType?: string): Promise<Lease[]> {
  const now = ctx.now();
  let q = ctx.db.updateTable('leases').set({ expires_at: now }).where('holder_id', '=', holderId).where('expires_at', '>', now);
  if (resourceType !== undefined) q = q.where('resource_type', '=', resourceType);
  const rows = await q.returningAll().execute();
  return rows.map(toLease);
}

export async function countLiveLeases(ctx: QueryContext, holderId: string): Promise<number> {
  const row = await ctx.db
    .selectFrom('leases')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('holder_id', '=', holderId)
    .where('expires_at', '>', ctx.now())
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/** Live leases per holder, for the liveness sweep (drain completion) in one query. */
export async function countLiveLeasesByHolder(ctx: QueryContext): Promise<Record<string, number>> {
  const rows = await ctx.db
    .selectFrom('leases')
    .select(['holder_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('expires_at', '>', ctx.now())
    .groupBy('holder_id')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.holder_id, Number(r.n)]));
}

/** Every live lease a holder has (optionally of one resource type): a worker's heartbeat inventory check. */
export async function liveLeasesHeldBy(ctx: QueryContext, holderId: string, resourceType?: string): Promise<Lease[]> {
  let q = ctx.db.selectFrom('leases').selectAll().where('holder_id', '=', holderId).where('expires_at', '>', ctx.now());
  if (resourceType !== undefined) q = q.where('resource_type', '=', resourceType);
  const rows = await q.orderBy('resource_type').orderBy('resource_id').execute();
  return rows.map(toLease);
}

/**
 * Idempotency keys for creates. The first request claims (tenant, scope, key) with a hash of its body;
 * a replay with the same hash gets the stored response, the same key with another body is a conflict.
 */
import { fromJson, toJson, type QueryContext } from '../context.js';
import type { IdempotencyRecord } from '../types.js';
import { sql } from 'kysely';

export type IdempotencyClaim =
  | { kind: 'claimed' }
  | { kind: 'replay'; record: IdempotencyRecord }
  | { kind: 'mismatch' };

export async function claimIdempotencyKey(
  ctx: QueryContext,
  k: { tenantId: string; scope: string; key: string; requestHash: string; ttlMs: number },
): Promise<IdempotencyClaim> {
  const now = ctx.now();
  // An expired claim is taken over, as if it never existed.
  const inserted = await ctx.db
    .insertInto('idempotency_keys')
    .values({ tenant_id: k.tenantId, scope: k.scope, key: k.key, request_hash: k.requestHash, created_at: now, expires_at: sql<number>`${now} + ${k.ttlMs}` })
    .onConflict((oc) =>
      oc
        .columns(['tenant_id', 'scope', 'key'])
        .doUpdateSet({
          request_hash: sql<string>`excluded.request_hash`,
          resource_id: null,
          response: null,
          created_at: sql<number>`excluded.created_at`,
          expires_at: sql<number>`excluded.expires_at`,
        })
        .where('idempotency_keys.expires_at', '<=', now),
    )
    .returning('key')
    .executeTakeFirst();
  if (inserted) return { kind: 'claimed' };
  const row = await ctx.db
    .selectFrom('idempotency_keys')
    .selectAll()
    .where('tenant_id', '=', k.tenantId)
    .where('scope', '=', k.scope)
    .where('key', '=', k.key)
    .executeTakeFirstOrThrow();
  if (row.request_hash !== k.requestHash) return { kind: 'mismatch' };
  return {
    kind: 'replay',
    record: { requestHash: row.request_hash, resourceId: row.resource_id, response: fromJson(row.response), createdAt: Number(row.created_at), expiresAt: Number(row.expires_at) },
  };
}

/** Record the response of the request that claimed the key, for replays to return. */
export async function completeIdempotencyKey(ctx: QueryContext, k: { tenantId: string; scope: string; key: string }, resourceId: string | null, response: unknown): Promise<void> {
  await ctx.db
    .updateTable('idempotency_keys')
    .set({ resource_id: resourceId, response: toJson(response) })
    .where('tenant_id', '=', k.tenantId)
    .where('scope', '=', k.scope)
    .where('key', '=', k.key)
    .execute();
}

/** Forget a claim whose request failed, so the client may retry with the same key. */
export async function abandonIdempotencyKey(ctx: QueryContext, k: { tenantId: string; scope: string; key: string }): Promise<void> {
  await ctx.db.deleteFrom('idempotency_keys').where('tenant_id', '=', k.tenantId).where('scope', '=', k.scope).where('key', '=', k.key).where('response', 'is', null).execute();
}

export async function pruneIdempotencyKeys(ctx: QueryContext): Promise<number> {
  const r = await ctx.db.deleteFrom('idempotency_keys').where('expires_at', '<=', ctx.now()).executeTakeFirst();
  return Number(r.numDeletedRows);
}

/**
 * Take over a claim whose request never finished (its process died before completing or abandoning
 * it): delete it if it is still unanswered and was made at or before `claimedBefore` (store clock ms).
 * True when a claim was removed and the caller may claim the key afresh.
 */
export async function releaseStaleIdempotencyClaim(ctx: QueryContext, k: { tenantId: string; scope: string; key: string }, claimedBefore: number): Promise<boolean> {
  const r = await ctx.db
    .deleteFrom('idempotency_keys')
    .where('tenant_id', '=', k.tenantId)
    .where('scope', '=', k.scope)
    .where('key', '=', k.key)
    .where('response', 'is', null)
    .where('created_at', '<=', claimedBefore)
    .executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

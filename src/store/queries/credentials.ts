/**
 * API keys and API-issued worker tokens. Only hashes are stored; lookups are by hash (an indexed
 * equality on a digest, so no secret is ever compared byte by byte in application code).
 */
import { toJson, fromJson, type QueryContext } from '../context.js';
import { decodeCursor, toPage } from '../pagination.js';
import type { ApiKeysTable, WorkerTokensTable } from '../schema.js';
import { scoped } from '../scope.js';
import type { ApiKeyRecord, Page, PageRequest, Role, TenantScope, WorkerScope, WorkerTokenRecord } from '../types.js';

const n = (v: number | null) => (v === null ? null : Number(v));

const toKey = (r: ApiKeysTable): ApiKeyRecord => ({
  id: r.id,
  tenantId: r.tenant_id,
  name: r.name,
  role: r.role as Role,
  createdAt: Number(r.created_at),
  lastUsedAt: n(r.last_used_at),
  revokedAt: n(r.revoked_at),
});

export async function createApiKey(ctx: QueryContext, k: { id: string; tenantId: string; name: string | null; role: Role; keyHash: string }): Promise<ApiKeyRecord> {
  const row = await ctx.db
    .insertInto('api_keys')
    .values({ id: k.id, tenant_id: k.tenantId, name: k.name, role: k.role, key_hash: k.keyHash, created_at: ctx.now() })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toKey(row);
}

/** The live (unrevoked) key with this hash. */
export async function findApiKeyByHash(ctx: QueryContext, keyHash: string): Promise<ApiKeyRecord | undefined> {
  const row = await ctx.db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).where('revoked_at', 'is', null).executeTakeFirst();
  return row ? toKey(row) : undefined;
}

export async function listApiKeys(ctx: QueryContext, scope: TenantScope, page: PageRequest): Promise<Page<ApiKeyRecord>> {
  const after = decodeCursor<string>(page.cursor, 'string');
  let q = scoped(ctx.db.selectFrom('api_keys').selectAll(), scope);
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q.orderBy('id').limit(page.limit + 1).execute();
  return toPage(rows, page.limit, (r) => r.id, toKey);
}

export async function revokeApiKey(ctx: QueryContext, id: string): Promise<ApiKeyRecord | undefined> {
  const now = ctx.now();
  await ctx.db.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  const row = await ctx.db.selectFrom('api_keys').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toKey(row) : undefined;
}

export async function touchApiKey(ctx: QueryContext, id: string): Promise<void> {
  await ctx.db.updateTable('api_keys').set({ last_used_at: ctx.now() }).where('id', '=', id).execute();
}

const toToken = (r: WorkerTokensTable): WorkerTokenRecord => ({
  id: r.id,
  workerId: r.worker_id,
  name: r.name,
  scopes: fromJson<WorkerScope[]>(r.scopes),
  createdAt: Number(r.created_at),
  expiresAt: n(r.expires_at),
  revokedAt: n(r.revoked_at),
});

export async function createWorkerToken(
  ctx: QueryContext,
  t: { id: string; workerId: string | null; name: string | null; scopes: WorkerScope[]; tokenHash: string; expiresAt: number | null },
): Promise<WorkerTokenRecord> {
  const row = await ctx.db
    .insertInto('worker_tokens')
    .values({ id: t.id, worker_id: t.workerId, name: t.name, token_hash: t.tokenHash, scopes: toJson(t.scopes), created_at: ctx.now(), expires_at: t.expiresAt })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toToken(row);
}

/** A token that is unrevoked and unexpired by the store clock. */
export async function findWorkerTokenByHash(ctx: QueryContext, tokenHash: string): Promise<WorkerTokenRecord | undefined> {
  const row = await ctx.db
    .selectFrom('worker_tokens')
    .selectAll()
    .where('token_hash', '=', tokenHash)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', ctx.now())]))
    .executeTakeFirst();
  return row ? toToken(row) : undefined;
}

export async function listWorkerTokens(ctx: QueryContext, page: PageRequest): Promise<Page<WorkerTokenRecord>> {
  const after = decodeCursor<string>(page.cursor, 'string');
  let q = ctx.db.selectFrom('worker_tokens').selectAll();
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q.orderBy('id').limit(page.limit + 1).execute();
  return toPage(rows, page.limit, (r) => r.id, toToken);
}

export async function revokeWorkerToken(ctx: QueryContext, id: string): Promise<WorkerTokenRecord | undefined> {
  await ctx.db.updateTable('worker_tokens').set({ revoked_at: ctx.now() }).where('id', '=', id).where('revoked_at', 'is', null).execute();
  const row = await ctx.db.selectFrom('worker_tokens').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toToken(row) : undefined;
}

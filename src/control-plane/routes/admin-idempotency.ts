/**
 * `Idempotency-Key` for the admin creates that mint a secret (API keys, worker tokens), on top of the
 * shared `withIdempotency`.
 *
 * These differ from every other create in one way: the response carries a secret, and the store must
 * never hold a usable secret. So what is stored for replays is the record *without* the secret, and a
 * replay returns that record (same id, 201, `Idempotent-Replayed: true`) without `key`/`token`. A
 * client that lost the first response learns which credential was minted and can revoke it; it cannot
 * recover the secret, by design.
 */
import { actorOf, type Principal } from '../auth/principal.js';
import type { ControlPlane } from '../deps.js';
import type { HandlerResult } from '../http/route.js';
import { withIdempotency } from '../services/idempotency.js';

export interface Minted {
  resourceId: string;
  /** The response without its secret: what is stored and what a replay returns. */
  record: Record<string, unknown>;
  /** The secret's field, added to the first response only. */
  secret: { field: 'key' | 'token'; value: string };
}

export async function mintOnce(
  cp: ControlPlane,
  principal: Principal,
  headers: Record<string, string | string[] | undefined>,
  scope: string,
  body: unknown,
  mint: () => Promise<Minted>,
): Promise<HandlerResult> {
  const raw = headers['idempotency-key'];
  let secret: Minted['secret'] | undefined;
  const result = await withIdempotency(
    cp,
    // Keys are per acting tenant: two tenants' admins never collide on the same client-chosen key.
    { tenantId: actorOf(principal).tenantId ?? '', scope, key: Array.isArray(raw) ? raw[0] : raw, body },
    async () => {
      const minted = await mint();
      secret = minted.secret;
      return { status: 201, body: minted.record, resourceId: minted.resourceId };
    },
  );
  // The audit record names what was created: a key or token id, never its secret.
  const id = (result.body as { id?: unknown } | undefined)?.id;
  const auditResource = typeof id === 'string' ? { type: scope === 'admin.keys.create' ? 'api_key' : 'worker_token', id } : undefined;
  if (result.replayed || secret === undefined) return { status: result.status, body: result.body, headers: { 'idempotent-replayed': 'true' }, auditResource };
  return { status: 201, body: { ...(result.body as Record<string, unknown>), [secret.field]: secret.value }, auditResource };
}

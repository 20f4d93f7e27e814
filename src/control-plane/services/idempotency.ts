/**
 * `Idempotency-Key` for creates (02-api.md): the first request with a key claims it with a hash of its
 * body; a replay with the same body gets the stored response (same status, same body), another body is
 * 409. A request that fails gives its key back so the client can retry with it. Reusable by any create
 * route (sandboxes, tasks, keys): the route reads the header and passes what identifies the request.
 */
import { createHash } from 'node:crypto';
import { BadRequest, Conflict } from '../../domain/errors.js';
import type { ControlPlane } from '../deps.js';

/** How long a key is remembered. */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;
/**
 * An unanswered claim older than this belongs to a request that died with its process (the longest
 * create holds for queue timeout + spawn timeout, well under this), so a retry may take it over.
 */
export const STALE_CLAIM_MS = 10 * 60 * 1000;

const KEY = /^[\x21-\x7e]{1,255}$/;

export interface IdempotentResponse {
  status: number;
  body: unknown;
  /** The resource the request created, kept beside the response for operators. */
  resourceId?: string | null;
}

export interface IdempotencyRequest {
  tenantId: string;
  /** What kind of request the key is for, e.g. 'sandboxes.create'. */
  scope: string;
  /** The header's value; undefined runs `fn` without idempotency. */
  key: string | undefined;
  /** Everything that makes two requests "the same": the body plus any path/query parts that matter. */
  body: unknown;
}

export async function withIdempotency(
  cp: ControlPlane,
  r: IdempotencyRequest,
  fn: () => Promise<IdempotentResponse>,
): Promise<IdempotentResponse & { replayed: boolean }> {
  if (r.key === undefined) return { ...(await fn()), replayed: false };
  if (!KEY.test(r.key)) throw new BadRequest('Idempotency-Key must be 1-255 visible ASCII characters', { fields: { 'headers.idempotency-key': 'invalid' } });
  const k = { tenantId: r.tenantId, scope: r.scope, key: r.key };
  const requestHash = hashRequest(r.body);
  let claim = await cp.store.idempotency.claimIdempotencyKey({ ...k, requestHash, ttlMs: IDEMPOTENCY_TTL_MS });
  if (claim.kind === 'replay' && claim.record.response === null && claim.record.createdAt <= (await cp.store.now()) - STALE_CLAIM_MS) {
    if (await cp.store.idempotency.releaseStaleIdempotencyClaim(k, claim.record.createdAt)) {
      claim = await cp.store.idempotency.claimIdempotencyKey({ ...k, requestHash, ttlMs: IDEMPOTENCY_TTL_MS });
    }
  }
  if (claim.kind === 'mismatch') throw new Conflict('this Idempotency-Key was used with a different request', { idempotency_key: r.key });
  if (claim.kind === 'replay') {
    const stored = claim.record.response as { status?: number; body?: unknown } | null;
    if (stored === null || typeof stored.status !== 'number') {
      throw new Conflict('a request with this Idempotency-Key is still in progress; retry shortly', { idempotency_key: r.key, in_progress: true });
    }
    return { status: stored.status, body: stored.body, resourceId: claim.record.resourceId, replayed: true };
  }
  let response: IdempotentResponse;
  try {
    response = await fn();
  } catch (err) {
    await cp.store.idempotency.abandonIdempotencyKey(k).catch((e: unknown) => cp.log.warn({ err: String(e), scope: r.scope }, 'could not release an idempotency key'));
    throw err;
  }
  await cp.store.idempotency.completeIdempotencyKey(k, response.resourceId ?? null, { status: response.status, body: response.body });
  return { ...response, replayed: false };
}

/** SHA-256 of the request's canonical JSON (object keys sorted), so key order does not matter. */
export function hashRequest(body: unknown): string {
  return createHash('sha256').update(canonical(body)).digest('hex');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>)
      .filter(([, x]) => x !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

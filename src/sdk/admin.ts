/**
 * Administration (02-api.md, "Administration"): keys, worker tokens, tenants, quotas, the audit log.
 * Everything here needs an admin key except `quota()`, which any key may call for its own tenant.
 */
import type { Transport } from './http.js';
import { lister, seg, type Lister, type NoFilter } from './list.js';
import type {
  AuditView,
  CallOptions,
  CreatedKey,
  CreatedWorkerToken,
  CreateKeyRequest,
  CreateTenantRequest,
  CreateWorkerTokenRequest,
  KeyView,
  OwnQuotaView,
  PageQuery,
  PutQuotaRequest,
  QuotaView,
  TenantCallOptions,
  TenantView,
  UpdateTenantRequest,
  WorkerTokenView,
} from './types.js';

/** Creates that mint a secret: a replay with the same idempotency key answers without the secret. */
type MintOptions = CallOptions & { idempotencyKey?: string };

export interface KeysApi extends Lister<KeyView, { tenant?: string }> {
  /** The reply's `key` is the secret, shown only in this reply. The tenant is created if missing. */
  create(body: CreateKeyRequest, options?: MintOptions): Promise<CreatedKey>;
  /** Revoke (idempotent); the key stops working at once. */
  revoke(id: string, options?: CallOptions): Promise<KeyView>;
}

export interface WorkerTokensApi extends Lister<WorkerTokenView, NoFilter> {
  /** The reply's `token` is the secret, shown only in this reply. */
  create(body?: CreateWorkerTokenRequest, options?: MintOptions): Promise<CreatedWorkerToken>;
  revoke(id: string, options?: CallOptions): Promise<WorkerTokenView>;
}

export interface TenantsApi extends Lister<TenantView, NoFilter> {
  create(body: CreateTenantRequest, options?: CallOptions): Promise<TenantView>;
  get(id: string, options?: CallOptions): Promise<TenantView>;
  /** Rename (the id never changes). */
  update(id: string, body: UpdateTenantRequest, options?: CallOptions): Promise<TenantView>;
  /** 409 while the tenant still owns live resources or unrevoked keys. */
  delete(id: string, options?: CallOptions): Promise<TenantView>;
  getQuota(id: string, options?: CallOptions): Promise<QuotaView>;
  /** Merge: fields left out keep their value; null means unlimited. */
  putQuota(id: string, body: PutQuotaRequest, options?: CallOptions): Promise<QuotaView>;
}

export interface AuditFilter {
  action?: string;
  actor_id?: string;
  resource_id?: string;
  tenant?: string;
}

export interface AuditApi extends Lister<AuditView, AuditFilter> {
  /** One page as RFC 4180 CSV (with a header row); `next_cursor` comes from the X-Next-Cursor header. */
  csv(query?: AuditFilter & PageQuery, options?: CallOptions): Promise<{ csv: string; next_cursor: string | null }>;
}

export function keysApi(t: Transport): KeysApi {
  return {
    ...lister<KeyView, { tenant?: string }>(t, '/api/v1/admin/keys'),
    create: (body, o = {}) => t.request('POST', '/api/v1/admin/keys', { body, signal: o.signal, idempotencyKey: o.idempotencyKey }),
    revoke: (id, o = {}) => t.request('DELETE', `/api/v1/admin/keys/${seg(id)}`, { signal: o.signal }),
  };
}

export function workerTokensApi(t: Transport): WorkerTokensApi {
  return {
    ...lister<WorkerTokenView, NoFilter>(t, '/api/v1/admin/worker-tokens'),
    create: (body = {}, o = {}) => t.request('POST', '/api/v1/admin/worker-tokens', { body, signal: o.signal, idempotencyKey: o.idempotencyKey }),
    revoke: (id, o = {}) => t.request('DELETE', `/api/v1/admin/worker-tokens/${seg(id)}`, { signal: o.signal }),
  };
}

export function tenantsApi(t: Transport): TenantsApi {
  const path = (id: string) => `/api/v1/admin/tenants/${seg(id)}`;
  return {
    ...lister<TenantView, NoFilter>(t, '/api/v1/admin/tenants'),
    create: (body, o = {}) => t.request('POST', '/api/v1/admin/tenants', { body, signal: o.signal }),
    get: (id, o = {}) => t.request('GET', path(id), { signal: o.signal }),
    update: (id, body, o = {}) => t.request('PUT', path(id), { body, signal: o.signal }),
    delete: (id, o = {}) => t.request('DELETE', path(id), { signal: o.signal }),
    getQuota: (id, o = {}) => t.request('GET', `${path(id)}/quota`, { signal: o.signal }),
    putQuota: (id, body, o = {}) => t.request('PUT', `${path(id)}/quota`, { body, signal: o.signal }),
  };
}

/** `GET /api/v1/quota`: the caller's own tenant's limits and usage (admins may name a tenant). */
export function quotaCall(t: Transport): (options?: TenantCallOptions) => Promise<OwnQuotaView> {
  return (o = {}) => t.request('GET', '/api/v1/quota', { signal: o.signal, query: { tenant: o.tenant } });
}

export function auditApi(t: Transport): AuditApi {
  return {
    ...lister<AuditView, AuditFilter>(t, '/api/v1/admin/audit'),
    async csv(query = {}, o = {}) {
      const res = await t.raw('GET', '/api/v1/admin/audit', { query: { ...query, format: 'csv' }, headers: { accept: 'text/csv' }, signal: o.signal });
      return { csv: await res.text(), next_cursor: res.headers.get('x-next-cursor') };
    },
  };
}

/**
 * Administration on the wire (02-api.md, "Administration"): API keys, worker tokens, tenants, quotas
 * and the audit log. The control plane's admin routes validate with these schemas and generate OpenAPI
 * from them; the SDK takes its types from them. Secrets (`key`, `token`) appear only in the create
 * replies, and only in the first one (a replayed create answers without them).
 */
import { z } from 'zod';
import { WORKER_ID_PATTERN } from '../domain/ids.js';

// --- tenants ---------------------------------------------------------------------------------------

/** Tenant ids are chosen by the admin, like worker ids: short, lower case, safe in URLs and logs. */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
export const tenantId = z.string().regex(TENANT_ID_PATTERN, 'a tenant id is 1-63 of [a-z0-9._-], starting with a letter or digit');
const tenantName = z.string().min(1).max(200);

export const tenantViewSchema = z.object({ id: z.string(), name: z.string(), created_at: z.string(), updated_at: z.string() });
export type TenantView = z.infer<typeof tenantViewSchema>;
export const createTenantSchema = z.strictObject({ id: tenantId, name: tenantName.optional() });
export type CreateTenantRequest = z.infer<typeof createTenantSchema>;
/** A rename: the id never changes (keys and resources refer to it). */
export const updateTenantSchema = z.strictObject({ name: tenantName });
export type UpdateTenantRequest = z.infer<typeof updateTenantSchema>;

// --- API keys --------------------------------------------------------------------------------------

export const ROLES = ['viewer', 'api', 'operator', 'admin'] as const;
export type RoleName = (typeof ROLES)[number];

export const keyViewSchema = z.object({
  id: z.string(),
  name: z.string().nullable(),
  role: z.enum(ROLES),
  tenant_id: z.string(),
  created_at: z.string(),
  last_used_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});
export type KeyView = z.infer<typeof keyViewSchema>;

export const createKeySchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  role: z.enum(ROLES),
  tenant_id: tenantId,
});
export type CreateKeyRequest = z.infer<typeof createKeySchema>;

export const createdKeySchema = z.object({
  id: z.string(),
  key: z.string().optional().describe('the secret; present only in the first response, never stored or shown again'),
  name: z.string().nullable(),
  role: z.enum(ROLES),
  tenant_id: z.string(),
  created_at: z.string(),
});
export type CreatedKey = z.infer<typeof createdKeySchema>;

// --- worker tokens ---------------------------------------------------------------------------------

export const WORKER_TOKEN_SCOPES = ['worker:heartbeat', 'worker:lease', 'worker:tasks', 'worker:artifacts'] as const;
/** Ten years: long enough for "does not expire" to be spelled null instead, short enough to stay an int64 of ms. */
const MAX_TOKEN_TTL_MS = 10 * 365 * 24 * 60 * 60 * 1000;

export const workerTokenViewSchema = z.object({
  id: z.string(),
  worker_id: z.string().nullable(),
  name: z.string().nullable(),
  scopes: z.array(z.enum(WORKER_TOKEN_SCOPES)),
  created_at: z.string(),
  expires_at: z.string().nullable(),
  revoked_at: z.string().nullable(),
});
export type WorkerTokenView = z.infer<typeof workerTokenViewSchema>;

export const createWorkerTokenSchema = z.strictObject({
  worker_id: z.string().regex(WORKER_ID_PATTERN, 'a worker id is 1-63 of [a-z0-9._-], starting with a letter or digit').optional(),
  name: z.string().min(1).max(200).optional(),
  scopes: z
    .array(z.enum(WORKER_TOKEN_SCOPES))
    .min(1)
    .refine((s) => new Set(s).size === s.length, 'scopes must not repeat')
    .optional(),
  ttl_ms: z.number().int().min(1000).max(MAX_TOKEN_TTL_MS).optional(),
});
export type CreateWorkerTokenRequest = z.infer<typeof createWorkerTokenSchema>;

export const createdWorkerTokenSchema = workerTokenViewSchema.omit({ revoked_at: true }).extend({
  token: z.string().optional().describe('the secret; present only in the first response, never stored or shown again'),
});
export type CreatedWorkerToken = z.infer<typeof createdWorkerTokenSchema>;

// --- quotas ----------------------------------------------------------------------------------------

const limit = z.number().int().min(0).nullable();
const positive = z.number().int().min(1).nullable();

/** null = unlimited; `max_cpu` in cores (fractions allowed). */
const quotaFields = {
  max_sandboxes: limit,
  max_cpu: z.number().min(0).max(1_000_000).nullable(),
  max_memory_mb: limit,
  max_ttl_ms: positive,
  max_running_tasks: limit,
  max_exec_timeout_ms: positive,
};
export const QUOTA_FIELDS = Object.keys(quotaFields) as (keyof typeof quotaFields)[];

export const quotaViewSchema = z.object({ tenant_id: z.string(), ...quotaFields });
export type QuotaView = z.infer<typeof quotaViewSchema>;
/** PUT merges: a field left out keeps its value. */
export const putQuotaSchema = z.strictObject(
  Object.fromEntries(Object.entries(quotaFields).map(([k, v]) => [k, v.optional()])) as { [K in keyof typeof quotaFields]: z.ZodOptional<(typeof quotaFields)[K]> },
);
export type PutQuotaRequest = z.infer<typeof putQuotaSchema>;

const usageSchema = z.object({ sandboxes: z.number(), cpu: z.number(), memory_mb: z.number(), running_tasks: z.number() });
/** `GET /api/v1/quota`: the caller's own tenant's limits and usage. */
export const ownQuotaViewSchema = z.object({ tenant_id: z.string(), quota: quotaViewSchema.omit({ tenant_id: true }), usage: usageSchema });
export type OwnQuotaView = z.infer<typeof ownQuotaViewSchema>;

// --- audit -----------------------------------------------------------------------------------------

export const auditViewSchema = z.object({
  id: z.string(),
  at: z.string(),
  actor_type: z.enum(['key', 'worker', 'system', 'anonymous']),
  actor_id: z.string().nullable(),
  tenant_id: z.string().nullable(),
  action: z.string(),
  resource_type: z.string().nullable(),
  resource_id: z.string().nullable(),
  outcome: z.enum(['ok', 'denied', 'error']),
  request_id: z.string().nullable(),
  remote_addr: z.string().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
});
export type AuditView = z.infer<typeof auditViewSchema>;

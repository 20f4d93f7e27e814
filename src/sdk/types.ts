/**
 * The types of everything the API client sends and receives. Where the control plane validates or
 * documents a shape with a zod schema, the type comes from that schema in src/protocol (one source of
 * truth); the few shapes the server writes without a schema are declared here.
 */
export type { Page } from '../protocol/list.js';
export type { DeleteWorkerReply, DrainWorkerRequest, LeaseView, WorkerDetail, WorkerView } from '../protocol/workers.js';
export type {
  AuditView,
  CreatedKey,
  CreatedWorkerToken,
  CreateKeyRequest,
  CreateTenantRequest,
  CreateWorkerTokenRequest,
  KeyView,
  OwnQuotaView,
  PutQuotaRequest,
  QuotaView,
  RoleName,
  TenantView,
  UpdateTenantRequest,
  WorkerTokenView,
} from '../protocol/admin.js';
export type { Diagnostics } from '../protocol/diagnostics.js';
export type { AdmissionView, CreateSandboxRequest, SandboxView, ServiceSpec, TemplateSpec, TemplateView } from '../protocol/sandbox.js';

/** `GET /health`. */
export interface Health {
  status: 'ok';
}

/** `GET /ready`: answered with 200 when ready and 503 when not; the client returns both. */
export interface Ready {
  status: 'ready' | 'not_ready';
  store: string;
  schema?: { current: number; latest: number };
}

/** One event of `GET /api/v1/events` (the `data:` of an SSE frame). */
export interface DroverEvent {
  /** Position in the persisted log; also the SSE `id`, so it is what a resume passes as `after`. */
  seq: number;
  /** e.g. `sandbox.running`, `worker.cordoned`. */
  type: string;
  /** RFC 3339. */
  at: string;
  tenant_id: string | null;
  resource_type: string | null;
  resource_id: string | null;
  data: Record<string, unknown>;
}

/** Every call takes these; `signal` aborts the HTTP request. */
export interface CallOptions {
  signal?: AbortSignal;
}

/** Calls on tenant-owned resources: admins may act for another tenant with `tenant`. */
export interface TenantCallOptions extends CallOptions {
  tenant?: string;
}

/** Creates: `idempotencyKey` makes a retry return the original result instead of creating twice. */
export interface CreateOptions extends TenantCallOptions {
  idempotencyKey?: string;
}

/** `?limit=` (1..1000, default 100) and the opaque `?cursor=` of the previous page. */
export interface PageQuery {
  limit?: number;
  cursor?: string;
}

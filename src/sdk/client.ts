/**
 * `createClient({ url, apiKey, fetch? })`: the typed client of the control plane's HTTP API, one
 * namespace per area. Errors surface as DroverApiError (with the API's stable `code`, `status` and the
 * `requestId` to quote in a bug report) or DroverConnectionError when the server cannot be reached.
 *
 * Conventions, kept the same in every namespace: path parameters are positional, a request body is
 * passed as the wire object (snake_case, as in 02-api.md), and the last argument holds per-call options
 * (`signal`, `tenant` for admins acting on another tenant, `idempotencyKey` on creates). Every list has
 * `list(query)` for one page and `all(query)`, an async iterator over every item of every page.
 */
import { auditApi, keysApi, quotaCall, tenantsApi, workerTokensApi, type AuditApi, type KeysApi, type TenantsApi, type WorkerTokensApi } from './admin.js';
import { DroverApiError, DroverConnectionError } from './errors.js';
import { eventsApi, type EventsApi } from './events.js';
import { createTransport, type Transport } from './http.js';
import { sandboxesApi, templatesApi, type SandboxesApi, type TemplatesApi } from './sandboxes.js';
import { tasksApi, type TasksApi } from './tasks.js';
import type { CallOptions, Diagnostics, Health, OwnQuotaView, Ready, TenantCallOptions } from './types.js';
import { leasesApi, workersApi, type LeasesApi, type WorkersApi } from './workers.js';

export interface ClientOptions {
  /** The control plane's base URL, e.g. `http://127.0.0.1:7423`. */
  url: string;
  /** `drv_…`; omit only for the public routes (`health`, `ready`). */
  apiKey?: string | undefined;
  /** Defaults to the global fetch; inject one for tests, proxies or custom agents. */
  fetch?: typeof fetch | undefined;
  /** Extra headers on every request. */
  headers?: Record<string, string> | undefined;
}

export interface DroverClient {
  /** Liveness: the process is up. */
  health(options?: CallOptions): Promise<Health>;
  /** Readiness: returns `{status: 'not_ready', …}` on 503 instead of throwing, so callers can poll it. */
  ready(options?: CallOptions): Promise<Ready>;
  /** Needs the operate scope. */
  diagnostics(options?: CallOptions): Promise<Diagnostics>;
  /** The caller's own tenant's limits and usage. */
  quota(options?: TenantCallOptions): Promise<OwnQuotaView>;
  events: EventsApi;
  workers: WorkersApi;
  leases: LeasesApi;
  sandboxes: SandboxesApi;
  templates: TemplatesApi;
  tasks: TasksApi;
  keys: KeysApi;
  workerTokens: WorkerTokensApi;
  tenants: TenantsApi;
  audit: AuditApi;
  /** The underlying transport, for routes this client does not wrap yet. */
  transport: Transport;
}

export function createClient(o: ClientOptions): DroverClient {
  const t = createTransport({ url: o.url, apiKey: o.apiKey, fetch: o.fetch, headers: o.headers });
  return {
    health: (c = {}) => t.request('GET', '/health', { signal: c.signal }),
    ready: (c = {}) => readiness(o, c),
    diagnostics: (c = {}) => t.request('GET', '/api/v1/diagnostics', { signal: c.signal }),
    quota: quotaCall(t),
    events: eventsApi(t),
    workers: workersApi(t),
    leases: leasesApi(t),
    sandboxes: sandboxesApi(t),
    templates: templatesApi(t),
    tasks: tasksApi(t),
    keys: keysApi(t),
    workerTokens: workerTokensApi(t),
    tenants: tenantsApi(t),
    audit: auditApi(t),
    transport: t,
  };
}

/**
 * `/ready` answers 503 with a body that says why; that is an answer, not an error. The transport throws
 * on every non-2xx, so this one call goes to fetch directly.
 */
async function readiness(o: ClientOptions, c: CallOptions): Promise<Ready> {
  const base = o.url.replace(/\/+$/, '');
  let res: Response;
  try {
    res = await (o.fetch ?? globalThis.fetch)(`${base}/ready`, { headers: { accept: 'application/json', ...o.headers }, signal: c.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new DroverConnectionError(base, err);
  }
  if (res.status === 200 || res.status === 503) return (await res.json()) as Ready;
  throw new DroverApiError(res.status, 'http_error', `GET /ready answered HTTP ${res.status}`, undefined, res.headers.get('x-request-id') ?? undefined);
}

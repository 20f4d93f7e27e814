/** Sandboxes and templates (02-api.md, "Sandboxes", "Templates"): the records, not the data plane. */
import type { Transport } from './http.js';
import { lister, seg, type Lister } from './list.js';
import type {
  AdmissionView,
  CreateOptions,
  CreateSandboxRequest,
  SandboxView,
  TemplateSpec,
  TemplateView,
  TenantCallOptions,
} from './types.js';

export interface SandboxFilter {
  state?: SandboxView['state'];
  worker_id?: string;
  /** Every pair must match the sandbox's labels. */
  label?: Record<string, string>;
  /** Admins: another tenant's sandboxes. */
  tenant?: string;
}

export interface SandboxesApi extends Lister<SandboxView, SandboxFilter> {
  /**
   * Create a sandbox. By default the call returns once it is running (or has failed: check `state`);
   * with `wait: false` as soon as it is placed. Pass `idempotencyKey` to make retries safe.
   */
  create(spec: CreateSandboxRequest, options?: CreateOptions): Promise<SandboxView>;
  /** Dry run of a create: would it be admitted, where, and the quota it counts against. */
  admission(spec: CreateSandboxRequest, options?: TenantCallOptions): Promise<AdmissionView>;
  get(id: string, options?: TenantCallOptions): Promise<SandboxView>;
  /** Destroy it (idempotent); answers the final record. */
  delete(id: string, options?: TenantCallOptions): Promise<SandboxView>;
  /** Set the TTL to `ttl_ms` from now. */
  extend(id: string, body: { ttl_ms: number }, options?: TenantCallOptions): Promise<SandboxView>;
}

export interface TemplatesApi extends Lister<TemplateView, { tenant?: string }> {
  /** 409 if the name is taken (use `put` to replace). */
  create(body: { name: string; spec: TemplateSpec }, options?: TenantCallOptions): Promise<TemplateView>;
  get(name: string, options?: TenantCallOptions): Promise<TemplateView>;
  /** Create or replace. */
  put(name: string, body: { spec: TemplateSpec }, options?: TenantCallOptions): Promise<TemplateView>;
  delete(name: string, options?: TenantCallOptions): Promise<void>;
  /** Create a sandbox from the template, with overrides; answers like `sandboxes.create`. */
  spawn(name: string, overrides?: Omit<CreateSandboxRequest, 'template'>, options?: CreateOptions): Promise<SandboxView>;
}

const scoped = (o: TenantCallOptions) => ({ signal: o.signal, query: { tenant: o.tenant } });

export function sandboxesApi(t: Transport): SandboxesApi {
  const path = (id: string) => `/api/v1/sandboxes/${seg(id)}`;
  return {
    ...lister<SandboxView, SandboxFilter>(t, '/api/v1/sandboxes', (f) => ({
      state: f.state,
      worker_id: f.worker_id,
      tenant: f.tenant,
      label: f.label ? Object.entries(f.label).map(([k, v]) => `${k}=${v}`) : undefined,
    })),
    create: (spec, o = {}) => t.request('POST', '/api/v1/sandboxes', { ...scoped(o), body: spec, idempotencyKey: o.idempotencyKey }),
    admission: (spec, o = {}) => t.request('POST', '/api/v1/sandboxes/admission', { ...scoped(o), body: spec }),
    get: (id, o = {}) => t.request('GET', path(id), scoped(o)),
    delete: (id, o = {}) => t.request('DELETE', path(id), scoped(o)),
    extend: (id, body, o = {}) => t.request('POST', `${path(id)}/extend`, { ...scoped(o), body }),
  };
}

export function templatesApi(t: Transport): TemplatesApi {
  const path = (name: string) => `/api/v1/templates/${seg(name)}`;
  return {
    ...lister<TemplateView, { tenant?: string }>(t, '/api/v1/templates'),
    create: (body, o = {}) => t.request('POST', '/api/v1/templates', { ...scoped(o), body }),
    get: (name, o = {}) => t.request('GET', path(name), scoped(o)),
    put: (name, body, o = {}) => t.request('PUT', path(name), { ...scoped(o), body }),
    delete: (name, o = {}) => t.request('DELETE', path(name), scoped(o)),
    spawn: (name, overrides = {}, o = {}) => t.request('POST', `${path(name)}/sandboxes`, { ...scoped(o), body: overrides, idempotencyKey: o.idempotencyKey }),
  };
}

/** The worker registry and leases (02-api.md, "Workers"). Mutations need the operate or admin scope. */
import type { Transport } from './http.js';
import { lister, seg, type Lister, type NoFilter } from './list.js';
import type { CallOptions, DeleteWorkerReply, DrainWorkerRequest, LeaseView, WorkerDetail, WorkerView } from './types.js';

export interface WorkersApi extends Lister<WorkerView, NoFilter> {
  /** One worker with the sandboxes attached to it and its live leases. */
  get(id: string, options?: CallOptions): Promise<WorkerDetail>;
  /** Stop placing new sandboxes on it; running ones are unaffected. */
  cordon(id: string, options?: CallOptions): Promise<WorkerView>;
  /** Allow placements again; also cancels a drain. */
  uncordon(id: string, options?: CallOptions): Promise<WorkerView>;
  /** No new work; at the deadline (if any) re-place (`migrate`, the default) or stop what still runs. */
  drain(id: string, body?: DrainWorkerRequest, options?: CallOptions): Promise<WorkerView>;
  /** Admin: remove it from the registry; refused (409) while it holds work unless `force`. */
  delete(id: string, options?: CallOptions & { force?: boolean }): Promise<DeleteWorkerReply>;
  /** Admin registry repair: record a heartbeat on its behalf and bring it back online. */
  repairHeartbeat(id: string, options?: CallOptions): Promise<WorkerView>;
}

export interface LeaseFilter {
  holder?: string;
  resource_type?: string;
  /** true: only expired leases; false: only live ones; absent: both. */
  expired?: boolean;
}

export type LeasesApi = Lister<LeaseView, LeaseFilter>;

export function workersApi(t: Transport): WorkersApi {
  const post = (id: string, action: string, o: CallOptions, body?: unknown) =>
    t.request<WorkerView>('POST', `/api/v1/workers/${seg(id)}/${action}`, { signal: o.signal, body });
  return {
    ...lister<WorkerView, NoFilter>(t, '/api/v1/workers'),
    get: (id, o = {}) => t.request('GET', `/api/v1/workers/${seg(id)}`, { signal: o.signal }),
    cordon: (id, o = {}) => post(id, 'cordon', o),
    uncordon: (id, o = {}) => post(id, 'uncordon', o),
    drain: (id, body = {}, o = {}) => post(id, 'drain', o, body),
    delete: (id, o = {}) => t.request('DELETE', `/api/v1/admin/workers/${seg(id)}`, { signal: o.signal, query: { force: o.force ? 'true' : undefined } }),
    repairHeartbeat: (id, o = {}) => t.request('POST', `/api/v1/admin/workers/${seg(id)}/heartbeat`, { signal: o.signal }),
  };
}

export function leasesApi(t: Transport): LeasesApi {
  return lister<LeaseView, LeaseFilter>(t, '/api/v1/leases', (f) => ({
    holder: f.holder,
    resource_type: f.resource_type,
    expired: f.expired === undefined ? undefined : String(f.expired),
  }));
}

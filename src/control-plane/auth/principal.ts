/**
 * Who is calling. Resolved once per request from its credentials; the route's auth requirement and the
 * store's tenant scope are both derived from it, never from anything else in the request.
 */
import type { Role, TenantScope, WorkerScope } from '../../store/types.js';
import type { UserScope } from '../http/route.js';

export type Principal =
  | { kind: 'anonymous' }
  | { kind: 'user'; keyId: string; role: Role; tenantId: string; scopes: readonly UserScope[] }
  | { kind: 'worker'; workerId: string; scopes: readonly WorkerScope[]; tokenId: string | null };

export const ROLE_SCOPES: Record<Role, readonly UserScope[]> = {
  viewer: ['read'],
  api: ['read', 'write'],
  operator: ['read', 'write', 'operate'],
  admin: ['read', 'write', 'operate', 'admin'],
};

export const ALL_WORKER_SCOPES: readonly WorkerScope[] = ['worker:heartbeat', 'worker:lease', 'worker:tasks', 'worker:artifacts'];

/** The tenant scope for reading: operators and admins see every tenant (admins may narrow with ?tenant=). */
export function readScope(p: Principal, tenantParam?: string): TenantScope {
  if (p.kind !== 'user') return { kind: 'tenant', tenantId: '\u0000none' };
  if (p.role === 'admin') return tenantParam ? { kind: 'tenant', tenantId: tenantParam } : { kind: 'all' };
  if (p.role === 'operator') return { kind: 'all' };
  return { kind: 'tenant', tenantId: p.tenantId };
}

/** The tenant scope for writing: your own tenant, except admins, who may act for any with ?tenant=. */
export function writeScope(p: Principal, tenantParam?: string): TenantScope {
  if (p.kind !== 'user') return { kind: 'tenant', tenantId: '\u0000none' };
  if (p.role === 'admin') return tenantParam ? { kind: 'tenant', tenantId: tenantParam } : { kind: 'all' };
  return { kind: 'tenant', tenantId: p.tenantId };
}

/** The tenant new resources belong to. */
export function owningTenant(p: Principal, tenantParam?: string): string {
  if (p.kind !== 'user') throw new Error('only users own resources');
  return p.role === 'admin' && tenantParam ? tenantParam : p.tenantId;
}

export function actorOf(p: Principal): { actorType: 'key' | 'worker' | 'anonymous'; actorId: string | null; tenantId: string | null } {
  switch (p.kind) {
    case 'user':
      return { actorType: 'key', actorId: p.keyId, tenantId: p.tenantId };
    case 'worker':
      return { actorType: 'worker', actorId: p.workerId, tenantId: null };
    default:
      return { actorType: 'anonymous', actorId: null, tenantId: null };
  }
}

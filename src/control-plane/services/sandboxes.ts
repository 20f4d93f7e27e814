/**
 * The sandbox service: what the routes call. Create and the ways a sandbox ends live in their own files
 * (sandbox-create.ts, sandbox-destroy.ts); reads and extend are here.
 */
import { Conflict, NotFound } from '../../domain/errors.js';
import type { Page, PageRequest, SandboxFilter, SandboxRecord, TenantScope } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { emitSandbox } from './sandbox-events.js';
import { resolveTtl } from './sandbox-spec.js';

export { createSandbox } from './sandbox-create.js';
export { destroySandbox, expireSandbox } from './sandbox-destroy.js';

export async function getSandbox(cp: ControlPlane, scope: TenantScope, id: string): Promise<SandboxRecord> {
  const s = await cp.store.sandboxes.getSandbox(scope, id);
  if (!s) throw new NotFound(`sandbox ${id}`);
  return s;
}

export function listSandboxes(cp: ControlPlane, scope: TenantScope, filter: SandboxFilter, page: PageRequest): Promise<Page<SandboxRecord>> {
  return cp.store.sandboxes.listSandboxes(scope, filter, page);
}

/**
 * Give the sandbox `ttlMs` more from now (the TTL is replaced, not added to), within `sandboxes.max_ttl`
 * (400) and the tenant's `max_ttl_ms` (429). An ended sandbox cannot be extended (409).
 */
export async function extendSandbox(cp: ControlPlane, scope: TenantScope, id: string, ttlMs: number): Promise<SandboxRecord> {
  const s = await getSandbox(cp, scope, id);
  resolveTtl(cp.config, await cp.store.tenants.getQuota(s.tenantId), ttlMs);
  const extended = await cp.store.sandboxes.extendSandbox(scope, id, ttlMs);
  if (!extended) throw new Conflict(`sandbox ${id} has ended and cannot be extended`, { state: (await getSandbox(cp, scope, id)).state });
  await emitSandbox(cp, 'extended', extended, { ttl_ms: ttlMs, expires_at: extended.expiresAt });
  return extended;
}

/** Administration (02-api.md, "Administration"): every route here needs the admin scope, except GET /api/v1/quota. */
import type { RouteDef } from '../http/route.js';
import { adminAuditRoutes } from './admin-audit.js';
import { adminKeyRoutes } from './admin-keys.js';
import { quotaRoutes } from './admin-quota.js';
import { adminTenantRoutes } from './admin-tenants.js';
import { adminWorkerTokenRoutes } from './admin-worker-tokens.js';

export function adminRoutes(): RouteDef[] {
  return [...adminKeyRoutes(), ...adminWorkerTokenRoutes(), ...adminTenantRoutes(), ...quotaRoutes(), ...adminAuditRoutes()];
}

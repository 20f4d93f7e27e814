import type { SelectQueryBuilder, UpdateQueryBuilder, DeleteQueryBuilder } from 'kysely';
import type { Database } from './schema.js';
import type { TenantScope } from './types.js';

type TenantTable = 'sandboxes' | 'tasks' | 'templates' | 'api_keys' | 'audit_log' | 'events';

/**
 * Tenancy is enforced here, in the query, not in the route: a scoped query can only ever see its own
 * tenant's rows, so another tenant's resource is indistinguishable from a missing one (404).
 */
export function scoped<T extends TenantTable, O>(
  query: SelectQueryBuilder<Database, T, O>,
  scope: TenantScope,
): SelectQueryBuilder<Database, T, O> {
  if (scope.kind === 'all') return query;
  // The cast is Kysely's column typing over a union of tables; every listed table has tenant_id.
  return query.where('tenant_id' as never, '=', scope.tenantId as never);
}

export function scopedUpdate<T extends TenantTable, O>(
  query: UpdateQueryBuilder<Database, T, T, O>,
  scope: TenantScope,
): UpdateQueryBuilder<Database, T, T, O> {
  if (scope.kind === 'all') return query;
  return query.where('tenant_id' as never, '=', scope.tenantId as never);
}

export function scopedDelete<T extends TenantTable, O>(
  query: DeleteQueryBuilder<Database, T, O>,
  scope: TenantScope,
): DeleteQueryBuilder<Database, T, O> {
  if (scope.kind === 'all') return query;
  return query.where('tenant_id' as never, '=', scope.tenantId as never);
}

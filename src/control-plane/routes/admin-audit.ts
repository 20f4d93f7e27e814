/**
 * The audit log, newest first, as JSON pages or as CSV (`?format=csv`: the same page, with a header
 * row; the next page's cursor is in the `X-Next-Cursor` header, so an export walks pages the same way
 * the JSON client does).
 */
import { z } from 'zod';
import { auditViewSchema, type AuditView } from '../../protocol/admin.js';
import { listOf } from '../../protocol/list.js';
import type { AuditRecord } from '../../store/types.js';
import { readScope } from '../auth/principal.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { listBody, pageQuery, tenantQuery, time } from './admin-common.js';
import { toCsv } from './admin-csv.js';

export function viewAudit(r: AuditRecord): AuditView {
  return {
    id: r.id,
    at: time(r.at),
    actor_type: r.actorType,
    actor_id: r.actorId,
    tenant_id: r.tenantId,
    action: r.action,
    resource_type: r.resourceType,
    resource_id: r.resourceId,
    outcome: r.outcome,
    request_id: r.requestId,
    remote_addr: r.remoteAddr,
    details: r.details ?? null,
  };
}

const COLUMNS: ReadonlyArray<keyof AuditView> = [
  'id',
  'at',
  'actor_type',
  'actor_id',
  'tenant_id',
  'action',
  'resource_type',
  'resource_id',
  'outcome',
  'request_id',
  'remote_addr',
  'details',
];

const filterText = z.string().min(1).max(256);

export function adminAuditRoutes(): RouteDef[] {
  return [
    defineRoute({
      id: 'admin.audit.list',
      method: 'GET',
      path: '/api/v1/admin/audit',
      summary: 'The audit log, newest first; filters action, actor_id, resource_id, tenant; ?format=csv for CSV',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      query: z.strictObject({
        ...pageQuery,
        ...tenantQuery,
        action: filterText.optional(),
        actor_id: filterText.optional(),
        resource_id: filterText.optional(),
        format: z.enum(['json', 'csv']).default('json'),
      }),
      responses: { 200: listOf(auditViewSchema) },
      handler: async ({ cp, principal, query }) => {
        const page = await cp.store.audit.list(
          readScope(principal, query.tenant),
          { action: query.action, actorId: query.actor_id, resourceId: query.resource_id },
          { limit: query.limit, cursor: query.cursor },
        );
        const body = listBody(page, viewAudit);
        if (query.format === 'json') return { body };
        const headers: Record<string, string> = { 'content-type': 'text/csv; charset=utf-8' };
        if (body.next_cursor) headers['x-next-cursor'] = body.next_cursor;
        return { body: toCsv(COLUMNS, body.items), headers };
      },
    }),
  ];
}

/**
 * Tenants. A tenant also springs into being when a key names it (POST /admin/keys); these routes let
 * an admin create, rename, list and delete them explicitly. Deletion is refused (409, with counts)
 * while the tenant holds anything live; see purgeTenant for what goes with it.
 */
import { z } from 'zod';
import { Conflict, NotFound } from '../../domain/errors.js';
import { createTenantSchema, tenantId, tenantViewSchema, updateTenantSchema, type TenantView } from '../../protocol/admin.js';
import { listOf } from '../../protocol/list.js';
import type { TenantRecord } from '../../store/types.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { listBody, pageQuery, time } from './admin-common.js';

export function viewTenant(t: TenantRecord): TenantView {
  return { id: t.id, name: t.name, created_at: time(t.createdAt), updated_at: time(t.updatedAt) };
}

export const tenantParams = z.strictObject({ id: tenantId });

export function adminTenantRoutes(): RouteDef[] {
  return [
    defineRoute({
      id: 'admin.tenants.list',
      method: 'GET',
      path: '/api/v1/admin/tenants',
      summary: 'List tenants',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      query: z.strictObject(pageQuery),
      responses: { 200: listOf(tenantViewSchema) },
      handler: async ({ cp, query }) => ({ body: listBody(await cp.store.tenants.listTenants({ limit: query.limit, cursor: query.cursor }), viewTenant) }),
    }),
    defineRoute({
      id: 'admin.tenants.create',
      method: 'POST',
      path: '/api/v1/admin/tenants',
      summary: 'Create a tenant (409 if the id is taken)',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      body: createTenantSchema,
      responses: { 201: tenantViewSchema },
      handler: async ({ cp, body }) => {
        const record = await cp.store.tenants.createTenant(body.id, body.name ?? body.id);
        if (!record) throw new Conflict(`tenant ${body.id} already exists`);
        return { status: 201, body: viewTenant(record) };
      },
    }),
    defineRoute({
      id: 'admin.tenants.get',
      method: 'GET',
      path: '/api/v1/admin/tenants/:id',
      summary: 'One tenant',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      params: tenantParams,
      responses: { 200: tenantViewSchema },
      handler: async ({ cp, params }) => {
        const record = await cp.store.tenants.getTenant(params.id);
        if (!record) throw new NotFound(`tenant ${params.id}`);
        return { body: viewTenant(record) };
      },
    }),
    defineRoute({
      id: 'admin.tenants.update',
      method: 'PUT',
      path: '/api/v1/admin/tenants/:id',
      summary: "Rename a tenant (its id never changes: keys and resources refer to it)",
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      params: tenantParams,
      body: updateTenantSchema,
      responses: { 200: tenantViewSchema },
      auditResource: { type: 'tenant', param: 'id' },
      handler: async ({ cp, params, body }) => {
        const record = await cp.store.tenants.renameTenant(params.id, body.name);
        if (!record) throw new NotFound(`tenant ${params.id}`);
        return { body: viewTenant(record) };
      },
    }),
    defineRoute({
      id: 'admin.tenants.delete',
      method: 'DELETE',
      path: '/api/v1/admin/tenants/:id',
      summary: 'Delete a tenant; 409 while it has live sandboxes, unfinished tasks, templates or unrevoked keys',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      params: tenantParams,
      responses: { 200: tenantViewSchema },
      auditResource: { type: 'tenant', param: 'id' },
      handler: async ({ cp, params }) => {
        // The configured admin key acts for this tenant; without it, that key could create nothing.
        if (params.id === cp.auth.adminTenant) throw new Conflict(`tenant ${params.id} is the bootstrap admin's tenant and cannot be deleted`);
        const before = await cp.store.tenants.getTenant(params.id);
        if (!before) throw new NotFound(`tenant ${params.id}`);
        const result = await cp.store.tenants.purgeTenant(params.id);
        if (result.kind === 'not_found') throw new NotFound(`tenant ${params.id}`);
        if (result.kind === 'in_use') {
          const h = result.holdings;
          throw new Conflict(`tenant ${params.id} still owns resources; remove them first`, {
            sandboxes: h.sandboxes,
            tasks: h.tasks,
            templates: h.templates,
            api_keys: h.apiKeys,
          });
        }
        return { body: viewTenant(before) };
      },
    }),
  ];
}

/**
 * Templates (02-api.md): a tenant's named partial sandbox specs, and spawning a sandbox from one with
 * overrides. A template is validated when written with the same field rules as a create, so a spawn
 * fails only on what the merge itself produces (e.g. a TTL over the limit).
 */
import { z } from 'zod';
import { toRfc3339 } from '../../domain/clock.js';
import { Conflict, NotFound } from '../../domain/errors.js';
import { createTemplateSchema, putTemplateSchema, sandboxViewSchema, spawnFromTemplateSchema, templateViewSchema, TEMPLATE_NAME, type TemplateView } from '../../protocol/sandbox.js';
import { tenantScope, type TemplateRecord, type TenantScope } from '../../store/types.js';
import { owningTenant, readScope, writeScope, type Principal } from '../auth/principal.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { createHandler, pageQuery, tenantQuery } from './sandboxes.js';

const nameParams = z.strictObject({ name: z.string().regex(TEMPLATE_NAME, 'a template name') });
const listQuery = tenantQuery.extend(pageQuery);
const templateList = z.object({ items: z.array(templateViewSchema), next_cursor: z.string().nullable() });

/**
 * A template name is unique only within a tenant, so a by-name lookup always targets one tenant: an
 * admin's or operator's own unless `?tenant=` names another.
 */
function byName(p: Principal, tenantParam: string | undefined, mode: 'read' | 'write'): TenantScope {
  const scope = mode === 'read' ? readScope(p, tenantParam) : writeScope(p, tenantParam);
  if (scope.kind === 'tenant') return scope;
  return tenantScope(tenantParam ?? (p.kind === 'user' ? p.tenantId : '\u0000none'));
}

function toTemplateView(t: TemplateRecord): TemplateView {
  return { name: t.name, tenant_id: t.tenantId, spec: t.spec, created_at: toRfc3339(t.createdAt), updated_at: toRfc3339(t.updatedAt) };
}

export function templateRoutes(): RouteDef[] {
  return [
    defineRoute({
      id: 'templates.create',
      method: 'POST',
      path: '/api/v1/templates',
      summary: 'Create a template (409 if the name is taken; PUT replaces)',
      tags: ['templates'],
      auth: { kind: 'user', scope: 'write' },
      query: tenantQuery,
      body: createTemplateSchema,
      responses: { 201: templateViewSchema },
      handler: async ({ cp, principal, query, body }) => {
        const tenantId = owningTenant(principal, query.tenant);
        await cp.store.tenants.ensureTenant(tenantId);
        const created = await cp.store.templates.insertTemplate(tenantId, body.name, body.spec);
        if (!created) throw new Conflict(`template ${body.name} already exists`, { name: body.name });
        return { status: 201, body: toTemplateView(created) };
      },
    }),
    defineRoute({
      id: 'templates.list',
      method: 'GET',
      path: '/api/v1/templates',
      summary: 'List templates by name',
      tags: ['templates'],
      auth: { kind: 'user', scope: 'read' },
      query: listQuery,
      responses: { 200: templateList },
      handler: async ({ cp, principal, query }) => {
        const page = await cp.store.templates.listTemplates(readScope(principal, query.tenant), { limit: query.limit, cursor: query.cursor });
        return { body: { items: page.items.map(toTemplateView), next_cursor: page.nextCursor } };
      },
    }),
    defineRoute({
      id: 'templates.get',
      method: 'GET',
      path: '/api/v1/templates/:name',
      summary: 'One template',
      tags: ['templates'],
      auth: { kind: 'user', scope: 'read' },
      params: nameParams,
      query: tenantQuery,
      responses: { 200: templateViewSchema },
      handler: async ({ cp, principal, params, query }) => {
        const t = await cp.store.templates.getTemplate(byName(principal, query.tenant, 'read'), params.name);
        if (!t) throw new NotFound(`template ${params.name}`);
        return { body: toTemplateView(t) };
      },
    }),
    defineRoute({
      id: 'templates.put',
      method: 'PUT',
      path: '/api/v1/templates/:name',
      summary: 'Create or replace a template',
      tags: ['templates'],
      auth: { kind: 'user', scope: 'write' },
      params: nameParams,
      query: tenantQuery,
      body: putTemplateSchema,
      auditResource: { type: 'template', param: 'name' },
      responses: { 200: templateViewSchema },
      handler: async ({ cp, principal, params, query, body }) => {
        const tenantId = owningTenant(principal, query.tenant);
        await cp.store.tenants.ensureTenant(tenantId);
        return { body: toTemplateView(await cp.store.templates.putTemplate(tenantId, params.name, body.spec)) };
      },
    }),
    defineRoute({
      id: 'templates.delete',
      method: 'DELETE',
      path: '/api/v1/templates/:name',
      summary: 'Delete a template (sandboxes made from it are unaffected)',
      tags: ['templates'],
      auth: { kind: 'user', scope: 'write' },
      params: nameParams,
      query: tenantQuery,
      auditResource: { type: 'template', param: 'name' },
      responses: { 204: null },
      handler: async ({ cp, principal, params, query }) => {
        if (!(await cp.store.templates.deleteTemplate(byName(principal, query.tenant, 'write'), params.name))) throw new NotFound(`template ${params.name}`);
        return { status: 204, body: null };
      },
    }),
    defineRoute({
      id: 'templates.spawn',
      method: 'POST',
      path: '/api/v1/templates/:name/sandboxes',
      summary: 'Create a sandbox from a template, with overrides (same answers as POST /api/v1/sandboxes)',
      tags: ['templates'],
      auth: { kind: 'user', scope: 'write' },
      params: nameParams,
      query: tenantQuery,
      body: spawnFromTemplateSchema,
      auditResource: { type: 'template', param: 'name' },
      responses: { 201: sandboxViewSchema },
      handler: ({ cp, principal, params, query, body, req, reply }) => {
        const key = req.headers['idempotency-key'];
        return createHandler(cp, principal, query.tenant, reply, Array.isArray(key) ? key[0] : key, { ...body, template: params.name });
      },
    }),
  ];
}

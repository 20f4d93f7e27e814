/**
 * Sandbox records (02-api.md, "Sandboxes"): create, admission dry run, list, get, delete, extend. The
 * data-plane routes (exec, processes, files, logs, ports) are elsewhere. Tenancy: reads and writes are
 * scoped in the store query, so another tenant's sandbox is a 404; admins may pass `?tenant=`.
 */
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { BadRequest } from '../../domain/errors.js';
import { admissionSchema, createSandboxSchema, extendSandboxSchema, sandboxListSchema, sandboxViewSchema, SANDBOX_STATE_NAMES, type CreateSandboxRequest } from '../../protocol/sandbox.js';
import { owningTenant, readScope, writeScope, type Principal } from '../auth/principal.js';
import type { ControlPlane } from '../deps.js';
import { defineRoute, type HandlerResult, type RouteDef } from '../http/route.js';
import { withIdempotency } from '../services/idempotency.js';
import { admission } from '../services/placement.js';
import { toSandboxView } from '../services/sandbox-view.js';
import { createSandbox, destroySandbox, extendSandbox, getSandbox, listSandboxes } from '../services/sandboxes.js';

const TENANT = /^[a-z0-9][a-z0-9._-]{0,62}$/;
/** `?tenant=` (honoured for admins only; see auth/principal.ts). Strict: a misspelt filter is a 400, not "everything". */
export const tenantQuery = z.strictObject({ tenant: z.string().regex(TENANT, 'a tenant id').optional() });
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
};
const idParams = z.strictObject({ id: z.string().min(1).max(128) });

const listQuery = tenantQuery.extend({
  ...pageQuery,
  state: z.enum(SANDBOX_STATE_NAMES).optional(),
  worker_id: z.string().max(63).optional(),
  /** `label=k=v`, repeatable; every pair must match. */
  label: z.union([z.string(), z.array(z.string())]).optional(),
});

function parseLabels(raw: string | string[] | undefined): Record<string, string> | undefined {
  if (raw === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const pair of Array.isArray(raw) ? raw : [raw]) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new BadRequest(`label filter "${pair}" is not key=value`, { fields: { 'query.label': 'expected key=value' } });
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/**
 * The create handler shared with `POST /api/v1/templates/{name}/sandboxes`: idempotent on
 * `Idempotency-Key`, answering 201 with the sandbox (a replay: the stored answer, marked
 * `Idempotent-Replayed: true`).
 */
export async function createHandler(
  cp: ControlPlane,
  principal: Principal,
  tenantParam: string | undefined,
  reply: FastifyReply,
  idempotencyKey: string | undefined,
  request: CreateSandboxRequest,
): Promise<HandlerResult> {
  const tenantId = owningTenant(principal, tenantParam);
  // A client that hangs up stops the wait (the sandbox carries on, placed by the pending loop).
  const hungUp = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) hungUp.abort();
  });
  const result = await withIdempotency(cp, { tenantId, scope: 'sandboxes.create', key: idempotencyKey, body: request }, async () => {
    const s = await createSandbox(cp, tenantId, request, { signal: hungUp.signal });
    return { status: 201, body: toSandboxView(s), resourceId: s.id };
  });
  return { status: result.status, body: result.body, ...(result.replayed ? { headers: { 'idempotent-replayed': 'true' } } : {}) };
}

export function sandboxRoutes(): RouteDef[] {
  return [
    defineRoute({
      id: 'sandboxes.create',
      method: 'POST',
      path: '/api/v1/sandboxes',
      summary: 'Create a sandbox (waits until running unless wait: false; Idempotency-Key supported)',
      tags: ['sandboxes'],
      auth: { kind: 'user', scope: 'write' },
      query: tenantQuery,
      body: createSandboxSchema,
      responses: { 201: sandboxViewSchema },
      handler: ({ cp, principal, query, body, req, reply }) => createHandler(cp, principal, query.tenant, reply, headerValue(req.headers['idempotency-key']), body),
    }),
    defineRoute({
      id: 'sandboxes.admission',
      method: 'POST',
      path: '/api/v1/sandboxes/admission',
      summary: 'Dry run of a create: would it be admitted, on which worker, and the quota it counts against',
      tags: ['sandboxes'],
      auth: { kind: 'user', scope: 'read' },
      audit: false,
      query: tenantQuery,
      body: createSandboxSchema,
      responses: { 200: admissionSchema },
      handler: async ({ cp, principal, query, body }) => ({ body: await admission(cp, owningTenant(principal, query.tenant), body) }),
    }),
    defineRoute({
      id: 'sandboxes.list',
      method: 'GET',
      path: '/api/v1/sandboxes',
      summary: 'List sandboxes, newest first; filters state, worker_id, label=k=v (repeatable)',
      tags: ['sandboxes'],
      auth: { kind: 'user', scope: 'read' },
      query: listQuery,
      responses: { 200: sandboxListSchema },
      handler: async ({ cp, principal, query }) => {
        const filter = { state: query.state, workerId: query.worker_id, labels: parseLabels(query.label) };
        const page = await listSandboxes(cp, readScope(principal, query.tenant), filter, { limit: query.limit, cursor: query.cursor });
        return { body: { items: page.items.map(toSandboxView), next_cursor: page.nextCursor } };
      },
    }),
    defineRoute({
      id: 'sandboxes.get',
      method: 'GET',
      path: '/api/v1/sandboxes/:id',
      summary: 'One sandbox',
      tags: ['sandboxes'],
      auth: { kind: 'user', scope: 'read' },
      params: idParams,
      query: tenantQuery,
      responses: { 200: sandboxViewSchema },
      handler: async ({ cp, principal, params, query }) => ({ body: toSandboxView(await getSandbox(cp, readScope(principal, query.tenant), params.id)) }),
    }),
    defineRoute({
      id: 'sandboxes.delete',
      method: 'DELETE',
      path: '/api/v1/sandboxes/:id',
      summary: 'Destroy a sandbox (idempotent; answers the final record)',
      tags: ['sandboxes'],
      auth: { kind: 'user', scope: 'write' },
      params: idParams,
      query: tenantQuery,
      auditResource: { type: 'sandbox', param: 'id' },
      responses: { 200: sandboxViewSchema },
      handler: async ({ cp, principal, params, query }) => ({ body: toSandboxView(await destroySandbox(cp, writeScope(principal, query.tenant), params.id)) }),
    }),
    defineRoute({
      id: 'sandboxes.extend',
      method: 'POST',
      path: '/api/v1/sandboxes/:id/extend',
      summary: 'Set the TTL to ttl_ms from now (within sandboxes.max_ttl and the tenant quota)',
      tags: ['sandboxes'],
      auth: { kind: 'user', scope: 'write' },
      params: idParams,
      query: tenantQuery,
      body: extendSandboxSchema,
      auditResource: { type: 'sandbox', param: 'id' },
      responses: { 200: sandboxViewSchema },
      handler: async ({ cp, principal, params, query, body }) => ({ body: toSandboxView(await extendSandbox(cp, writeScope(principal, query.tenant), params.id, body.ttl_ms)) }),
    }),
  ];
}

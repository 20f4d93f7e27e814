/**
 * API keys: create (the secret is shown once), list (never a secret or a hash), revoke (effective at
 * once: authentication looks up unrevoked keys by hash on every request, there is no cache).
 */
import { z } from 'zod';
import { NotFound } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import { createdKeySchema, createKeySchema, keyViewSchema, type KeyView } from '../../protocol/admin.js';
import { listOf } from '../../protocol/list.js';
import type { ApiKeyRecord } from '../../store/types.js';
import { readScope } from '../auth/principal.js';
import { generateSecret, hashSecret } from '../auth/secrets.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { idParams, listBody, pageQuery, tenantQuery, time, timeOrNull } from './admin-common.js';
import { mintOnce } from './admin-idempotency.js';

export function viewKey(k: ApiKeyRecord): KeyView {
  return {
    id: k.id,
    name: k.name,
    role: k.role,
    tenant_id: k.tenantId,
    created_at: time(k.createdAt),
    last_used_at: timeOrNull(k.lastUsedAt),
    revoked_at: timeOrNull(k.revokedAt),
  };
}

export function adminKeyRoutes(): RouteDef[] {
  return [
    defineRoute({
      id: 'admin.keys.create',
      method: 'POST',
      path: '/api/v1/admin/keys',
      summary: 'Create an API key (the tenant is created if missing); the key is shown only in this response',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      body: createKeySchema,
      responses: { 201: createdKeySchema },
      handler: async ({ cp, body, principal, req }) =>
        mintOnce(cp, principal, req.headers, 'admin.keys.create', body, async () => {
          const key = generateSecret('drv');
          const record = await cp.store.transaction(async (s) => {
            await s.tenants.ensureTenant(body.tenant_id);
            return s.credentials.createApiKey({ id: newId('key', cp.clock.now()), tenantId: body.tenant_id, name: body.name ?? null, role: body.role, keyHash: hashSecret(key) });
          });
          const view = { id: record.id, name: record.name, role: record.role, tenant_id: record.tenantId, created_at: time(record.createdAt) };
          return { resourceId: record.id, record: view, secret: { field: 'key', value: key } };
        }),
    }),
    defineRoute({
      id: 'admin.keys.list',
      method: 'GET',
      path: '/api/v1/admin/keys',
      summary: 'List API keys (never their secrets); ?tenant= narrows to one tenant',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      query: z.strictObject({ ...pageQuery, ...tenantQuery }),
      responses: { 200: listOf(keyViewSchema) },
      handler: async ({ cp, query, principal }) => {
        const page = await cp.store.credentials.listApiKeys(readScope(principal, query.tenant), { limit: query.limit, cursor: query.cursor });
        return { body: listBody(page, viewKey) };
      },
    }),
    defineRoute({
      id: 'admin.keys.revoke',
      method: 'DELETE',
      path: '/api/v1/admin/keys/:id',
      summary: 'Revoke an API key; it stops working at once (idempotent)',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      params: idParams,
      responses: { 200: keyViewSchema },
      auditResource: { type: 'api_key', param: 'id' },
      handler: async ({ cp, params }) => {
        const record = await cp.store.credentials.revokeApiKey(params.id);
        if (!record) throw new NotFound(`API key ${params.id}`);
        return { body: viewKey(record) };
      },
    }),
  ];
}

/**
 * Worker tokens issued through the API: stored hashed, optionally bound to one worker id, limited to
 * some worker scopes, optionally expiring. Revocation and expiry take effect on the next request:
 * authentication looks the token up by hash, with the store clock, every time.
 */
import { z } from 'zod';
import { NotFound } from '../../domain/errors.js';
import { newId } from '../../domain/ids.js';
import { createdWorkerTokenSchema, createWorkerTokenSchema, workerTokenViewSchema, type WorkerTokenView } from '../../protocol/admin.js';
import { listOf } from '../../protocol/list.js';
import type { WorkerTokenRecord } from '../../store/types.js';
import { ALL_WORKER_SCOPES } from '../auth/principal.js';
import { generateSecret, hashSecret } from '../auth/secrets.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { idParams, listBody, pageQuery, time, timeOrNull } from './admin-common.js';
import { mintOnce } from './admin-idempotency.js';

export function viewWorkerToken(t: WorkerTokenRecord): WorkerTokenView {
  return {
    id: t.id,
    worker_id: t.workerId,
    name: t.name,
    scopes: t.scopes,
    created_at: time(t.createdAt),
    expires_at: timeOrNull(t.expiresAt),
    revoked_at: timeOrNull(t.revokedAt),
  };
}

export function adminWorkerTokenRoutes(): RouteDef[] {
  return [
    defineRoute({
      id: 'admin.worker_tokens.create',
      method: 'POST',
      path: '/api/v1/admin/worker-tokens',
      summary: 'Issue a worker token (default: all four worker scopes, any worker id, no expiry); shown only in this response',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      body: createWorkerTokenSchema,
      responses: { 201: createdWorkerTokenSchema },
      handler: async ({ cp, body, principal, req }) =>
        mintOnce(cp, principal, req.headers, 'admin.worker_tokens.create', body, async () => {
          const token = generateSecret('dwt');
          // Expiry is judged by the store clock (findWorkerTokenByHash), so it is computed from it too.
          const expiresAt = body.ttl_ms === undefined ? null : (await cp.store.now()) + body.ttl_ms;
          const record = await cp.store.credentials.createWorkerToken({
            id: newId('wtk', cp.clock.now()),
            workerId: body.worker_id ?? null,
            name: body.name ?? null,
            scopes: body.scopes ?? [...ALL_WORKER_SCOPES],
            tokenHash: hashSecret(token),
            expiresAt,
          });
          const { revoked_at: _r, ...view } = viewWorkerToken(record);
          return { resourceId: record.id, record: view, secret: { field: 'token', value: token } };
        }),
    }),
    defineRoute({
      id: 'admin.worker_tokens.list',
      method: 'GET',
      path: '/api/v1/admin/worker-tokens',
      summary: 'List issued worker tokens (never their secrets)',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      query: z.strictObject(pageQuery),
      responses: { 200: listOf(workerTokenViewSchema) },
      handler: async ({ cp, query }) => ({ body: listBody(await cp.store.credentials.listWorkerTokens({ limit: query.limit, cursor: query.cursor }), viewWorkerToken) }),
    }),
    defineRoute({
      id: 'admin.worker_tokens.revoke',
      method: 'DELETE',
      path: '/api/v1/admin/worker-tokens/:id',
      summary: 'Revoke a worker token; it stops working at once (idempotent)',
      tags: ['admin'],
      auth: { kind: 'user', scope: 'admin' },
      params: idParams,
      responses: { 200: workerTokenViewSchema },
      auditResource: { type: 'worker_token', param: 'id' },
      handler: async ({ cp, params }) => {
        const record = await cp.store.credentials.revokeWorkerToken(params.id);
        if (!record) throw new NotFound(`worker token ${params.id}`);
        return { body: viewWorkerToken(record) };
      },
    }),
  ];
}

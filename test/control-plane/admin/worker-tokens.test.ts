/**
 * Worker tokens issued through the admin API, exercised against worker routes. The routes here are
 * probes registered beside the real ones: they carry a worker auth requirement and do nothing else, so
 * this file tests issuing, scopes, worker binding, expiry and revocation through the real
 * authenticate/authorize path without depending on what the worker protocol routes do.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/control-plane/app.js';
import { hashSecret } from '../../../src/control-plane/auth/secrets.js';
import { defineRoute, type RouteDef } from '../../../src/control-plane/http/route.js';
import { allRoutes } from '../../../src/control-plane/routes/index.js';
import type { WorkerScope } from '../../../src/store/types.js';
import { startTestControlPlane, type TestControlPlane } from '../support/harness.js';

const probe = (scope: WorkerScope, name: string): RouteDef =>
  defineRoute({
    id: `test.probe.${name}`,
    method: 'POST',
    path: `/test-probe/workers/:workerId/${name}`,
    summary: 'test probe',
    tags: ['test'],
    auth: { kind: 'worker', scope },
    audit: false,
    responses: { 200: null },
    handler: async ({ principal }) => ({ body: { principal } }),
  });

interface Issued {
  id: string;
  token?: string;
  worker_id: string | null;
  name: string | null;
  scopes: string[];
  created_at: string;
  expires_at: string | null;
}

describe('admin: worker tokens', () => {
  let t: TestControlPlane;
  let app: FastifyInstance;
  before(async () => {
    t = await startTestControlPlane();
    app = await buildApp(t.cp, [...allRoutes(), probe('worker:heartbeat', 'heartbeat'), probe('worker:lease', 'lease'), probe('worker:tasks', 'tasks')]);
    await app.ready();
  });
  after(async () => {
    await app.close();
    await t.close();
  });

  const issue = async (body: Record<string, unknown>): Promise<Issued> => {
    const r = await t.request('POST', '/api/v1/admin/worker-tokens', { key: t.keys.admin, body });
    assert.equal(r.status, 201, r.text);
    return r.json<Issued>();
  };
  const call = async (route: 'heartbeat' | 'lease' | 'tasks', pathWorker: string, workerId: string, token: string) => {
    const res = await app.inject({ method: 'POST', url: `/test-probe/workers/${pathWorker}/${route}`, headers: { 'x-worker-id': workerId, 'x-worker-token': token } });
    return res.statusCode;
  };

  it('issues a token with all four scopes by default, shown once, stored hashed', async () => {
    const tok = await issue({ name: 'fleet' });
    assert.match(tok.id, /^wtk_/);
    assert.match(tok.token ?? '', /^dwt_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(tok.scopes, ['worker:heartbeat', 'worker:lease', 'worker:tasks', 'worker:artifacts']);
    assert.equal(tok.worker_id, null);
    assert.equal(tok.expires_at, null);
    assert.equal((await t.store.credentials.findWorkerTokenByHash(hashSecret(tok.token ?? '')))?.id, tok.id);
    // An unbound token authenticates any worker id, and only for its own path.
    assert.equal(await call('lease', 'w-any', 'w-any', tok.token ?? ''), 200);
    assert.equal(await call('lease', 'w-one', 'w-two', tok.token ?? ''), 403);
    // Bearer form works too.
    const bearer = await app.inject({ method: 'POST', url: '/test-probe/workers/w-any/tasks', headers: { 'x-worker-id': 'w-any', authorization: `Bearer ${tok.token}` } });
    assert.equal(bearer.statusCode, 200);

    const list = await t.request('GET', '/api/v1/admin/worker-tokens', { key: t.keys.admin });
    assert.equal(list.status, 200);
    assert.ok(list.json<{ items: Issued[] }>().items.some((i) => i.id === tok.id));
    assert.ok(!list.text.includes(tok.token ?? '-'), 'no secret in the list');
    assert.ok(!list.text.includes(hashSecret(tok.token ?? '')), 'no hash in the list');
  });

  it('a token bound to one worker id does not authenticate another', async () => {
    const tok = await issue({ worker_id: 'w1' });
    assert.equal(tok.worker_id, 'w1');
    assert.equal(await call('heartbeat', 'w1', 'w1', tok.token ?? ''), 200);
    // Claiming to be w2 with w1's token: not a credential of w2 at all.
    assert.equal(await call('heartbeat', 'w2', 'w2', tok.token ?? ''), 401);
    // Authenticated as w1, acting on w2's path: forbidden.
    assert.equal(await call('heartbeat', 'w2', 'w1', tok.token ?? ''), 403);
  });

  it('a token only carries its scopes', async () => {
    const tok = await issue({ worker_id: 'w3', scopes: ['worker:heartbeat'] });
    assert.deepEqual(tok.scopes, ['worker:heartbeat']);
    assert.equal(await call('heartbeat', 'w3', 'w3', tok.token ?? ''), 200);
    assert.equal(await call('lease', 'w3', 'w3', tok.token ?? ''), 403);
    assert.equal(await call('tasks', 'w3', 'w3', tok.token ?? ''), 403);
  });

  it('expires by the store clock', async () => {
    const tok = await issue({ worker_id: 'w4', ttl_ms: 60_000 });
    assert.equal(Date.parse(tok.expires_at ?? '') - Date.parse(tok.created_at), 60_000);
    assert.equal(await call('lease', 'w4', 'w4', tok.token ?? ''), 200);
    t.clock.advance(59_000);
    assert.equal(await call('lease', 'w4', 'w4', tok.token ?? ''), 200);
    t.clock.advance(1_000);
    assert.equal(await call('lease', 'w4', 'w4', tok.token ?? ''), 401);
  });

  it('revocation works at once; unknown ids are 404', async () => {
    const tok = await issue({ worker_id: 'w5' });
    assert.equal(await call('lease', 'w5', 'w5', tok.token ?? ''), 200);
    const r = await t.request('DELETE', `/api/v1/admin/worker-tokens/${tok.id}`, { key: t.keys.admin });
    assert.equal(r.status, 200);
    assert.ok(r.json<{ revoked_at: string | null }>().revoked_at);
    assert.equal(await call('lease', 'w5', 'w5', tok.token ?? ''), 401);
    assert.equal((await t.request('DELETE', '/api/v1/admin/worker-tokens/wtk_01ARZ3NDEKTSV4RRFFQ69G5FAV', { key: t.keys.admin })).status, 404);
  });

  it('a worker token never authenticates a user or admin route', async () => {
    const tok = await issue({ worker_id: 'w6' });
    const r = await t.request('GET', '/api/v1/admin/worker-tokens', { worker: { id: 'w6', token: tok.token ?? '' } });
    assert.equal(r.status, 401);
    // Nor does it work as an API key.
    assert.equal((await t.request('GET', '/api/v1/quota', { key: tok.token })).status, 401);
  });

  it('validates the body and is admin-only', async () => {
    const bad = [{ scopes: [] }, { scopes: ['worker:root'] }, { scopes: ['worker:lease', 'worker:lease'] }, { worker_id: 'Bad Id' }, { ttl_ms: 10 }, { ttl_ms: 1.5 }, { extra: 1 }];
    for (const body of bad) {
      const r = await t.request('POST', '/api/v1/admin/worker-tokens', { key: t.keys.admin, body });
      assert.equal(r.status, 400, JSON.stringify(body));
    }
    assert.equal((await t.request('POST', '/api/v1/admin/worker-tokens', { key: t.keys.operator, body: {} })).status, 403);
  });

  it('honours Idempotency-Key without ever replaying the secret', async () => {
    const headers = { 'idempotency-key': 'tok-1' };
    const first = await t.request('POST', '/api/v1/admin/worker-tokens', { key: t.keys.admin, body: { worker_id: 'w7' }, headers });
    const again = await t.request('POST', '/api/v1/admin/worker-tokens', { key: t.keys.admin, body: { worker_id: 'w7' }, headers });
    assert.equal(first.status, 201);
    assert.equal(again.status, 201);
    assert.equal(again.json<Issued>().id, first.json<Issued>().id);
    assert.equal(again.json<Issued>().token, undefined);
    assert.equal((await t.request('POST', '/api/v1/admin/worker-tokens', { key: t.keys.admin, body: { worker_id: 'w8' }, headers })).status, 409);
  });
});

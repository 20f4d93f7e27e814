import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashSecret } from '../../../src/control-plane/auth/secrets.js';
import { startTestControlPlane, type TestControlPlane } from '../support/harness.js';
import type { ErrorBody } from './helpers.js';

interface CreatedKey {
  id: string;
  key?: string;
  name: string | null;
  role: string;
  tenant_id: string;
  created_at: string;
}

interface KeyList {
  items: Array<{ id: string; tenant_id: string; role: string; revoked_at: string | null }>;
  next_cursor: string | null;
}

describe('admin: API keys', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  const create = (body: unknown, headers?: Record<string, string>) => t.request('POST', '/api/v1/admin/keys', { key: t.keys.admin, body, headers });

  it('creates a key for a new tenant; the secret is shown once and works for its role and tenant', async () => {
    assert.equal(await t.store.tenants.getTenant('acme'), undefined);
    const r = await create({ name: 'ci', role: 'api', tenant_id: 'acme' });
    assert.equal(r.status, 201);
    const k = r.json<CreatedKey>();
    assert.match(k.id, /^key_[0-9A-Z]{26}$/);
    assert.match(k.key ?? '', /^drv_[A-Za-z0-9_-]{43}$/);
    assert.deepEqual({ name: k.name, role: k.role, tenant_id: k.tenant_id }, { name: 'ci', role: 'api', tenant_id: 'acme' });
    assert.equal(new Date(k.created_at).toISOString(), k.created_at);
    assert.ok(await t.store.tenants.getTenant('acme'), 'the tenant was created');

    // The key authenticates as an api key of tenant acme: it reads its own tenant's quota...
    const quota = await t.request('GET', '/api/v1/quota', { key: k.key });
    assert.equal(quota.status, 200);
    assert.equal(quota.json<{ tenant_id: string }>().tenant_id, 'acme');
    // ...and its role lacks the admin scope.
    assert.equal((await t.request('GET', '/api/v1/admin/keys', { key: k.key })).status, 403);

    const admin = (await create({ role: 'admin', tenant_id: 'acme' })).json<CreatedKey>();
    assert.equal(admin.name, null);
    assert.equal((await t.request('GET', '/api/v1/admin/keys', { key: admin.key })).status, 200);
  });

  it('the store keeps only the hash, and no list shows a secret or a hash', async () => {
    const k = (await create({ role: 'viewer', tenant_id: 'acme' })).json<CreatedKey>();
    const secret = k.key ?? '';
    const record = await t.store.credentials.findApiKeyByHash(hashSecret(secret));
    assert.equal(record?.id, k.id);
    const list = await t.request('GET', '/api/v1/admin/keys?limit=1000', { key: t.keys.admin });
    assert.equal(list.status, 200);
    assert.ok(list.json<KeyList>().items.some((i) => i.id === k.id));
    assert.ok(!list.text.includes(secret), 'the secret is not listed');
    assert.ok(!list.text.includes(hashSecret(secret)), 'the hash is not listed');
    assert.ok(!/key_hash|"key"\s*:/.test(list.text));
  });

  it('lists with ?tenant= and pages with a cursor', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await create({ role: 'viewer', tenant_id: 'paged' })).status, 201);
    const all = (await t.request('GET', '/api/v1/admin/keys?tenant=paged', { key: t.keys.admin })).json<KeyList>();
    assert.equal(all.items.length, 3);
    assert.ok(all.items.every((i) => i.tenant_id === 'paged'));
    const first = (await t.request('GET', '/api/v1/admin/keys?tenant=paged&limit=2', { key: t.keys.admin })).json<KeyList>();
    assert.equal(first.items.length, 2);
    assert.ok(first.next_cursor);
    const second = (await t.request('GET', `/api/v1/admin/keys?tenant=paged&limit=2&cursor=${first.next_cursor}`, { key: t.keys.admin })).json<KeyList>();
    assert.equal(second.items.length, 1);
    assert.equal(second.next_cursor, null);
    assert.deepEqual([...first.items, ...second.items].map((i) => i.id), all.items.map((i) => i.id));
    // Without ?tenant= an admin sees every tenant.
    const everything = (await t.request('GET', '/api/v1/admin/keys?limit=1000', { key: t.keys.admin })).json<KeyList>();
    assert.ok(new Set(everything.items.map((i) => i.tenant_id)).size >= 4);
  });

  it('a revoked key stops working at once; revoking is idempotent; unknown ids are 404', async () => {
    const k = (await create({ role: 'api', tenant_id: 'acme' })).json<CreatedKey>();
    assert.equal((await t.request('GET', '/api/v1/quota', { key: k.key })).status, 200);
    const revoked = await t.request('DELETE', `/api/v1/admin/keys/${k.id}`, { key: t.keys.admin });
    assert.equal(revoked.status, 200);
    const view = revoked.json<{ id: string; revoked_at: string | null }>();
    assert.equal(view.id, k.id);
    assert.ok(view.revoked_at);
    const after = await t.request('GET', '/api/v1/quota', { key: k.key });
    assert.equal(after.status, 401);
    assert.equal(after.json<ErrorBody>().error.code, 'unauthorized');
    const again = await t.request('DELETE', `/api/v1/admin/keys/${k.id}`, { key: t.keys.admin });
    assert.equal(again.status, 200);
    assert.equal(again.json<{ revoked_at: string }>().revoked_at, view.revoked_at, 'the first revocation time stands');
    assert.equal((await t.request('DELETE', '/api/v1/admin/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV', { key: t.keys.admin })).status, 404);
  });

  it('validates the body: unknown fields, bad roles and bad tenant ids are 400 with per-field details', async () => {
    const unknown = await create({ role: 'api', tenant_id: 'acme', admin: true });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.json<ErrorBody>().error.code, 'bad_request');
    const role = await create({ role: 'root', tenant_id: 'acme' });
    assert.equal(role.status, 400);
    assert.ok(role.json<ErrorBody>().error.details?.fields && 'body.role' in (role.json<ErrorBody>().error.details?.fields as object));
    const tenant = await create({ role: 'api', tenant_id: 'Bad Tenant!' });
    assert.equal(tenant.status, 400);
    assert.ok('body.tenant_id' in (tenant.json<ErrorBody>().error.details?.fields as object));
    const missing = await create({ name: 'x' });
    assert.equal(missing.status, 400);
  });

  it('honours Idempotency-Key: a replay returns the same key record without the secret; another body is 409', async () => {
    const body = { name: 'deploy', role: 'api', tenant_id: 'idem' };
    const first = await create(body, { 'idempotency-key': 'create-deploy-key-1' });
    assert.equal(first.status, 201);
    const k = first.json<CreatedKey>();
    assert.ok(k.key);
    const replay = await create({ tenant_id: 'idem', role: 'api', name: 'deploy' }, { 'idempotency-key': 'create-deploy-key-1' });
    assert.equal(replay.status, 201);
    assert.equal(replay.headers['idempotent-replayed'], 'true');
    const r = replay.json<CreatedKey>();
    assert.equal(r.id, k.id);
    assert.equal(r.key, undefined, 'the secret is never stored, so never replayed');
    assert.equal(r.created_at, k.created_at);
    assert.ok(!replay.text.includes(k.key));
    const keys = (await t.request('GET', '/api/v1/admin/keys?tenant=idem', { key: t.keys.admin })).json<KeyList>();
    assert.equal(keys.items.length, 1, 'the replay minted nothing');

    const other = await create({ ...body, role: 'viewer' }, { 'idempotency-key': 'create-deploy-key-1' });
    assert.equal(other.status, 409);
    assert.equal(other.json<ErrorBody>().error.code, 'conflict');
    const bad = await create(body, { 'idempotency-key': 'x'.repeat(300) });
    assert.equal(bad.status, 400);
    // Without the header every request mints a new key.
    const a = (await create(body)).json<CreatedKey>();
    const b = (await create(body)).json<CreatedKey>();
    assert.notEqual(a.id, b.id);
  });

  it('a refused request does not consume its Idempotency-Key', async () => {
    // A viewer is refused before the handler; the claim is never taken.
    const refused = await t.request('POST', '/api/v1/admin/keys', { key: t.keys.viewer, body: { role: 'api', tenant_id: 'idem2' }, headers: { 'idempotency-key': 'k2' } });
    assert.equal(refused.status, 403);
    const ok = await create({ role: 'api', tenant_id: 'idem2' }, { 'idempotency-key': 'k2' });
    assert.equal(ok.status, 201);
    assert.ok(ok.json<CreatedKey>().key);
  });
});

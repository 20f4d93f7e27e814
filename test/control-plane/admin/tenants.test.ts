import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from '../support/harness.js';
import { sandboxFor, taskFor, type ErrorBody } from './helpers.js';

interface TenantView {
  id: string;
  name: string;
  created_at: string;
  updated_at: string;
}

describe('admin: tenants', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());
  const admin = (method: string, url: string, body?: unknown) => t.request(method, url, { key: t.keys.admin, body });

  it('creates, reads, renames and lists tenants', async () => {
    const created = await admin('POST', '/api/v1/admin/tenants', { id: 'blue', name: 'Blue Team' });
    assert.equal(created.status, 201);
    assert.deepEqual({ id: created.json<TenantView>().id, name: created.json<TenantView>().name }, { id: 'blue', name: 'Blue Team' });
    assert.equal((await admin('POST', '/api/v1/admin/tenants', { id: 'blue' })).status, 409);
    assert.equal((await admin('POST', '/api/v1/admin/tenants', { id: 'green' })).json<TenantView>().name, 'green');

    assert.equal((await admin('GET', '/api/v1/admin/tenants/blue')).json<TenantView>().name, 'Blue Team');
    assert.equal((await admin('GET', '/api/v1/admin/tenants/nope')).status, 404);
    assert.equal((await admin('GET', '/api/v1/admin/tenants/Not%20Valid')).status, 400);

    t.clock.advance(1000);
    const renamed = await admin('PUT', '/api/v1/admin/tenants/blue', { name: 'Blue' });
    assert.equal(renamed.status, 200);
    assert.equal(renamed.json<TenantView>().name, 'Blue');
    assert.ok(renamed.json<TenantView>().updated_at > renamed.json<TenantView>().created_at);
    assert.equal((await admin('PUT', '/api/v1/admin/tenants/nope', { name: 'x' })).status, 404);
    assert.equal((await admin('PUT', '/api/v1/admin/tenants/blue', { name: 'x', id: 'other' })).status, 400);

    const list = await admin('GET', '/api/v1/admin/tenants?limit=2');
    const page = list.json<{ items: TenantView[]; next_cursor: string | null }>();
    assert.equal(page.items.length, 2);
    assert.ok(page.next_cursor);
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await admin('GET', `/api/v1/admin/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      const p = r.json<{ items: TenantView[]; next_cursor: string | null }>();
      ids.push(...p.items.map((i) => i.id));
      cursor = p.next_cursor;
    } while (cursor);
    for (const id of ['blue', 'green', 'default', 'tenant-a', 'tenant-b', 'ops']) assert.ok(ids.includes(id), id);
    assert.equal(new Set(ids).size, ids.length);
  });

  it('refuses to delete a tenant while it owns resources, then deletes it with its history', async () => {
    await admin('POST', '/api/v1/admin/tenants', { id: 'doomed' });
    const key = (await admin('POST', '/api/v1/admin/keys', { role: 'api', tenant_id: 'doomed' })).json<{ id: string }>();
    const sbx = await t.store.sandboxes.createSandbox(sandboxFor('doomed', t.clock.now()));
    await t.store.templates.putTemplate('doomed', 'py', { image: 'python' });

    const refused = await admin('DELETE', '/api/v1/admin/tenants/doomed');
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.json<ErrorBody>().error.details, { sandboxes: 1, tasks: 0, templates: 1, api_keys: 1 });

    await t.store.templates.deleteTemplate({ kind: 'tenant', tenantId: 'doomed' }, 'py');
    await admin('DELETE', `/api/v1/admin/keys/${key.id}`);
    assert.equal((await admin('DELETE', '/api/v1/admin/tenants/doomed')).status, 409, 'the live sandbox still holds it');
    await t.store.sandboxes.transitionSandbox(sbx.id, { from: ['pending'], to: 'failed', reason: 'test' });
    const stopped = await t.store.sandboxes.getSandbox({ kind: 'all' }, sbx.id);
    assert.equal(stopped?.state, 'failed');

    const deleted = await admin('DELETE', '/api/v1/admin/tenants/doomed');
    assert.equal(deleted.status, 200, deleted.text);
    assert.equal(deleted.json<TenantView>().id, 'doomed');
    assert.equal(await t.store.tenants.getTenant('doomed'), undefined);
    assert.equal(await t.store.sandboxes.getSandbox({ kind: 'all' }, sbx.id), undefined, 'its finished sandbox went with it');
    assert.equal((await admin('DELETE', '/api/v1/admin/tenants/doomed')).status, 404);
  });

  it("refuses to delete the bootstrap admin's tenant", async () => {
    const r = await admin('DELETE', `/api/v1/admin/tenants/${t.cp.auth.adminTenant}`);
    assert.equal(r.status, 409);
  });
});

describe('admin: quotas', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());
  const admin = (method: string, url: string, body?: unknown) => t.request(method, url, { key: t.keys.admin, body });

  it('a tenant without a quota is unlimited', async () => {
    const r = await admin('GET', '/api/v1/admin/tenants/tenant-a/quota');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), {
      tenant_id: 'tenant-a',
      max_sandboxes: null,
      max_cpu: null,
      max_memory_mb: null,
      max_ttl_ms: null,
      max_running_tasks: null,
      max_exec_timeout_ms: null,
    });
    assert.equal((await admin('GET', '/api/v1/admin/tenants/nope/quota')).status, 404);
    assert.equal((await admin('PUT', '/api/v1/admin/tenants/nope/quota', { max_sandboxes: 1 })).status, 404);
  });

  it('PUT sets the given fields, keeps the others, and null lifts a limit; cpu is in cores', async () => {
    const first = await admin('PUT', '/api/v1/admin/tenants/tenant-a/quota', { max_sandboxes: 5, max_cpu: 2.5, max_memory_mb: 4096 });
    assert.equal(first.status, 200);
    assert.equal(first.json().max_cpu, 2.5);
    assert.equal((await t.store.tenants.getQuota('tenant-a')).maxCpuMilli, 2500);
    const second = await admin('PUT', '/api/v1/admin/tenants/tenant-a/quota', { max_memory_mb: null, max_running_tasks: 3, max_ttl_ms: 60_000, max_exec_timeout_ms: 30_000 });
    assert.deepEqual(second.json(), {
      tenant_id: 'tenant-a',
      max_sandboxes: 5,
      max_cpu: 2.5,
      max_memory_mb: null,
      max_ttl_ms: 60_000,
      max_running_tasks: 3,
      max_exec_timeout_ms: 30_000,
    });
    assert.deepEqual((await admin('GET', '/api/v1/admin/tenants/tenant-a/quota')).json(), second.json());
    for (const body of [{ max_sandboxes: -1 }, { max_cpu: 'two' }, { max_ttl_ms: 0 }, { max_sandboxes: 1.5 }, { max_gpus: 1 }]) {
      assert.equal((await admin('PUT', '/api/v1/admin/tenants/tenant-a/quota', body)).status, 400, JSON.stringify(body));
    }
    assert.equal((await t.request('PUT', '/api/v1/admin/tenants/tenant-a/quota', { key: t.keys.operator, body: { max_sandboxes: 100 } })).status, 403);
  });

  it("GET /api/v1/quota shows any key its own tenant's limits and usage", async () => {
    await admin('PUT', '/api/v1/admin/tenants/tenant-b/quota', { max_sandboxes: 10, max_cpu: 8 });
    const now = t.clock.now();
    await t.store.sandboxes.createSandbox(sandboxFor('tenant-b', now));
    await t.store.sandboxes.createSandbox(sandboxFor('tenant-b', now));
    await t.store.sandboxes.createSandbox(sandboxFor('tenant-a', now));
    const kind = `k-${randomBytes(3).toString('hex')}`;
    await t.store.tasks.submitTask(taskFor('tenant-b', now, kind));
    await t.store.tasks.submitTask(taskFor('tenant-b', now, kind));
    await t.store.tasks.claimTasks({ workerId: 'w1', kinds: [kind], codeVersion: null, max: 1, leaseTtlMs: 30_000 });

    const b = await t.request('GET', '/api/v1/quota', { key: t.keys.apiB });
    assert.equal(b.status, 200);
    assert.deepEqual(b.json(), {
      tenant_id: 'tenant-b',
      quota: { max_sandboxes: 10, max_cpu: 8, max_memory_mb: null, max_ttl_ms: null, max_running_tasks: null, max_exec_timeout_ms: null },
      usage: { sandboxes: 2, cpu: 3, memory_mb: 1024, running_tasks: 1 },
    });
    // A viewer reads its own tenant; ?tenant= is an admin's privilege and is ignored for everyone else.
    const viewer = await t.request('GET', '/api/v1/quota?tenant=tenant-b', { key: t.keys.viewer });
    assert.equal(viewer.json<{ tenant_id: string }>().tenant_id, 'tenant-a');
    assert.equal(viewer.json<{ usage: { sandboxes: number } }>().usage.sandboxes, 1);
    const asAdmin = await t.request('GET', '/api/v1/quota?tenant=tenant-b', { key: t.keys.admin });
    assert.deepEqual(asAdmin.json(), b.json());
    assert.equal((await t.request('GET', '/api/v1/quota?tenant=nope', { key: t.keys.admin })).status, 404);
    assert.equal((await t.request('GET', '/api/v1/quota')).status, 401);
  });
});

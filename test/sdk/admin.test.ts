/** The SDK's administration namespaces against a real control plane over loopback HTTP. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, DroverApiError } from '../../src/sdk/index.js';
import { collect, sdkHarness, type SdkHarness } from './support.js';

describe('sdk: keys, worker tokens, tenants, quota, audit', () => {
  let s: SdkHarness;
  before(async () => {
    s = await sdkHarness();
  });
  after(() => s.close());

  it('keys: create shows the secret once, the key works, list never shows it, revoke stops it', async () => {
    const created = await s.admin.keys.create({ name: 'ci', role: 'api', tenant_id: 'acme' }, { idempotencyKey: 'ci-key-1' });
    assert.match(created.id, /^key_/);
    assert.match(created.key ?? '', /^drv_/);
    assert.equal(created.tenant_id, 'acme');

    const replay = await s.admin.keys.create({ name: 'ci', role: 'api', tenant_id: 'acme' }, { idempotencyKey: 'ci-key-1' });
    assert.equal(replay.id, created.id, 'a replay names the same key');
    assert.equal(replay.key, undefined, 'and never repeats the secret');

    const asAcme = createClient({ url: s.url, apiKey: created.key! });
    assert.equal((await asAcme.quota()).tenant_id, 'acme');

    const page = await s.admin.keys.list({ tenant: 'acme' });
    assert.deepEqual(page.items.map((k) => k.id), [created.id]);
    assert.ok(!JSON.stringify(page).includes(created.key!));

    const revoked = await s.admin.keys.revoke(created.id);
    assert.ok(revoked.revoked_at);
    await assert.rejects(asAcme.quota(), (err: unknown) => err instanceof DroverApiError && err.status === 401 && err.code === 'unauthorized');
  });

  it('worker tokens: create (secret once), list, revoke', async () => {
    const created = await s.admin.workerTokens.create({ worker_id: 'w-9', name: 'edge', scopes: ['worker:heartbeat'], ttl_ms: 3_600_000 });
    assert.match(created.token ?? '', /^dwt_/);
    assert.deepEqual(created.scopes, ['worker:heartbeat']);
    const listed = await collect(s.admin.workerTokens.all());
    const mine = listed.find((x) => x.id === created.id);
    assert.equal(mine?.worker_id, 'w-9');
    assert.ok(!JSON.stringify(listed).includes(created.token!));
    assert.ok((await s.admin.workerTokens.revoke(created.id)).revoked_at);
  });

  it('tenants: create, get, update, quota get/put (merge), delete', async () => {
    const t = await s.admin.tenants.create({ id: 'umbrella', name: 'Umbrella' });
    assert.equal(t.name, 'Umbrella');
    assert.equal((await s.admin.tenants.get('umbrella')).id, 'umbrella');
    assert.equal((await s.admin.tenants.update('umbrella', { name: 'Umbrella Corp' })).name, 'Umbrella Corp');

    const q0 = await s.admin.tenants.getQuota('umbrella');
    assert.equal(q0.max_sandboxes, null);
    await s.admin.tenants.putQuota('umbrella', { max_sandboxes: 3, max_cpu: 1.5 });
    const q1 = await s.admin.tenants.putQuota('umbrella', { max_memory_mb: 2048 });
    assert.deepEqual([q1.max_sandboxes, q1.max_cpu, q1.max_memory_mb], [3, 1.5, 2048], 'PUT merges');

    const own = await s.admin.quota({ tenant: 'umbrella' });
    assert.equal(own.quota.max_sandboxes, 3);
    assert.deepEqual(own.usage, { sandboxes: 0, cpu: 0, memory_mb: 0, running_tasks: 0 });

    assert.equal((await s.admin.tenants.delete('umbrella')).id, 'umbrella');
    await assert.rejects(s.admin.tenants.get('umbrella'), (err: unknown) => err instanceof DroverApiError && err.code === 'not_found' && err.status === 404);
  });

  it('pagination: list pages with next_cursor; all() walks every page', async () => {
    for (let i = 0; i < 5; i++) await s.admin.tenants.create({ id: `page-${i}` });
    const first = await s.admin.tenants.list({ limit: 2 });
    assert.equal(first.items.length, 2);
    assert.ok(first.next_cursor);
    const second = await s.admin.tenants.list({ limit: 2, cursor: first.next_cursor! });
    assert.notDeepEqual(second.items.map((x) => x.id), first.items.map((x) => x.id));

    const everything = await collect(s.admin.tenants.all({ limit: 2 }));
    const ids = everything.map((x) => x.id);
    assert.equal(new Set(ids).size, ids.length, 'no tenant twice');
    for (let i = 0; i < 5; i++) assert.ok(ids.includes(`page-${i}`));
    const onePage = await s.admin.tenants.list({ limit: 1000 });
    assert.deepEqual(ids, onePage.items.map((x) => x.id), 'all() yields what one big page holds, in order');
  });

  it('audit: JSON pages with filters, and CSV with the next cursor from the header', async () => {
    const page = await s.admin.audit.list({ action: 'admin.tenants.create', limit: 2 });
    assert.equal(page.items.length, 2);
    assert.ok(page.items.every((r) => r.action === 'admin.tenants.create' && r.outcome === 'ok'));
    assert.ok(page.next_cursor);

    const csv = await s.admin.audit.csv({ action: 'admin.tenants.create', limit: 2 });
    const lines = csv.csv.trimEnd().split('\r\n');
    assert.equal(lines[0], 'id,at,actor_type,actor_id,tenant_id,action,resource_type,resource_id,outcome,request_id,remote_addr,details');
    assert.equal(lines.length, 3);
    assert.equal(csv.next_cursor, page.next_cursor);
    const all = await collect(s.admin.audit.all({ action: 'admin.tenants.create' }));
    assert.ok(all.length >= 6);
  });

  it('errors: an API error is a DroverApiError with code, status, details and the request id', async () => {
    const err = await s.viewer.keys.list().then(
      () => assert.fail('a viewer may not list keys'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DroverApiError);
    assert.equal(err.status, 403);
    assert.equal(err.code, 'forbidden');
    assert.ok(err.requestId && err.requestId.length > 0, 'the request id is carried');

    const bad = await s.admin.tenants.create({ id: 'Not Valid' }).catch((e: unknown) => e);
    assert.ok(bad instanceof DroverApiError);
    assert.equal(bad.code, 'bad_request');
    assert.ok(bad.details, 'per-field details come along');

    const conflict = await s.admin.tenants.create({ id: 'page-0' }).catch((e: unknown) => e);
    assert.ok(conflict instanceof DroverApiError && conflict.code === 'conflict' && conflict.status === 409);
  });
});

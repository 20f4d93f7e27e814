/** The SDK's system, worker, lease, sandbox and template namespaces against a real control plane. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient, DroverApiError, DroverConnectionError } from '../../src/sdk/index.js';
import { collect, sdkHarness, type SdkHarness } from './support.js';

describe('sdk: system, workers, leases, sandboxes, templates', () => {
  let s: SdkHarness;
  before(async () => {
    s = await sdkHarness();
    await s.h.addWorker({ id: 'w-1', labels: { zone: 'a' } });
    await s.h.addWorker({ id: 'w-2', labels: { zone: 'b' } });
  });
  after(() => s.close());

  it('health and ready need no key; diagnostics needs operate', async () => {
    assert.deepEqual(await s.anonymous.health(), { status: 'ok' });
    const ready = await s.anonymous.ready();
    assert.equal(ready.status, 'ready');
    const d = await s.operator.diagnostics();
    assert.equal(d.replica_id, 'cp-test');
    assert.equal(d.workers?.total, 2);
    await assert.rejects(s.apiA.diagnostics(), (e: unknown) => e instanceof DroverApiError && e.code === 'forbidden');
  });

  it('ready() returns the not-ready answer (503) instead of throwing', async () => {
    // A stand-in server: the client must not need a broken store to see this path.
    const fake: typeof fetch = async () => new Response(JSON.stringify({ status: 'not_ready', store: 'unreachable' }), { status: 503, headers: { 'content-type': 'application/json' } });
    const ready = await createClient({ url: s.url, fetch: fake }).ready();
    assert.deepEqual(ready, { status: 'not_ready', store: 'unreachable' });
  });

  it('an unreachable control plane is a DroverConnectionError', async () => {
    const nowhere = createClient({ url: 'http://127.0.0.1:1', apiKey: 'drv_x' });
    await assert.rejects(nowhere.health(), (e: unknown) => e instanceof DroverConnectionError && /127\.0\.0\.1:1/.test(e.message));
  });

  it('sandboxes: admission, create (idempotent), get, list with filters, extend, delete', async () => {
    const spec = { cpu: 0.5, memory_mb: 256, labels: { app: 'web' }, selector: { zone: 'a' }, env: { SECRET: 'hunter2' } };
    const adm = await s.apiA.sandboxes.admission(spec);
    assert.equal(adm.allowed, true);
    assert.equal(adm.selected_worker_id, 'w-1');

    const sbx = await s.apiA.sandboxes.create(spec, { idempotencyKey: 'web-1' });
    assert.equal(sbx.state, 'running');
    assert.equal(sbx.worker_id, 'w-1');
    assert.deepEqual(sbx.env_keys, ['SECRET']);
    const again = await s.apiA.sandboxes.create(spec, { idempotencyKey: 'web-1' });
    assert.equal(again.id, sbx.id, 'the same idempotency key returns the same sandbox');
    await assert.rejects(s.apiA.sandboxes.create({ ...spec, cpu: 1 }, { idempotencyKey: 'web-1' }), (e: unknown) => e instanceof DroverApiError && e.status === 409);

    assert.equal((await s.apiA.sandboxes.get(sbx.id)).id, sbx.id);
    await assert.rejects(s.apiB.sandboxes.get(sbx.id), (e: unknown) => e instanceof DroverApiError && e.code === 'not_found', "another tenant's sandbox is a 404");
    assert.equal((await s.admin.sandboxes.get(sbx.id, { tenant: 'tenant-a' })).id, sbx.id);

    const other = await s.apiA.sandboxes.create({ labels: { app: 'db' }, wait: false });
    const web = await s.apiA.sandboxes.list({ label: { app: 'web' } });
    assert.deepEqual(web.items.map((x) => x.id), [sbx.id]);
    const onW1 = await collect(s.apiA.sandboxes.all({ worker_id: 'w-1', state: 'running' }));
    assert.ok(onW1.some((x) => x.id === sbx.id));
    const everything = await collect(s.apiA.sandboxes.all({ limit: 1 }));
    assert.deepEqual(new Set(everything.map((x) => x.id)), new Set([sbx.id, other.id]));

    const extended = await s.apiA.sandboxes.extend(sbx.id, { ttl_ms: 7_200_000 });
    assert.equal(extended.ttl_ms, 7_200_000);
    const gone = await s.apiA.sandboxes.delete(sbx.id);
    assert.ok(['stopping', 'stopped'].includes(gone.state), gone.state);
    await s.apiA.sandboxes.delete(other.id);
  });

  it('templates: create, list, get, put, spawn, delete', async () => {
    const t = await s.apiA.templates.create({ name: 'node', spec: { image: 'node:22', memory_mb: 256 } });
    assert.equal(t.tenant_id, 'tenant-a');
    await assert.rejects(s.apiA.templates.create({ name: 'node', spec: {} }), (e: unknown) => e instanceof DroverApiError && e.code === 'conflict');
    assert.deepEqual((await s.apiA.templates.list()).items.map((x) => x.name), ['node']);
    assert.equal((await s.apiA.templates.get('node')).spec.image, 'node:22');
    assert.deepEqual((await s.apiA.templates.put('node', { spec: { image: 'node:24' } })).spec, { image: 'node:24' });
    const spawned = await s.apiA.templates.spawn('node', { labels: { from: 'tpl' } }, { idempotencyKey: 'spawn-1' });
    assert.equal(spawned.template, 'node');
    assert.equal(spawned.image, 'node:24');
    assert.equal((await s.apiA.templates.spawn('node', { labels: { from: 'tpl' } }, { idempotencyKey: 'spawn-1' })).id, spawned.id);
    await s.apiA.sandboxes.delete(spawned.id);
    assert.equal(await s.apiA.templates.delete('node'), undefined);
    await assert.rejects(s.apiA.templates.get('node'), (e: unknown) => e instanceof DroverApiError && e.status === 404);
  });

  it('workers: list, get, cordon, uncordon, drain; admin repair heartbeat and delete', async () => {
    const listed = await s.viewer.workers.list();
    assert.deepEqual(listed.items.map((w) => w.id).sort(), ['w-1', 'w-2']);
    assert.ok(!JSON.stringify(listed).includes(s.h.workers[0]!.secret), 'the rpc secret is never shown');
    assert.equal((await collect(s.viewer.workers.all({ limit: 1 }))).length, 2);

    const detail = await s.operator.workers.get('w-1');
    assert.equal(detail.id, 'w-1');
    assert.ok(Array.isArray(detail.sandboxes) && Array.isArray(detail.leases));

    assert.equal((await s.operator.workers.cordon('w-2')).cordoned, true);
    await assert.rejects(s.apiA.workers.cordon('w-2'), (e: unknown) => e instanceof DroverApiError && e.code === 'forbidden');
    assert.equal((await s.operator.workers.uncordon('w-2')).cordoned, false);
    const draining = await s.operator.workers.drain('w-2', { deadline_ms: 60_000 });
    assert.ok(draining.drain, 'the drain is recorded');
    assert.equal(draining.drain?.migrate, true);

    const repaired = await s.admin.workers.repairHeartbeat('w-1');
    assert.equal(repaired.id, 'w-1');

    // w-1 holds a sandbox: delete is refused without force.
    const busy = await s.apiA.sandboxes.create({ selector: { zone: 'a' } });
    const refused = await s.admin.workers.delete('w-1').catch((e: unknown) => e);
    assert.ok(refused instanceof DroverApiError && refused.code === 'conflict', String(refused));
    assert.ok(refused.requestId);

    const leases = await s.admin.leases.list({ holder: 'w-1', resource_type: 'sandbox', expired: false });
    assert.deepEqual(leases.items.map((l) => l.resource_id), [busy.id]);
    assert.ok((await collect(s.admin.leases.all({ expired: true }))).every((l) => l.expired));
    await assert.rejects(s.operator.leases.list(), (e: unknown) => e instanceof DroverApiError && e.code === 'forbidden');

    const forced = await s.admin.workers.delete('w-1', { force: true });
    assert.equal(forced.deleted, true);
    assert.ok(forced.leases_expired >= 1);
    const deleted = await s.admin.workers.delete('w-2');
    assert.equal(deleted.id, 'w-2');
    assert.deepEqual((await s.admin.workers.list()).items, []);
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toRfc3339 } from '../../../src/domain/clock.js';
import { livenessTick } from '../../../src/control-plane/loops/liveness.js';
import { startTestControlPlane, type TestControlPlane } from '../support/harness.js';
import { eventTypes, heartbeat, placeSandbox, sandbox } from './fixtures.js';

type WorkerBody = {
  id: string;
  status: string;
  stale: boolean;
  last_heartbeat: string;
  capacity: { cpu: number; memory_mb: number; disk_mb: number; max_sandboxes: number };
  allocated: { cpu: number; memory_mb: number; disk_mb: number; sandboxes: number };
  sandboxes?: { id: string; state: string; generation: number }[];
  leases?: { resource_type: string; resource_id: string; holder_id: string; expired: boolean }[];
};
type List<T> = { items: T[]; next_cursor: string | null };
type ErrorBody = { error: { code: string; details?: Record<string, unknown> } };

describe('worker registry reads', () => {
  let t: TestControlPlane;
  before(async () => {
    t = await startTestControlPlane();
    await heartbeat(t, 'rg-1', { capacity: { cpu: 3.5, memory_mb: 4096, disk_mb: 1000, max_sandboxes: 4 } });
    await heartbeat(t, 'rg-2');
  });
  after(() => t.close());

  it('lists workers with cpu in cores, paginated', async () => {
    await placeSandbox(t, 'rg-1');
    const first = await t.request('GET', '/api/v1/workers?limit=1', { key: t.keys.viewer });
    assert.equal(first.status, 200);
    const page = first.json<List<WorkerBody>>();
    assert.equal(page.items.length, 1);
    assert.equal(page.items[0]?.id, 'rg-1');
    assert.deepEqual(page.items[0]?.capacity, { cpu: 3.5, memory_mb: 4096, disk_mb: 1000, max_sandboxes: 4 });
    assert.deepEqual(page.items[0]?.allocated, { cpu: 0.5, memory_mb: 512, disk_mb: 512, sandboxes: 1 });
    assert.equal(page.items[0]?.last_heartbeat, toRfc3339(t.clock.now()));
    assert.ok(page.next_cursor);
    const second = (await t.request('GET', `/api/v1/workers?limit=1&cursor=${page.next_cursor}`, { key: t.keys.viewer })).json<List<WorkerBody>>();
    assert.deepEqual([second.items.map((w) => w.id), second.next_cursor], [['rg-2'], null]);
    assert.equal((await t.request('GET', '/api/v1/workers?limit=0', { key: t.keys.viewer })).status, 400);
    assert.equal((await t.request('GET', '/api/v1/workers')).status, 401);
  });

  it("one worker with its sandboxes and live leases; a tenant sees only its own sandboxes' share", async () => {
    const mine = await placeSandbox(t, 'rg-2', { tenant: 'tenant-a' });
    const theirs = await placeSandbox(t, 'rg-2', { tenant: 'tenant-b' });
    await t.store.leases.acquireLease({ type: 'task', id: 'tsk_rg' }, 'rg-2', 60_000);
    const asOperator = (await t.request('GET', '/api/v1/workers/rg-2', { key: t.keys.operator })).json<WorkerBody>();
    assert.deepEqual(asOperator.sandboxes?.map((s) => s.id).sort(), [mine.id, theirs.id].sort());
    assert.deepEqual(asOperator.leases?.map((l) => l.resource_id).sort(), [mine.id, theirs.id, 'tsk_rg'].sort());
    const asTenant = (await t.request('GET', '/api/v1/workers/rg-2', { key: t.keys.apiA })).json<WorkerBody>();
    assert.deepEqual(asTenant.sandboxes, [{ id: mine.id, state: 'running', generation: 1 }]);
    assert.deepEqual(asTenant.leases?.map((l) => l.resource_id), [mine.id]);
    assert.equal((await t.request('GET', '/api/v1/workers/rg-none', { key: t.keys.viewer })).status, 404);
  });
});

describe('admin: delete a worker', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('refused while it holds live leases; forced, it fences and fails or re-places its work', async () => {
    await heartbeat(t, 'del-1');
    const restartable = await placeSandbox(t, 'del-1', { restart: true });
    const plain = await placeSandbox(t, 'del-1');
    assert.equal((await t.request('DELETE', '/api/v1/admin/workers/del-1', { key: t.keys.operator })).status, 403);
    const refused = await t.request('DELETE', '/api/v1/admin/workers/del-1', { key: t.keys.admin });
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.json<ErrorBody>().error.details, { live_leases: 2, sandboxes: 2 });
    assert.equal((await t.store.workers.getWorker('del-1'))?.status, 'online');

    const forced = await t.request('DELETE', '/api/v1/admin/workers/del-1?force=true', { key: t.keys.admin });
    assert.equal(forced.status, 200);
    assert.deepEqual(forced.json(), { id: 'del-1', deleted: true, leases_expired: 2, sandboxes_replaced: [restartable.id], sandboxes_failed: [plain.id], sandboxes_stopped: [] });
    assert.equal(await t.store.workers.getWorker('del-1'), undefined);
    assert.equal((await sandbox(t, restartable.id)).state, 'pending');
    assert.deepEqual([(await sandbox(t, plain.id)).state, (await sandbox(t, plain.id)).stateReason], ['failed', 'worker_lost']);
    assert.equal(await t.store.leases.countLiveLeases('del-1'), 0);
    assert.equal((await t.request('GET', '/api/v1/workers/del-1', { key: t.keys.admin })).status, 404);
    assert.ok((await eventTypes(t)).includes('worker.deleted'));
    const audit = await t.store.audit.list({ kind: 'all' }, { action: 'admin.workers.delete' }, { limit: 10 });
    assert.deepEqual(audit.items.map((a) => a.outcome).sort(), ['denied', 'error', 'ok']);
  });

  it('a worker holding nothing is deleted without force; an unknown one is 404', async () => {
    await heartbeat(t, 'del-2');
    assert.equal((await t.request('DELETE', '/api/v1/admin/workers/del-2', { key: t.keys.admin })).status, 200);
    assert.equal((await t.request('DELETE', '/api/v1/admin/workers/del-2', { key: t.keys.admin })).status, 404);
    assert.equal((await t.request('DELETE', '/api/v1/admin/workers/del-2?force=maybe', { key: t.keys.admin })).status, 400);
  });
});

describe('admin: heartbeat registry repair', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('bumps the heartbeat and brings a stale or lost worker back online', async () => {
    await heartbeat(t, 'rp-1');
    await heartbeat(t, 'rp-2');
    t.clock.advance(16_000);
    await livenessTick(t.cp);
    assert.equal((await t.store.workers.getWorker('rp-1'))?.status, 'stale');
    assert.equal((await t.request('POST', '/api/v1/admin/workers/rp-1/heartbeat', { key: t.keys.operator })).status, 403);
    const r = await t.request('POST', '/api/v1/admin/workers/rp-1/heartbeat', { key: t.keys.admin });
    assert.equal(r.status, 200);
    assert.deepEqual([r.json<WorkerBody>().status, r.json<WorkerBody>().stale, r.json<WorkerBody>().last_heartbeat], ['online', false, toRfc3339(t.clock.now())]);
    // The repaired heartbeat counts: rp-1 gets a fresh window, rp-2 does not.
    t.clock.advance(15_000);
    await livenessTick(t.cp);
    assert.equal((await t.store.workers.getWorker('rp-1'))?.status, 'online');
    assert.equal((await t.store.workers.getWorker('rp-2'))?.status, 'lost');
    const back = await t.request('POST', '/api/v1/admin/workers/rp-2/heartbeat', { key: t.keys.admin });
    assert.equal(back.json<WorkerBody>().status, 'online');
    assert.ok((await eventTypes(t)).includes('worker.online'));
    assert.equal((await t.request('POST', '/api/v1/admin/workers/rp-none/heartbeat', { key: t.keys.admin })).status, 404);
  });
});

describe('admin: list leases', () => {
  let t: TestControlPlane;
  before(async () => {
    t = await startTestControlPlane();
    await heartbeat(t, 'ls-1');
    await heartbeat(t, 'ls-2');
  });
  after(() => t.close());

  it('filters by holder, resource type and expiry, and paginates', async () => {
    const a = await placeSandbox(t, 'ls-1');
    const b = await placeSandbox(t, 'ls-2');
    await t.store.leases.acquireLease({ type: 'task', id: 'tsk_1' }, 'ls-1', 1_000);
    t.clock.advance(1_000);
    const get = (q: string) => t.request('GET', `/api/v1/leases${q}`, { key: t.keys.admin });
    const ids = async (q: string) => (await get(q)).json<List<{ resource_id: string }>>().items.map((l) => l.resource_id).sort();
    assert.deepEqual(await ids('?holder=ls-1'), [a.id, 'tsk_1'].sort());
    assert.deepEqual(await ids('?resource_type=sandbox'), [a.id, b.id].sort());
    assert.deepEqual(await ids('?expired=true'), ['tsk_1']);
    assert.deepEqual(await ids('?expired=false&holder=ls-1'), [a.id]);
    const one = (await get('?limit=1&resource_type=sandbox')).json<List<{ resource_id: string; expired: boolean }>>();
    assert.equal(one.items.length, 1);
    assert.equal(one.items[0]?.expired, false);
    const rest = (await get(`?limit=1&resource_type=sandbox&cursor=${one.next_cursor}`)).json<List<{ resource_id: string }>>();
    assert.deepEqual([...one.items, ...rest.items].map((l) => l.resource_id).sort(), [a.id, b.id].sort());
    assert.equal(rest.next_cursor, null);
    assert.equal((await get('?expired=yes')).status, 400);
    assert.equal((await t.request('GET', '/api/v1/leases', { key: t.keys.operator })).status, 403);
  });
});

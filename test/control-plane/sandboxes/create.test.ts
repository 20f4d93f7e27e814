/** POST /api/v1/sandboxes through the real HTTP RPC client to fake workers on loopback. */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import { pendingTick } from '../../../src/control-plane/loops/sandboxes.js';
import type { SpawnParams } from '../../../src/protocol/rpc.js';
import { sandboxHarness, type ErrorBody, type SandboxHarness, type View } from './support.js';

const get = async (h: SandboxHarness, id: string) => (await h.t.request('GET', `/api/v1/sandboxes/${id}`, { key: h.t.keys.apiA })).json<View>();

describe('sandboxes: create → running', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await sandboxHarness();
    await h.addWorker({ id: 'w-1', providers: ['process', 'bwrap'], labels: { zone: 'a' } });
  });
  after(() => h.close());

  it('places, spawns under the lease over HTTP, and answers 201 running', async () => {
    const res = await h.create({ image: 'ubuntu:24.04', cpu: 0.5, memory_mb: 256, env: { TOKEN: 'hunter2' }, labels: { app: 'web' }, metadata: { owner: 'me' } });
    assert.equal(res.status, 201, res.text);
    const s = res.json<View>();
    assert.equal(s.state, 'running');
    assert.equal(s.worker_id, 'w-1');
    assert.equal(s.provider, 'bwrap', 'auto prefers bwrap where the worker offers it');
    assert.equal(s.provider_requested, 'auto');
    assert.equal(s.lease_generation, 1);
    assert.match(String(s.runtime_id), /^rt-w-1-/);
    assert.deepEqual(s.resources, { cpu: 0.5, memory_mb: 256, disk_mb: 1024, pids: null });
    assert.deepEqual(s.env_keys, ['TOKEN']);
    assert.ok(!res.text.includes('hunter2'), 'env values are never returned');
    assert.deepEqual(s.capabilities, ['limits:rlimit']);
    assert.ok(s.started_at);
    assert.equal(s.ttl_ms, h.t.config.sandboxes.default_ttl);

    const [spawn] = h.workers[0]!.callsOf('worker.spawn');
    const params = spawn!.params as SpawnParams;
    assert.equal(params.sandbox_id, s.id);
    assert.equal(params.tenant_id, 'tenant-a');
    assert.equal(params.provider, 'bwrap');
    assert.deepEqual(params.spec, { image: 'ubuntu:24.04', cpu: 0.5, memory_mb: 256, disk_mb: 1024, env: { TOKEN: 'hunter2' }, network: 'none' });
    assert.equal(spawn!.lease?.holder_id, 'w-1');
    assert.equal(spawn!.lease?.generation, 1);
    assert.equal(Date.parse(spawn!.lease!.expires_at), h.t.clock.now() + h.t.config.workers.lost_after);

    const worker = await h.t.store.workers.getWorker('w-1');
    assert.deepEqual(worker?.allocated, { cpuMilli: 500, memoryMb: 256, diskMb: 1024, sandboxes: 1 });
    const events = await h.t.store.events.listEvents({ kind: 'all' }, { afterSeq: 0, limit: 100 });
    assert.deepEqual(events.filter((e) => e.resourceId === s.id).map((e) => e.type), ['sandbox.created', 'sandbox.starting', 'sandbox.running']);
    const metrics = await h.t.cp.metrics.registry.metrics();
    assert.match(metrics, /drover_placements_total\{outcome="placed"\} 1/);
    assert.match(metrics, /drover_sandbox_create_duration_seconds_count\{provider="bwrap"\} 1/);
  });

  it('records the service and its resolved port; a worker answering starting leaves it starting', async () => {
    h.workers[0]!.spawnState = 'starting';
    try {
      const res = await h.create({ service: { command: ['node', 'server.js'], port: 'auto' }, wait: false });
      assert.equal(res.status, 201, res.text);
      const id = res.json<View>().id;
      assert.equal(res.json<View>().state, 'starting', 'wait: false answers once placed');
      // The background spawn has answered once the worker has recorded it.
      for (let i = 0; i < 100 && (await get(h, id)).runtime_id === null; i++) await new Promise((r) => setTimeout(r, 10));
      const s = await get(h, id);
      assert.equal(s.state, 'starting');
      assert.deepEqual(s.service, { command: ['node', 'server.js'], port: 40_000 + Number(String(s.runtime_id).split('-').pop()) + 1 });
    } finally {
      h.workers[0]!.spawnState = 'running';
    }
  });

  it('an explicit provider the fleet lacks is rejected with the reason (wait: false → 503 at once)', async () => {
    const res = await h.create({ provider: 'mock', wait: false });
    assert.equal(res.status, 503);
    const e = res.json<ErrorBody>().error;
    assert.equal(e.code, 'no_capacity');
    assert.equal(e.details?.reason, 'provider_unsupported');
    const failed = await get(h, String(e.details?.sandbox_id));
    assert.equal(failed.state, 'failed');
    assert.equal(failed.state_reason, 'provider_unsupported');
  });

  it('validates the body: unknown fields, bad values, public ports outside ports, ttl over the max', async () => {
    for (const body of [{ nope: 1 }, { cpu: -1 }, { network: 'bridge' }, { env: { 'BAD-NAME': 'x' } }, { ports: [80], public_ports: [81] }, { ttl_ms: h.t.config.sandboxes.max_ttl + 1 }]) {
      const res = await h.create(body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json<ErrorBody>().error.code, 'bad_request');
    }
    assert.equal((await h.create({ ports: [80, 81], public_ports: [81], wait: false })).status, 201);
  });

  it('needs the write scope', async () => {
    assert.equal((await h.create({}, { key: h.t.keys.viewer })).status, 403);
    assert.equal((await h.t.request('POST', '/api/v1/sandboxes', { body: {} })).status, 401);
  });
});

describe('sandboxes: no capacity, queueing and worker refusals', () => {
  let h: SandboxHarness;
  beforeEach(async () => {
    // K = 1: strict best-fit, so which worker is tried first is known.
    h = await sandboxHarness({ config: { 'scheduler.sample': 1 } });
  });
  afterEach(() => h.close());

  it('wait: true with no room → pending (with the reason), then failed at queue_timeout → 503 no_capacity', async () => {
    await h.addWorker({ id: 'small', capacity: { max_sandboxes: 1 } });
    assert.equal((await h.create({})).status, 201);
    const waiting = h.create({});
    let pending: View | undefined;
    for (let i = 0; i < 200 && !pending; i++) {
      const list = (await h.t.request('GET', '/api/v1/sandboxes?state=pending', { key: h.t.keys.apiA })).json<{ items: View[] }>();
      pending = list.items.find((s) => s.state_reason === 'insufficient_capacity');
      if (!pending) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(pending, 'the second create waits in pending, saying why');
    assert.ok(pending.queued_until);

    // Before the deadline a tick leaves it waiting; past it, the tick fails it with the reason.
    assert.deepEqual(await pendingTick(h.t.cp), { placed: 0, failed: 0, waiting: 1 });
    h.t.clock.advance(h.t.config.sandboxes.queue_timeout);
    await h.heartbeatAll();
    assert.deepEqual(await pendingTick(h.t.cp), { placed: 0, failed: 1, waiting: 0 });
    const res = await waiting;
    assert.equal(res.status, 503);
    assert.equal(res.json<ErrorBody>().error.code, 'no_capacity');
    assert.equal(res.json<ErrorBody>().error.details?.reason, 'insufficient_capacity');
    assert.equal(res.json<ErrorBody>().error.details?.sandbox_id, pending.id);
    assert.equal((await get(h, pending.id)).state, 'failed');
  });

  it('a queued sandbox is placed by the pending loop once capacity frees up', async () => {
    await h.addWorker({ id: 'small', capacity: { max_sandboxes: 1 } });
    const first = (await h.create({})).json<View>();
    const waiting = h.create({});
    for (let i = 0; i < 200 && (await pendingCount(h)) === 0; i++) await new Promise((r) => setTimeout(r, 5));
    assert.equal((await h.t.request('DELETE', `/api/v1/sandboxes/${first.id}`, { key: h.t.keys.apiA })).status, 200);
    await pendingTick(h.t.cp);
    const res = await waiting;
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json<View>().state, 'running');
    assert.equal(res.json<View>().worker_id, 'small');
  });

  it('no worker at all: wait: false answers 503 no_eligible_worker at once', async () => {
    const res = await h.create({ wait: false });
    assert.equal(res.status, 503);
    assert.equal(res.json<ErrorBody>().error.details?.reason, 'no_eligible_worker');
    assert.equal(res.json<ErrorBody>().error.details?.eligible_workers, 0);
  });

  it('a worker that refuses (draining) is left for another; the sandbox runs there', async () => {
    const a = await h.addWorker({ id: 'a', capacity: { max_sandboxes: 5 } });
    a.refuseSpawns('draining');
    // binpack with K = 1 prefers the fuller worker: make b emptier so a is tried first.
    const b = await h.addWorker({ id: 'b', capacity: { max_sandboxes: 50, cpu: 64, memory_mb: 65536, disk_mb: 200000 } });
    const res = await h.create({});
    assert.equal(res.status, 201, res.text);
    assert.equal(res.json<View>().worker_id, 'b');
    assert.equal(res.json<View>().lease_generation, 2, 'a new placement, a new generation');
    assert.equal(a.callsOf('worker.spawn')[0]?.outcome, 'draining');
    assert.equal(b.callsOf('worker.spawn').length, 1);
    assert.equal((await h.t.store.workers.getWorker('a'))?.allocated.sandboxes, 0, 'the refused reservation was released');
  });

  it('a spawn answer that arrives after the sandbox was deleted changes nothing', async () => {
    const w = await h.addWorker({ id: 'slow' });
    w.hang('worker.spawn');
    const res = await h.create({ wait: false });
    assert.equal(res.status, 201);
    const id = res.json<View>().id;
    const deleted = await h.t.request('DELETE', `/api/v1/sandboxes/${id}`, { key: h.t.keys.apiA });
    assert.equal(deleted.json<View>().state, 'stopped');
    w.releaseHung();
    for (let i = 0; i < 200 && w.callsOf('worker.spawn').length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    const s = await get(h, id);
    assert.equal(s.state, 'stopped');
    assert.equal(s.runtime_id, null, 'the late spawn answer was not recorded');
    assert.equal((await h.t.store.workers.getWorker('slow'))?.allocated.sandboxes, 0);
  });

  it('a spawn failure fails the sandbox: 503 worker_unavailable with the reason, capacity released', async () => {
    const w = await h.addWorker({ id: 'w' });
    w.failNext('worker.spawn', 'spawn_failed', 'image not found');
    const res = await h.create({ image: 'nope' });
    assert.equal(res.status, 503);
    const e = res.json<ErrorBody>().error;
    assert.equal(e.code, 'worker_unavailable');
    assert.match(String(e.details?.reason), /^spawn_failed: .*image not found/);
    const s = await get(h, String(e.details?.sandbox_id));
    assert.equal(s.state, 'failed');
    assert.equal((await h.t.store.workers.getWorker('w'))?.allocated.sandboxes, 0);
  });

  it('a worker with a wrong rpc secret is unreachable for the control plane, and the sandbox is re-queued', async () => {
    const w = await h.addWorker({ id: 'w' });
    // The control plane holds a secret the worker no longer accepts (as after a worker restart).
    const r = (await h.t.store.workers.getWorker('w'))!;
    await h.t.store.workers.recordHeartbeat({ ...r, status: 'online', rpcSecret: 'not-the-secret-0123456789' });
    const res = await h.create({ wait: false });
    assert.equal(res.status, 201);
    const id = res.json<View>().id;
    for (let i = 0; i < 200 && (await get(h, id)).state === 'starting'; i++) await new Promise((r) => setTimeout(r, 5));
    const s = await get(h, id);
    assert.equal(s.state, 'pending');
    assert.match(String(s.state_reason), /^spawn_refused/);
    assert.equal(w.unauthorizedCalls, 1);
  });
});

async function pendingCount(h: SandboxHarness): Promise<number> {
  return (await h.t.request('GET', '/api/v1/sandboxes?state=pending', { key: h.t.keys.apiA })).json<{ items: View[] }>().items.length;
}

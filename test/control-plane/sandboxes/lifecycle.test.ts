/** Ending and extending sandboxes: DELETE, extend, the TTL reaper, quotas. */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { reaperTick } from '../../../src/control-plane/loops/sandboxes.js';
import type { DestroyParams } from '../../../src/protocol/rpc.js';
import { sandboxHarness, type ErrorBody, type SandboxHarness, type View } from './support.js';

const HOUR = 3_600_000;

describe('sandboxes: delete, extend, TTL, quota', () => {
  let h: SandboxHarness;
  beforeEach(async () => {
    // Leases outlive the TTLs these tests move the clock across (the fake worker does not renew).
    h = await sandboxHarness({ config: { 'workers.lost_after': 48 * HOUR, 'workers.stale_after': 48 * HOUR } });
    await h.addWorker({ id: 'w', capacity: { max_sandboxes: 2 } });
  });
  afterEach(() => h.close());

  const del = (id: string, key = h.t.keys.apiA) => h.t.request('DELETE', `/api/v1/sandboxes/${id}`, { key });
  const extend = (id: string, ttl_ms: number) => h.t.request('POST', `/api/v1/sandboxes/${id}/extend`, { key: h.t.keys.apiA, body: { ttl_ms } });

  it('DELETE destroys on the worker under the lease, answers the final record, and is idempotent', async () => {
    const s = (await h.create({})).json<View>();
    const first = await del(s.id);
    assert.equal(first.status, 200);
    const stopped = first.json<View>();
    assert.equal(stopped.state, 'stopped');
    assert.equal(stopped.state_reason, 'deleted');
    assert.ok(stopped.ended_at);
    const [destroy] = h.workers[0]!.callsOf('worker.destroy');
    assert.deepEqual(destroy?.params as DestroyParams, { sandbox_id: s.id, runtime_id: s.runtime_id });
    assert.equal(destroy?.lease?.generation, s.lease_generation);
    assert.equal(destroy?.outcome, 'ok');
    assert.equal(h.workers[0]!.runtimes.size, 0);
    assert.equal((await h.t.store.workers.getWorker('w'))?.allocated.sandboxes, 0);
    const lease = await h.t.store.leases.getLease({ type: 'sandbox', id: s.id });
    assert.ok(lease && lease.expiresAt <= h.t.clock.now(), 'the lease ended with the sandbox');

    const again = await del(s.id);
    assert.equal(again.status, 200);
    assert.deepEqual(again.json(), first.json());
    assert.equal(h.workers[0]!.callsOf('worker.destroy').length, 1, 'nothing more to destroy');
    const types = (await h.t.store.events.listEvents({ kind: 'all' }, { afterSeq: 0, limit: 100 })).filter((e) => e.resourceId === s.id).map((e) => e.type);
    assert.deepEqual(types.slice(-2), ['sandbox.stopping', 'sandbox.stopped']);
  });

  it('deleting a pending sandbox just stops it (no worker call)', async () => {
    await h.create({});
    await h.create({});
    const waiting = h.create({ wait: true });
    let id: string | undefined;
    for (let i = 0; i < 200 && !id; i++) {
      id = (await h.t.request('GET', '/api/v1/sandboxes?state=pending', { key: h.t.keys.apiA })).json<{ items: View[] }>().items[0]?.id;
      if (!id) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(id);
    const res = await del(id);
    assert.equal(res.json<View>().state, 'stopped');
    assert.equal(h.workers[0]!.callsOf('worker.destroy').length, 0);
    const answered = await waiting;
    assert.equal(answered.status, 201, 'the waiting create answers with the stopped record');
    assert.equal(answered.json<View>().state, 'stopped');
  });

  it('a worker that cannot be reached does not block the delete; the record ends anyway', async () => {
    const s = (await h.create({})).json<View>();
    h.workers[0]!.failNext('worker.destroy', 'internal', 'disk on fire');
    const res = await del(s.id);
    assert.equal(res.json<View>().state, 'stopped');
    assert.equal((await h.t.store.workers.getWorker('w'))?.allocated.sandboxes, 0);
  });

  it('extend: sets the TTL from now within sandboxes.max_ttl (400) and the quota max_ttl_ms (429); ended → 409', async () => {
    const s = (await h.create({ ttl_ms: 60_000 })).json<View>();
    h.t.clock.advance(30_000);
    const ok = await extend(s.id, 2 * HOUR);
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json<View>().ttl_ms, 2 * HOUR);
    assert.equal(Date.parse(String(ok.json<View>().expires_at)), h.t.clock.now() + 2 * HOUR);

    const tooLong = await extend(s.id, h.t.config.sandboxes.max_ttl + 1);
    assert.equal(tooLong.status, 400);
    await h.t.store.tenants.putQuota('tenant-a', { maxSandboxes: null, maxCpuMilli: null, maxMemoryMb: null, maxTtlMs: HOUR, maxRunningTasks: null, maxExecTimeoutMs: null });
    const overQuota = await extend(s.id, HOUR + 1);
    assert.equal(overQuota.status, 429);
    assert.equal(overQuota.json<ErrorBody>().error.code, 'quota_exceeded');
    assert.equal(overQuota.json<ErrorBody>().error.details?.limit, 'max_ttl_ms');
    assert.equal((await extend(s.id, 0)).status, 400);

    await del(s.id);
    const ended = await extend(s.id, 60_000);
    assert.equal(ended.status, 409);
  });

  it('the default TTL is capped by the quota; an explicit one over it is 429', async () => {
    await h.t.store.tenants.putQuota('tenant-a', { maxSandboxes: null, maxCpuMilli: null, maxMemoryMb: null, maxTtlMs: 600_000, maxRunningTasks: null, maxExecTimeoutMs: null });
    const s = (await h.create({})).json<View>();
    assert.equal(s.ttl_ms, 600_000);
    const res = await h.create({ ttl_ms: 600_001 });
    assert.equal(res.status, 429);
    assert.equal(res.json<ErrorBody>().error.details?.limit, 'max_ttl_ms');
  });

  it('TTL reaper: past expires_at the sandbox is destroyed on its worker and → expired', async () => {
    const short = (await h.create({ ttl_ms: 60_000 })).json<View>();
    const long = (await h.create({ ttl_ms: 2 * HOUR })).json<View>();
    assert.equal(await reaperTick(h.t.cp), 0);
    h.t.clock.advance(60_000);
    assert.equal(await reaperTick(h.t.cp), 1);
    const expired = (await h.t.request('GET', `/api/v1/sandboxes/${short.id}`, { key: h.t.keys.apiA })).json<View>();
    assert.equal(expired.state, 'expired');
    assert.equal(expired.state_reason, 'ttl');
    assert.deepEqual(h.workers[0]!.callsOf('worker.destroy').map((c) => (c.params as DestroyParams).sandbox_id), [short.id]);
    assert.equal((await h.t.store.workers.getWorker('w'))?.allocated.sandboxes, 1);
    assert.equal((await h.t.request('GET', `/api/v1/sandboxes/${long.id}`, { key: h.t.keys.apiA })).json<View>().state, 'running');
    assert.equal(await reaperTick(h.t.cp), 0, 'an expired sandbox is reaped once');

    // A worker that does not answer does not keep a sandbox alive past its TTL.
    h.workers[0]!.failNext('worker.destroy', 'internal', 'no');
    h.t.clock.advance(2 * HOUR);
    assert.equal(await reaperTick(h.t.cp), 1);
    assert.equal((await h.t.request('GET', `/api/v1/sandboxes/${long.id}`, { key: h.t.keys.apiA })).json<View>().state, 'expired');
    assert.equal((await h.t.store.workers.getWorker('w'))?.allocated.sandboxes, 0);
  });

  it('quota: max_sandboxes, max_cpu, max_memory_mb → 429 quota_exceeded naming the limit; ended sandboxes do not count', async () => {
    await h.addWorker({ id: 'w2' });
    await h.t.store.tenants.putQuota('tenant-a', { maxSandboxes: 1, maxCpuMilli: 1500, maxMemoryMb: 1024, maxTtlMs: null, maxRunningTasks: null, maxExecTimeoutMs: null });
    const s = (await h.create({ cpu: 1, memory_mb: 512 })).json<View>();
    const count = await h.create({ cpu: 0.1, memory_mb: 64 });
    assert.equal(count.status, 429);
    assert.deepEqual(count.json<ErrorBody>().error.details, { limit: 'max_sandboxes', used: 1, max: 1 });
    await del(s.id);
    await h.t.store.tenants.putQuota('tenant-a', { maxSandboxes: 5, maxCpuMilli: 1500, maxMemoryMb: 1024, maxTtlMs: null, maxRunningTasks: null, maxExecTimeoutMs: null });
    assert.equal((await h.create({ cpu: 1, memory_mb: 512 })).status, 201);
    const cpu = await h.create({ cpu: 1, memory_mb: 64 });
    assert.equal(cpu.status, 429);
    assert.deepEqual(cpu.json<ErrorBody>().error.details, { limit: 'max_cpu', used: 1, max: 1.5 });
    const mem = await h.create({ cpu: 0.5, memory_mb: 513 });
    assert.deepEqual(mem.json<ErrorBody>().error.details, { limit: 'max_memory_mb', used: 512, max: 1024 });
    assert.equal((await h.create({ cpu: 0.5, memory_mb: 512 })).status, 201, 'exactly at the limit is allowed');
    assert.equal((await h.create({}, { key: h.t.keys.apiB })).status, 201, "another tenant's quota is its own");
  });
});

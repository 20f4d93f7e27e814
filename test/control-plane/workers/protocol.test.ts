import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toRfc3339 } from '../../../src/domain/clock.js';
import { startTestControlPlane, workerCaller, type TestControlPlane } from '../support/harness.js';
import { eventTypes, heartbeat, placeSandbox, sandbox } from './fixtures.js';

type ErrorBody = { error: { code: string } };

async function fencedCount(t: TestControlPlane, kind: string): Promise<number> {
  const m = await t.cp.metrics.fencedRejected.get();
  return m.values.find((v) => v.labels.kind === kind)?.value ?? 0;
}

describe('worker lease renewal', () => {
  let t: TestControlPlane;
  before(async () => {
    t = await startTestControlPlane();
    await heartbeat(t, 'lr-1');
    await heartbeat(t, 'lr-2');
  });
  after(() => t.close());

  const renew = (worker: string, sandboxId: string, body: unknown) =>
    t.request('POST', `/api/v1/worker/${worker}/leases/${sandboxId}/renew`, { ...workerCaller(worker), body });

  it('the holder renews at its generation; the expiry moves by ttl_ms on the store clock', async () => {
    const s = await placeSandbox(t, 'lr-1');
    t.clock.advance(10_000);
    const r = await renew('lr-1', s.id, { generation: 1, ttl_ms: 45_000 });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { lease: { resource_id: s.id, holder_id: 'lr-1', generation: 1, expires_at: toRfc3339(t.clock.now() + 45_000) } });
  });

  it('a wrong generation, another worker, or an expired lease → 409 lease_lost, counted as fenced', async () => {
    const s = await placeSandbox(t, 'lr-1');
    const before = await fencedCount(t, 'lease_renew');
    const wrongGen = await renew('lr-1', s.id, { generation: 2, ttl_ms: 30_000 });
    assert.equal(wrongGen.status, 409);
    assert.equal(wrongGen.json<ErrorBody>().error.code, 'lease_lost');
    assert.equal((await renew('lr-2', s.id, { generation: 1, ttl_ms: 30_000 })).status, 409);
    t.clock.advance(60_001);
    assert.equal((await renew('lr-1', s.id, { generation: 1, ttl_ms: 30_000 })).status, 409);
    assert.equal(await fencedCount(t, 'lease_renew'), before + 3);
    // The path names the worker; another worker's credential is refused before any lease logic.
    const impersonated = await t.request('POST', `/api/v1/worker/lr-1/leases/${s.id}/renew`, { ...workerCaller('lr-2'), body: { generation: 1, ttl_ms: 30_000 } });
    assert.equal(impersonated.status, 403);
  });

  it('validates the ttl', async () => {
    const s = await placeSandbox(t, 'lr-1');
    assert.equal((await renew('lr-1', s.id, { generation: 1, ttl_ms: 10 * 60_000 })).status, 400);
    assert.equal((await renew('lr-1', s.id, { generation: 1 })).status, 400);
  });
});

describe('worker sandbox state reports', () => {
  let t: TestControlPlane;
  before(async () => {
    t = await startTestControlPlane();
    await heartbeat(t, 'sr-1');
    await heartbeat(t, 'sr-2');
  });
  after(() => t.close());

  const report = (worker: string, sandboxId: string, body: unknown) =>
    t.request('POST', `/api/v1/worker/${worker}/sandboxes/${sandboxId}/state`, { ...workerCaller(worker), body });

  it('starting → running with the runtime id, stamping started_at, emitting sandbox.running', async () => {
    const s = await placeSandbox(t, 'sr-1', { starting: true });
    t.clock.advance(1_000);
    const r = await report('sr-1', s.id, { generation: 1, state: 'running', runtime_id: 'rt-1' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json(), { sandbox_id: s.id, state: 'running', state_reason: null, generation: 1 });
    const after = await sandbox(t, s.id);
    assert.equal(after.runtimeId, 'rt-1');
    assert.equal(after.startedAt, t.clock.now());
    assert.ok((await eventTypes(t, 'sandbox.')).includes('sandbox.running'));
    // Idle and woken again: started_at stays the placement's first start.
    t.clock.advance(1_000);
    assert.equal((await report('sr-1', s.id, { generation: 1, state: 'idle' })).status, 200);
    assert.equal((await report('sr-1', s.id, { generation: 1, state: 'starting' })).status, 200);
    assert.equal((await report('sr-1', s.id, { generation: 1, state: 'running' })).status, 200);
    assert.equal((await sandbox(t, s.id)).startedAt, after.startedAt);
  });

  it('a retried report of the current state is accepted without change', async () => {
    const s = await placeSandbox(t, 'sr-1');
    const r = await report('sr-1', s.id, { generation: 1, state: 'running' });
    assert.equal(r.status, 200);
    assert.equal((await sandbox(t, s.id)).updatedAt, s.updatedAt);
  });

  it('stale generation or another worker → 409 lease_lost, nothing changes', async () => {
    const s = await placeSandbox(t, 'sr-1');
    const before = await fencedCount(t, 'sandbox_state');
    const wrongGen = await report('sr-1', s.id, { generation: 2, state: 'failed' });
    assert.equal(wrongGen.status, 409);
    assert.equal(wrongGen.json<ErrorBody>().error.code, 'lease_lost');
    assert.equal((await report('sr-2', s.id, { generation: 1, state: 'failed' })).json<ErrorBody>().error.code, 'lease_lost');
    assert.equal((await report('sr-2', s.id, { generation: 1, state: 'running' })).json<ErrorBody>().error.code, 'lease_lost');
    assert.equal((await sandbox(t, s.id)).state, 'running');
    assert.equal(await fencedCount(t, 'sandbox_state'), before + 3);
  });

  it('an edge the sandbox machine lacks → 409 conflict; states the worker may not decide → 400', async () => {
    const s = await placeSandbox(t, 'sr-1');
    const illegal = await report('sr-1', s.id, { generation: 1, state: 'starting' });
    assert.equal(illegal.status, 409);
    assert.equal(illegal.json<ErrorBody>().error.code, 'conflict');
    for (const state of ['lost', 'pending', 'expired']) assert.equal((await report('sr-1', s.id, { generation: 1, state })).status, 400, state);
    assert.equal((await report('sr-1', 'sbx_nope', { generation: 1, state: 'running' })).status, 404);
  });

  it('a crash with an exit code fails the sandbox, releases its capacity and ends its lease', async () => {
    const s = await placeSandbox(t, 'sr-2');
    const allocated = (await t.store.workers.getWorker('sr-2'))?.allocated.sandboxes ?? 0;
    const r = await report('sr-2', s.id, { generation: 1, state: 'failed', exit_code: 3 });
    assert.equal(r.status, 200);
    const after = await sandbox(t, s.id);
    assert.equal(after.state, 'failed');
    assert.equal(after.stateReason, 'exit_code 3');
    assert.equal((await t.store.workers.getWorker('sr-2'))?.allocated.sandboxes, allocated - 1);
    assert.equal((await report('sr-2', s.id, { generation: 1, state: 'running' })).json<ErrorBody>().error.code, 'lease_lost');
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toRfc3339 } from '../../../src/domain/clock.js';
import { livenessTick } from '../../../src/control-plane/loops/liveness.js';
import { startTestControlPlane, workerCaller, type TestControlPlane } from '../support/harness.js';
import { eventTypes, heartbeat, placeSandbox, recordingRpc, restartedControlPlane, sandbox } from './fixtures.js';

type WorkerBody = { id: string; status: string; cordoned: boolean; drain: { deadline: string | null; migrate: boolean } | null };
type Reply = { cordoned: boolean; drain?: { deadline: string | null }; release?: string[] };
const status = async (t: TestControlPlane, id: string) => (await t.store.workers.getWorker(id))?.status;

describe('cordon, drain, uncordon', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  const post = (path: string, key: string, body?: unknown) => t.request('POST', `/api/v1/workers/${path}`, { key, ...(body === undefined ? {} : { body }) });

  it('cordon stops placements and is echoed to the worker; uncordon lifts it; both need operate', async () => {
    await heartbeat(t, 'cd-1');
    assert.equal((await post('cd-1/cordon', t.keys.viewer)).status, 403);
    assert.equal((await post('cd-1/cordon', t.keys.apiA)).status, 403);
    const r = await post('cd-1/cordon', t.keys.operator);
    assert.equal(r.status, 200);
    assert.equal(r.json<WorkerBody>().cordoned, true);
    assert.equal((await heartbeat(t, 'cd-1')).json<Reply>().cordoned, true);
    await assert.rejects(placeSandbox(t, 'cd-1'), /worker_unavailable/);
    const un = await post('cd-1/uncordon', t.keys.operator);
    assert.deepEqual([un.json<WorkerBody>().cordoned, un.json<WorkerBody>().status], [false, 'online']);
    await placeSandbox(t, 'cd-1');
    assert.equal((await post('nope/cordon', t.keys.operator)).status, 404);
    const audit = await t.store.audit.list({ kind: 'all' }, { action: 'workers.cordon' }, { limit: 10 });
    assert.ok(audit.items.some((a) => a.resourceId === 'cd-1' && a.outcome === 'ok'));
  });

  it('drain: persisted, told to the worker, kept when the worker says online, refused for lost workers', async () => {
    await heartbeat(t, 'dr-1');
    const r = await post('dr-1/drain', t.keys.operator, { deadline_ms: 60_000 });
    assert.equal(r.status, 200);
    const deadline = toRfc3339(t.clock.now() + 60_000);
    assert.deepEqual([r.json<WorkerBody>().status, r.json<WorkerBody>().drain], ['draining', { deadline, migrate: true }]);
    assert.deepEqual((await heartbeat(t, 'dr-1', { status: 'online' })).json<Reply>().drain, { deadline });
    assert.equal(await status(t, 'dr-1'), 'draining');
    await assert.rejects(placeSandbox(t, 'dr-1'), /worker_unavailable/);

    assert.equal((await post('dr-1/drain', t.keys.operator, { deadline_ms: 1, extra: true })).status, 400);
    assert.equal((await post('nope/drain', t.keys.operator, {})).status, 404);
    await heartbeat(t, 'dr-lost');
    const w = await t.store.workers.getWorker('dr-lost');
    await t.store.workers.transitionWorker('dr-lost', ['online'], 'stale', w?.lastHeartbeatAt);
    await t.store.workers.transitionWorker('dr-lost', ['stale'], 'lost', w?.lastHeartbeatAt);
    assert.equal((await post('dr-lost/drain', t.keys.operator, {})).status, 409);
  });

  it('drained only once the worker holds no lease', async () => {
    await heartbeat(t, 'dr-2');
    const s = await placeSandbox(t, 'dr-2');
    await post('dr-2/drain', t.keys.operator, {});
    await livenessTick(t.cp);
    assert.equal(await status(t, 'dr-2'), 'draining');
    // The sandbox ends on its own (its service exits): the worker reports it.
    for (const state of ['stopping', 'stopped']) {
      const r = await t.request('POST', `/api/v1/worker/dr-2/sandboxes/${s.id}/state`, { ...workerCaller('dr-2'), body: { generation: 1, state } });
      assert.equal(r.status, 200);
    }
    await livenessTick(t.cp);
    assert.equal(await status(t, 'dr-2'), 'drained');
    assert.ok((await eventTypes(t)).includes('worker.drained'));
    // Still drained (and told so) when the worker heartbeats again.
    assert.deepEqual((await heartbeat(t, 'dr-2')).json<Reply>().drain, { deadline: null });
    assert.equal(await status(t, 'dr-2'), 'drained');
  });

  it('a sandbox whose lease lapsed keeps the drain open', async () => {
    await heartbeat(t, 'dr-5');
    const s = await placeSandbox(t, 'dr-5');
    await post('dr-5/drain', t.keys.operator, {});
    t.clock.advance(60_001);
    await heartbeat(t, 'dr-5');
    assert.equal(await t.store.leases.countLiveLeases('dr-5'), 0);
    await livenessTick(t.cp);
    assert.equal(await status(t, 'dr-5'), 'draining');
    await t.store.sandboxes.transitionSandbox(s.id, { from: ['running'], to: 'failed' });
    await livenessTick(t.cp);
    assert.equal(await status(t, 'dr-5'), 'drained');
  });

  it('uncordon cancels a drain', async () => {
    await heartbeat(t, 'dr-3');
    await post('dr-3/drain', t.keys.operator, { deadline_ms: 5_000 });
    const r = await post('dr-3/uncordon', t.keys.operator);
    assert.deepEqual([r.json<WorkerBody>().status, r.json<WorkerBody>().drain], ['online', null]);
    assert.equal((await heartbeat(t, 'dr-3')).json<Reply>().drain, undefined);
    t.clock.advance(10_000);
    await heartbeat(t, 'dr-3');
    await livenessTick(t.cp);
    assert.equal(await status(t, 'dr-3'), 'online');
  });

  it('a draining worker that went stale resumes its drain when it returns', async () => {
    await heartbeat(t, 'dr-4');
    await placeSandbox(t, 'dr-4');
    await post('dr-4/drain', t.keys.operator, { deadline_ms: 600_000 });
    t.clock.advance(15_001);
    await livenessTick(t.cp);
    assert.equal(await status(t, 'dr-4'), 'stale');
    const back = await heartbeat(t, 'dr-4', { status: 'online' });
    assert.equal(await status(t, 'dr-4'), 'draining');
    assert.ok(back.json<Reply>().drain);
  });

  it('a drain without a deadline also survives the worker going stale', async () => {
    const first = await heartbeat(t, 'dr-nodeadline');
    assert.equal(first.status, 200, first.text);
    assert.equal(await status(t, 'dr-nodeadline'), 'online');
    await placeSandbox(t, 'dr-nodeadline');
    await post('dr-nodeadline/drain', t.keys.operator, {});
    t.clock.advance(15_001);
    await livenessTick(t.cp);
    assert.equal(await status(t, 'dr-nodeadline'), 'stale');
    const back = await heartbeat(t, 'dr-nodeadline', { status: 'online' });
    assert.equal(await status(t, 'dr-nodeadline'), 'draining');
    assert.deepEqual(back.json<Reply>().drain, { deadline: null });
  });
});

describe('drain deadline', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('survives a control-plane restart; at the deadline restartable sandboxes are re-placed and the rest stopped', async () => {
    await heartbeat(t, 'dd-1');
    const restartable = await placeSandbox(t, 'dd-1', { restart: true, runtimeId: 'rt-a' });
    const plain = await placeSandbox(t, 'dd-1', { runtimeId: 'rt-b' });
    const r = await t.request('POST', '/api/v1/workers/dd-1/drain', { key: t.keys.operator, body: { deadline_ms: 60_000 } });
    assert.equal(r.status, 200);

    // The control plane restarts; the new one carries the drain on from the store.
    const rpc = recordingRpc();
    const cp2 = restartedControlPlane(t, rpc);
    t.clock.advance(50_000);
    // The worker keeps its leases renewed, as it does while it runs them.
    for (const s of [restartable, plain]) {
      const renewed = await t.request('POST', `/api/v1/worker/dd-1/leases/${s.id}/renew`, { ...workerCaller('dd-1'), body: { generation: 1, ttl_ms: 30_000 } });
      assert.equal(renewed.status, 200);
    }
    t.clock.advance(9_999);
    await heartbeat(t, 'dd-1');
    await livenessTick(cp2);
    assert.equal((await sandbox(t, restartable.id)).state, 'running', 'not before the deadline');
    assert.equal(rpc.calls.length, 0);
    t.clock.advance(1);
    await livenessTick(cp2);

    const moved = await sandbox(t, restartable.id);
    assert.deepEqual([moved.state, moved.workerId, moved.stateReason], ['pending', null, 'drain_deadline']);
    const stopped = await sandbox(t, plain.id);
    assert.deepEqual([stopped.state, stopped.stateReason], ['stopped', 'drain_deadline']);
    // Both were destroyed on the worker first, each with its lease so the worker accepts it.
    assert.deepEqual(
      rpc.calls.map((c) => [c.method, c.params, c.options?.lease?.resource_id, c.options?.lease?.holder_id, c.options?.lease?.generation]).sort(),
      [
        ['worker.destroy', { sandbox_id: plain.id, runtime_id: 'rt-b' }, plain.id, 'dd-1', 1],
        ['worker.destroy', { sandbox_id: restartable.id, runtime_id: 'rt-a' }, restartable.id, 'dd-1', 1],
      ].sort(),
    );
    assert.equal(rpc.calls[0]?.target.id, 'dd-1');

    assert.equal(await status(t, 'dd-1'), 'drained', 'nothing left on it: drained in the same sweep');
  });

  it('an unreachable worker does not hold the deadline up: records move, the heartbeat tells it to release', async () => {
    const rpc = recordingRpc({ reachable: false });
    const u = await startTestControlPlane({ rpc });
    try {
      await heartbeat(u, 'dd-2');
      const a = await placeSandbox(u, 'dd-2', { restart: true, runtimeId: 'rt-1' });
      const b = await placeSandbox(u, 'dd-2', { restart: true, runtimeId: 'rt-2' });
      const c = await placeSandbox(u, 'dd-2', { runtimeId: 'rt-3' });
      await u.request('POST', '/api/v1/workers/dd-2/drain', { key: u.keys.operator, body: { deadline_ms: 1_000, migrate: false } });
      u.clock.advance(1_000);
      await livenessTick(u.cp);
      assert.equal(rpc.calls.length, 1, 'gave up on the worker after the first failure');
      for (const s of [a, b, c]) assert.equal((await sandbox(u, s.id)).state, 'stopped', 'migrate: false stops even restartable ones');
      const reply = await heartbeat(u, 'dd-2', {
        inventory: [
          { sandbox_id: a.id, runtime_id: 'rt-1', generation: 1, state: 'running' },
          { sandbox_id: b.id, runtime_id: 'rt-2', generation: 1, state: 'running' },
          { sandbox_id: c.id, runtime_id: 'rt-3', generation: 1, state: 'running' },
        ],
      });
      assert.deepEqual(reply.json<Reply>().release?.sort(), ['rt-1', 'rt-2', 'rt-3']);
    } finally {
      await u.close();
    }
  });
});

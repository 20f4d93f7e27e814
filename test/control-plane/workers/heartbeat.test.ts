import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { toRfc3339 } from '../../../src/domain/clock.js';
import { livenessTick } from '../../../src/control-plane/loops/liveness.js';
import { heartbeatReply } from '../../../src/protocol/worker-protocol.js';
import { startTestControlPlane, workerCaller, SHARED_WORKER_TOKEN, type TestControlPlane } from '../support/harness.js';
import { appFor, eventTypes, hbBody, heartbeat, placeSandbox, restartedControlPlane, RPC_SECRET } from './fixtures.js';

type Reply = { next_heartbeat_ms: number; server_time: string; cordoned: boolean; drain?: { deadline: string | null }; release?: string[]; inventory_wanted?: boolean };
type ErrorBody = { error: { code: string } };

describe('worker heartbeat', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('the first heartbeat registers the worker; the reply carries the server-owned timing', async () => {
    const r = await heartbeat(t, 'hb-1', { capacity: { cpu: 2.5, memory_mb: 4096, disk_mb: 2048, max_sandboxes: 7 }, task_kinds: ['resize'], code_version: 'v3' });
    assert.equal(r.status, 200);
    const reply = r.json<Reply>();
    heartbeatReply.parse(reply);
    assert.deepEqual(reply, { next_heartbeat_ms: 5_000, server_time: toRfc3339(t.clock.now()), cordoned: false, inventory_wanted: true });
    const w = await t.store.workers.getWorker('hb-1');
    assert.equal(w?.status, 'online');
    assert.deepEqual(w?.capacity, { cpuMilli: 2500, memoryMb: 4096, diskMb: 2048, sandboxes: 7 });
    assert.deepEqual(w?.taskKinds, ['resize']);
    assert.equal(w?.codeVersion, 'v3');
    assert.equal(w?.rpcSecret, RPC_SECRET);
    assert.ok((await eventTypes(t, 'worker.')).includes('worker.registered'));
    const metric = await t.cp.metrics.registry.getSingleMetricAsString('drover_heartbeat_handling_seconds');
    assert.match(metric, /drover_heartbeat_handling_seconds_count [1-9]/);
  });

  it('next_heartbeat_ms follows workers.heartbeat_interval', async () => {
    const other = await startTestControlPlane({ config: { 'workers.heartbeat_interval': '2s' } });
    try {
      assert.equal((await heartbeat(other, 'hb-int')).json<Reply>().next_heartbeat_ms, 2_000);
    } finally {
      await other.close();
    }
  });

  it('rejects unknown fields, missing fields and statuses a worker may not claim (400)', async () => {
    const bad = [
      { ...hbBody(), extra: 1 },
      (({ hostname: _h, ...rest }) => rest)(hbBody()),
      hbBody({ status: 'stale' as 'online' }),
      hbBody({ capacity: { cpu: 1, memory_mb: 1, disk_mb: 1, max_sandboxes: 1, gpus: 1 } as never }),
      hbBody({ rpc_url: 'ftp://x' }),
      hbBody({ inventory: [{ sandbox_id: 's', runtime_id: 'r', generation: 0, state: 'running' }] }),
    ];
    for (const body of bad) {
      const r = await t.request('POST', '/api/v1/worker/hb-bad/heartbeat', { ...workerCaller('hb-bad'), body });
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.json<ErrorBody>().error.code, 'bad_request');
    }
    assert.equal(await t.store.workers.getWorker('hb-bad'), undefined);
  });

  it('a worker may only heartbeat as itself; user keys and worker tokens do not cross over', async () => {
    const mismatch = await t.request('POST', '/api/v1/worker/hb-victim/heartbeat', { ...workerCaller('hb-intruder'), body: hbBody() });
    assert.equal(mismatch.status, 403);
    const userKey = await t.request('POST', '/api/v1/worker/hb-victim/heartbeat', { key: t.keys.admin, body: hbBody() });
    assert.equal(userKey.status, 401);
    const wrongToken = await t.request('POST', '/api/v1/worker/hb-victim/heartbeat', { worker: { id: 'hb-victim', token: 'nope-nope-nope' }, body: hbBody() });
    assert.equal(wrongToken.status, 401);
    const none = await t.request('POST', '/api/v1/worker/hb-victim/heartbeat', { body: hbBody() });
    assert.equal(none.status, 401);
    assert.equal(await t.store.workers.getWorker('hb-victim'), undefined);
    // A worker credential never authenticates a user route.
    for (const url of ['/api/v1/workers', '/api/v1/workers/hb-1', '/api/v1/leases']) {
      assert.equal((await t.request('GET', url, { worker: { id: 'hb-1', token: SHARED_WORKER_TOKEN } })).status, 401, url);
    }
  });

  it('a draining status from the worker is recorded and echoed back as a drain', async () => {
    await heartbeat(t, 'hb-drain');
    const r = await heartbeat(t, 'hb-drain', { status: 'draining' });
    assert.deepEqual(r.json<Reply>().drain, { deadline: null });
    assert.equal((await t.store.workers.getWorker('hb-drain'))?.status, 'draining');
    assert.ok((await eventTypes(t)).includes('worker.draining'));
  });

  it('inventory_wanted: at registration, until this replica has seen one, and after stale or lost', async () => {
    assert.equal((await heartbeat(t, 'hb-inv')).json<Reply>().inventory_wanted, true);
    assert.equal((await heartbeat(t, 'hb-inv')).json<Reply>().inventory_wanted, true, 'still not seen');
    const sent = (await heartbeat(t, 'hb-inv', { inventory: [] })).json<Reply>();
    assert.equal(sent.inventory_wanted, false);
    assert.deepEqual(sent.release, []);
    assert.equal((await heartbeat(t, 'hb-inv')).json<Reply>().inventory_wanted, false);

    // Another replica (or this one restarted) has not seen it.
    const cp2 = restartedControlPlane(t);
    const app2 = await appFor(cp2);
    try {
      const r = await app2.inject({ method: 'POST', url: '/api/v1/worker/hb-inv/heartbeat', headers: { 'x-worker-id': 'hb-inv', 'x-worker-token': SHARED_WORKER_TOKEN }, payload: hbBody() });
      assert.equal(r.json<Reply>().inventory_wanted, true);
    } finally {
      await app2.close();
    }

    // Back from stale: asked again even when the heartbeat carried one.
    const w = await t.store.workers.getWorker('hb-inv');
    await t.store.workers.transitionWorker('hb-inv', ['online'], 'stale', w?.lastHeartbeatAt);
    assert.equal((await heartbeat(t, 'hb-inv', { inventory: [] })).json<Reply>().inventory_wanted, true);
    assert.equal((await heartbeat(t, 'hb-inv')).json<Reply>().inventory_wanted, false);
    assert.ok((await eventTypes(t)).includes('worker.online'));
  });

  it('release lists exactly the runtimes the worker no longer owns', async () => {
    await heartbeat(t, 'hb-rel');
    await heartbeat(t, 'hb-rel-2');
    const kept = await placeSandbox(t, 'hb-rel', { runtimeId: 'rt-kept' });
    const starting = await placeSandbox(t, 'hb-rel', { starting: true });
    const stopped = await placeSandbox(t, 'hb-rel', { runtimeId: 'rt-stopped' });
    await t.store.sandboxes.transitionSandbox(stopped.id, { from: ['running'], to: 'stopping' });
    await t.store.sandboxes.transitionSandbox(stopped.id, { from: ['stopping'], to: 'stopped' });
    const moved = await placeSandbox(t, 'hb-rel', { runtimeId: 'rt-moved', restart: true });
    await t.store.sandboxes.transitionSandbox(moved.id, { from: ['running'], to: 'lost' });
    await t.store.sandboxes.transitionSandbox(moved.id, { from: ['lost'], to: 'pending' });
    assert.equal((await t.store.sandboxes.commitPlacement(moved.id, 'hb-rel-2', 'process', 60_000)).kind, 'placed');

    const r = await heartbeat(t, 'hb-rel', {
      inventory: [
        { sandbox_id: kept.id, runtime_id: 'rt-kept', generation: 1, state: 'running' },
        { sandbox_id: kept.id, runtime_id: 'rt-duplicate', generation: 1, state: 'running' },
        { sandbox_id: kept.id, runtime_id: 'rt-old-gen', generation: 2, state: 'running' },
        { sandbox_id: starting.id, runtime_id: 'rt-spawning', generation: 1, state: 'starting' },
        { sandbox_id: stopped.id, runtime_id: 'rt-stopped', generation: 1, state: 'running' },
        { sandbox_id: moved.id, runtime_id: 'rt-moved', generation: 1, state: 'running' },
        { sandbox_id: 'sbx_unknown', runtime_id: 'rt-unknown', generation: 1, state: 'idle' },
      ],
    });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json<Reply>().release?.sort(), ['rt-duplicate', 'rt-moved', 'rt-old-gen', 'rt-stopped', 'rt-unknown']);
    // The new holder of the moved sandbox is told to keep it.
    const r2 = await heartbeat(t, 'hb-rel-2', { inventory: [{ sandbox_id: moved.id, runtime_id: 'rt-new', generation: 2, state: 'starting' }] });
    assert.deepEqual(r2.json<Reply>().release, []);
  });

  it('never logs the rpc secret or the worker token', async () => {
    const lines: string[] = [];
    const logged = await startTestControlPlane({ logLines: lines });
    try {
      await heartbeat(logged, 'hb-log');
      await placeSandbox(logged, 'hb-log');
      logged.clock.advance(30_001);
      await livenessTick(logged.cp);
      await heartbeat(logged, 'hb-log', { rpc_url: null });
      await heartbeat(logged, 'hb-log', { extra: RPC_SECRET } as never);
      assert.ok(lines.some((l) => l.includes('hb-log')), 'the log was captured');
      for (const secret of [RPC_SECRET, SHARED_WORKER_TOKEN]) assert.ok(!lines.some((l) => l.includes(secret)), secret);
    } finally {
      await logged.close();
    }
  });

  it('never returns the rpc secret', async () => {
    const list = await t.request('GET', '/api/v1/workers', { key: t.keys.admin });
    const one = await t.request('GET', '/api/v1/workers/hb-1', { key: t.keys.admin });
    for (const r of [list, one]) {
      assert.equal(r.status, 200);
      assert.ok(!r.text.includes(RPC_SECRET));
      assert.ok(!r.text.includes('rpc_secret'));
    }
  });
});

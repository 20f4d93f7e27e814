import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { livenessTick, startLivenessLoop } from '../../../src/control-plane/loops/liveness.js';
import type { Timer } from '../../../src/control-plane/loops/runner.js';
import { declareWorkerLost } from '../../../src/control-plane/services/worker-loss.js';
import { initialGuardState, type GuardState } from '../../../src/control-plane/services/liveness.js';
import { allTenants } from '../../../src/store/types.js';
import { startTestControlPlane, workerCaller, type TestControlPlane } from '../support/harness.js';
import { eventTypes, heartbeat, placeSandbox, restartedControlPlane, sandbox } from './fixtures.js';

type ErrorBody = { error: { code: string } };
const status = async (t: TestControlPlane, id: string) => (await t.store.workers.getWorker(id))?.status;

describe('liveness: stale and lost by the clock', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('stale just after stale_after, lost just after lost_after; the list computes stale on read', async () => {
    await heartbeat(t, 'lv-1');
    t.clock.advance(15_000);
    await livenessTick(t.cp);
    assert.equal(await status(t, 'lv-1'), 'online');
    t.clock.advance(1);
    const listed = (await t.request('GET', '/api/v1/workers', { key: t.keys.viewer })).json<{ items: { id: string; stale: boolean; status: string }[] }>();
    const row = listed.items.find((w) => w.id === 'lv-1');
    assert.deepEqual([row?.stale, row?.status], [true, 'online'], 'computed before any sweep has run');
    await livenessTick(t.cp);
    assert.equal(await status(t, 'lv-1'), 'stale');
    t.clock.advance(14_999);
    await livenessTick(t.cp);
    assert.equal(await status(t, 'lv-1'), 'stale');
    t.clock.advance(1);
    const r = await livenessTick(t.cp);
    assert.deepEqual(r.lost, ['lv-1']);
    assert.equal(await status(t, 'lv-1'), 'lost');
    const types = await eventTypes(t, 'worker.');
    assert.ok(types.includes('worker.stale') && types.includes('worker.lost'));
    const transitions = await t.cp.metrics.workerTransitions.get();
    assert.ok(transitions.values.some((v) => v.labels.from === 'stale' && v.labels.to === 'lost' && v.value >= 1));
  });

  it('a heartbeat in time keeps a worker online; a stale worker that heartbeats is online again', async () => {
    await heartbeat(t, 'lv-2');
    t.clock.advance(14_000);
    await heartbeat(t, 'lv-2');
    t.clock.advance(14_000);
    await livenessTick(t.cp);
    assert.equal(await status(t, 'lv-2'), 'online');
    t.clock.advance(2_000);
    await livenessTick(t.cp);
    assert.equal(await status(t, 'lv-2'), 'stale');
    await heartbeat(t, 'lv-2');
    assert.equal(await status(t, 'lv-2'), 'online');
    t.clock.advance(20_000);
    await livenessTick(t.cp);
    assert.equal(await status(t, 'lv-2'), 'stale', 'silence is measured from the new heartbeat');
  });

  it('a single-worker fleet still detects its worker, and so does a two-worker fleet losing both', async () => {
    const solo = await startTestControlPlane();
    try {
      await heartbeat(solo, 'solo');
      solo.clock.advance(30_001);
      assert.deepEqual((await livenessTick(solo.cp)).lost, ['solo']);
      await heartbeat(solo, 'pair-1');
      await heartbeat(solo, 'pair-2');
      solo.clock.advance(30_001);
      const r = await livenessTick(solo.cp);
      assert.equal(r.decision.held, false);
      assert.deepEqual(r.lost.sort(), ['pair-1', 'pair-2']);
    } finally {
      await solo.close();
    }
  });
});

describe('liveness: a restarted control plane evicts nobody', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('measures silence from its own start', async () => {
    await heartbeat(t, 'rs-1');
    await heartbeat(t, 'rs-2');
    // The control plane is down for ten minutes: nobody could heartbeat it.
    t.clock.advance(600_000);
    const cp2 = restartedControlPlane(t);
    const first = await livenessTick(cp2);
    assert.deepEqual(first.decision.toStale, []);
    assert.deepEqual(first.lost, []);
    assert.equal(await status(t, 'rs-1'), 'online');
    // rs-1 reconnects; rs-2 really is gone and is judged a full window after the restart.
    t.clock.advance(10_000);
    await heartbeat(t, 'rs-1');
    t.clock.advance(5_001);
    await livenessTick(cp2);
    assert.equal(await status(t, 'rs-1'), 'online');
    assert.equal(await status(t, 'rs-2'), 'stale');
    t.clock.advance(15_000);
    await heartbeat(t, 'rs-1');
    assert.deepEqual((await livenessTick(cp2)).lost, ['rs-2']);
  });
});

describe('liveness: the mass-failure guard', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('holds while most of the fleet looks lost, then gives up after mass_loss_max_hold', async () => {
    const silent = ['mg-1', 'mg-2', 'mg-3', 'mg-4'];
    for (const id of [...silent, 'mg-ok']) await heartbeat(t, id);
    t.clock.advance(30_001);
    await heartbeat(t, 'mg-ok');
    let guard: GuardState = initialGuardState;
    const first = await livenessTick(t.cp, guard);
    guard = first.guardState;
    assert.equal(first.decision.held, true);
    assert.deepEqual(first.lost, []);
    for (const id of silent) assert.equal(await status(t, id), 'stale', 'stale is still applied');
    // Four more minutes of held sweeps (one a minute): still nobody lost, one event for the whole hold.
    for (let i = 0; i < 4; i++) {
      t.clock.advance(60_000);
      await heartbeat(t, 'mg-ok');
      const r = await livenessTick(t.cp, guard);
      guard = r.guardState;
      assert.equal(r.decision.held, true);
    }
    for (const id of silent) assert.equal(await status(t, id), 'stale');
    assert.equal((await eventTypes(t, 'workers.mass_loss_suspected')).length, 1);
    assert.equal((await t.cp.metrics.massLossSuspected.get()).values[0]?.value, 5);
    // Five minutes of holding: the guard gives up.
    t.clock.advance(60_000);
    await heartbeat(t, 'mg-ok');
    const last = await livenessTick(t.cp, guard);
    assert.equal(last.decision.held, false);
    assert.deepEqual(last.lost.sort(), silent);
    assert.equal(await status(t, 'mg-ok'), 'online');
  });
});

describe('liveness: acting on a lost worker', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('restartable sandboxes are re-placed under a new generation; the old worker is fenced; others fail', async () => {
    await heartbeat(t, 'lw-old');
    const restartable = await placeSandbox(t, 'lw-old', { restart: true, runtimeId: 'rt-r' });
    const plain = await placeSandbox(t, 'lw-old', { runtimeId: 'rt-p' });
    const starting = await placeSandbox(t, 'lw-old', { starting: true });
    const stopping = await placeSandbox(t, 'lw-old');
    await t.store.sandboxes.transitionSandbox(stopping.id, { from: ['running'], to: 'stopping' });
    await t.store.leases.acquireLease({ type: 'task', id: 'tsk_lost' }, 'lw-old', 600_000);

    t.clock.advance(30_001);
    await heartbeat(t, 'lw-new');
    const r = await livenessTick(t.cp);
    assert.deepEqual(r.lost, ['lw-old']);

    const moved = await sandbox(t, restartable.id);
    assert.equal(moved.state, 'pending');
    assert.equal(moved.workerId, null);
    assert.equal(moved.stateReason, 'worker_lost');
    const failed = await sandbox(t, plain.id);
    assert.deepEqual([failed.state, failed.stateReason], ['failed', 'worker_lost']);
    assert.equal((await sandbox(t, starting.id)).state, 'failed');
    assert.equal((await sandbox(t, stopping.id)).state, 'stopped');
    assert.equal((await t.store.workers.getWorker('lw-old'))?.allocated.sandboxes, 0);
    assert.equal(await t.store.leases.countLiveLeases('lw-old'), 0, 'task leases expire too');

    const types = await eventTypes(t);
    for (const type of ['worker.lost', 'sandbox.lost', 'sandbox.pending', 'sandbox.failed', 'lease.lost']) assert.ok(types.includes(type), type);
    const lostLeases = await t.cp.metrics.leasesLost.get();
    assert.equal(lostLeases.values.find((v) => v.labels.resource_type === 'sandbox')?.value, 4);
    assert.equal(lostLeases.values.find((v) => v.labels.resource_type === 'task')?.value, 1);

    // Re-placed elsewhere at generation 2; the old worker's writes are fenced.
    const placed = await t.store.sandboxes.commitPlacement(restartable.id, 'lw-new', 'process', 60_000);
    assert.equal(placed.kind === 'placed' && placed.lease.generation, 2);
    const report = await t.request('POST', `/api/v1/worker/lw-old/sandboxes/${restartable.id}/state`, { ...workerCaller('lw-old'), body: { generation: 1, state: 'running' } });
    assert.equal(report.status, 409);
    assert.equal(report.json<ErrorBody>().error.code, 'lease_lost');
    const renew = await t.request('POST', `/api/v1/worker/lw-old/leases/${restartable.id}/renew`, { ...workerCaller('lw-old'), body: { generation: 1, ttl_ms: 30_000 } });
    assert.equal(renew.json<ErrorBody>().error.code, 'lease_lost');

    // The old worker comes back: online, asked for its inventory, and told to destroy its old runtimes.
    const back = await heartbeat(t, 'lw-old', {
      inventory: [
        { sandbox_id: restartable.id, runtime_id: 'rt-r', generation: 1, state: 'running' },
        { sandbox_id: plain.id, runtime_id: 'rt-p', generation: 1, state: 'running' },
      ],
    });
    assert.equal(await status(t, 'lw-old'), 'online');
    assert.equal(back.json<{ inventory_wanted: boolean }>().inventory_wanted, true);
    assert.deepEqual(back.json<{ release: string[] }>().release.sort(), ['rt-p', 'rt-r']);
  });

  it('finishes a loss that was interrupted: a lost worker still holding work is reclaimed by the next sweep', async () => {
    await heartbeat(t, 'lw-half');
    const s = await placeSandbox(t, 'lw-half', { restart: true });
    const w = await t.store.workers.getWorker('lw-half');
    // A replica marked it lost and died before reclaiming anything.
    await t.store.workers.transitionWorker('lw-half', ['online'], 'stale', w?.lastHeartbeatAt);
    await t.store.workers.transitionWorker('lw-half', ['stale'], 'lost', w?.lastHeartbeatAt);
    assert.deepEqual(await t.store.workers.lostWorkersHoldingWork(), ['lw-half']);
    await livenessTick(t.cp);
    assert.equal((await sandbox(t, s.id)).state, 'pending');
    assert.deepEqual(await t.store.workers.lostWorkersHoldingWork(), []);
    const pending = await t.store.sandboxes.listSandboxes(allTenants, { state: 'pending' }, { limit: 100 });
    assert.ok(pending.items.some((x) => x.id === s.id));
  });

  it('a half-handled lost worker that heartbeats first has its old work fenced before it is online', async () => {
    await heartbeat(t, 'lw-back');
    const s = await placeSandbox(t, 'lw-back', { runtimeId: 'rt-back' });
    const w = await t.store.workers.getWorker('lw-back');
    await t.store.workers.transitionWorker('lw-back', ['online'], 'stale', w?.lastHeartbeatAt);
    await t.store.workers.transitionWorker('lw-back', ['stale'], 'lost', w?.lastHeartbeatAt);
    const r = await heartbeat(t, 'lw-back', { inventory: [{ sandbox_id: s.id, runtime_id: 'rt-back', generation: 1, state: 'running' }] });
    assert.deepEqual(r.json<{ release: string[] }>().release, ['rt-back']);
    assert.deepEqual([(await sandbox(t, s.id)).state, await status(t, 'lw-back')], ['failed', 'online']);
  });
});

describe('liveness: the loop and its races', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('a heartbeat that lands between the decision and the write wins', async () => {
    await heartbeat(t, 'race-1');
    const s = await placeSandbox(t, 'race-1');
    const seen = (await t.store.workers.getWorker('race-1'))?.lastHeartbeatAt ?? 0;
    t.clock.advance(31_000);
    await livenessTick(t.cp, { holdingSince: null });
    // Pretend the sweep decided "lost" from the stale record, then the worker's heartbeat landed.
    await t.store.workers.transitionWorker('race-1', ['lost'], 'stale');
    await heartbeat(t, 'race-1');
    assert.equal(await declareWorkerLost(t.cp, { id: 'race-1', from: 'stale', observedHeartbeatAt: seen }), undefined);
    assert.equal(await status(t, 'race-1'), 'online');
    assert.equal((await sandbox(t, s.id)).state, 'failed', 'fenced by the first (real) loss only');
  });

  it('startLivenessLoop sweeps every min(heartbeat_interval, 1 s) until aborted', async () => {
    const scheduled: { fn: () => void; ms: number }[] = [];
    const timer: Timer = { setTimeout: (fn, ms) => scheduled.push({ fn, ms }), clearTimeout: () => {} };
    const stop = new AbortController();
    const done = startLivenessLoop(t.cp, stop.signal, { timer });
    assert.equal(scheduled[0]?.ms, 1_000);
    await heartbeat(t, 'loop-1');
    t.clock.advance(15_001);
    scheduled[0]?.fn();
    for (let i = 0; i < 50 && scheduled.length < 2; i++) await new Promise((r) => setImmediate(r));
    assert.equal(await status(t, 'loop-1'), 'stale');
    stop.abort();
    await done;
  });
});

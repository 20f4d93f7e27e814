/**
 * The timer-driven sweep (taskSweepTick, manual clock): deadline expiry, lease expiry → requeue with
 * backoff, dead letter once attempts are exhausted, a pending cancel made final — and fault item 2
 * without real processes: a worker whose lease expired gets 409 on heartbeat, presign and report, and
 * none of them changes the task.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTaskLoops, taskSweepTick } from '../../../src/control-plane/loops/tasks.js';
import type { Timer } from '../../../src/control-plane/loops/runner.js';
import type { TaskView } from '../../../src/protocol/tasks.js';
import { eventsOf, freshKind, taskHarness, type ErrorBody, type TaskHarness } from './support.js';

const counter = async (c: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> }, labels: Record<string, string>) =>
  (await c.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;

const total = async (c: { get(): Promise<{ values: Array<{ value: number }> }> }) => (await c.get()).values.reduce((n, v) => n + v.value, 0);

describe('tasks: sweep and stale workers', () => {
  let h: TaskHarness;
  before(async () => (h = await taskHarness({ config: { 'tasks.lease_ttl': 30_000 } })));
  after(() => h.close());

  it('the deadline expires queued and leased tasks; the worker of the leased one is fenced after', async () => {
    const kind = freshKind();
    const queued = await h.submitOk({ kind, timeout_ms: 5_000, run_after: new Date(h.t.clock.now() + 4_000).toISOString() });
    const leasedTask = await h.submitOk({ kind, timeout_ms: 5_000 });
    const [l] = await h.leaseOk('w-dl', [kind]);
    assert.equal(l!.task.id, leasedTask.id);
    h.t.clock.advance(5_000);
    const r = await taskSweepTick(h.t.cp);
    assert.deepEqual(new Set(r.expired), new Set([queued.id, leasedTask.id]));
    for (const id of [queued.id, leasedTask.id]) {
      const v = await h.get(id);
      assert.equal(v.state, 'expired');
      assert.equal(v.error?.code, 'deadline_exceeded');
      const last = (await eventsOf(h, id)).at(-1);
      assert.equal(last?.type, 'task.expired');
      assert.equal(last?.data.reason, 'deadline_exceeded');
    }
    const late = await h.report('w-dl', leasedTask.id, { generation: 1, outcome: { status: 'succeeded', output: 1 } });
    assert.equal(late.status, 409);
    assert.equal((await h.get(leasedTask.id)).state, 'expired');
  });

  it('an expired lease is requeued (attempt + 1, backoff); the late report is 409; the retry completes once', async () => {
    const kind = freshKind();
    const v = await h.submitOk({ kind, retry_backoff_ms: 2_000, max_attempts: 3 });
    const [l1] = await h.leaseOk('w-dead', [kind]);
    const lostBefore = await counter(h.t.cp.metrics.leasesLost, { resource_type: 'task' });
    h.t.clock.advance(30_000);
    const r = await taskSweepTick(h.t.cp);
    assert.deepEqual(r.requeued, [v.id]);
    const q = await h.get(v.id);
    assert.equal(q.state, 'queued');
    assert.equal(q.error?.code, 'lease_expired');
    assert.equal(Date.parse(q.run_after) - h.t.clock.now(), 2_000);
    assert.equal(await counter(h.t.cp.metrics.leasesLost, { resource_type: 'task' }), lostBefore + 1);
    const late = await h.report('w-dead', v.id, { generation: l1!.lease.generation, outcome: { status: 'succeeded', output: 'late' } });
    assert.equal(late.status, 409);
    assert.equal(late.json<ErrorBody>().error.code, 'lease_lost');
    h.t.clock.advance(2_000);
    const [l2] = await h.leaseOk('w-alive', [kind]);
    assert.equal(l2!.task.attempt, 2);
    assert.equal(l2!.lease.generation, 2);
    assert.equal((await h.report('w-alive', v.id, { generation: 2, outcome: { status: 'succeeded', output: 'ok' } })).status, 200);
    assert.equal((await h.report('w-dead', v.id, { generation: 1, outcome: { status: 'succeeded', output: 'late' } })).status, 409);
    const done = await h.get(v.id);
    assert.deepEqual([done.state, done.output], ['succeeded', 'ok']);
    assert.deepEqual((await eventsOf(h, v.id)).map((e) => e.type), ['task.submitted', 'task.leased', 'task.requeued', 'task.leased', 'task.succeeded']);
  });

  it('lease expiry on the last attempt dead-letters the task; a pending cancel becomes final instead', async () => {
    const kind = freshKind();
    const v = await h.submitOk({ kind, max_attempts: 1 });
    const c = await h.submitOk({ kind, max_attempts: 3 });
    await h.leaseOk('w-x', [kind], { max: 2 });
    await h.t.request('POST', `/api/v1/tasks/${c.id}/cancel`, { key: h.t.keys.apiA, body: {} });
    h.t.clock.advance(30_000);
    const r = await taskSweepTick(h.t.cp);
    assert.deepEqual(r.failed, [v.id]);
    assert.deepEqual(r.cancelled, [c.id]);
    assert.equal((await h.get(v.id)).state, 'failed');
    assert.equal((await h.get(v.id)).error?.code, 'lease_expired');
    assert.equal((await h.get(c.id)).state, 'cancelled');
    // Nothing left to do: a second tick changes nothing.
    const again = await taskSweepTick(h.t.cp);
    assert.ok(![...again.failed, ...again.cancelled, ...again.requeued, ...again.expired].some((id) => id === v.id || id === c.id));
  });

  it('fault item 2: a paused worker whose lease expired gets 409 on heartbeat, presign and report, and changes nothing', async () => {
    const kind = freshKind();
    const v = await h.submitOk({ kind, max_attempts: 5 });
    const [stale] = await h.leaseOk('w-paused', [kind]);
    const gen = stale!.lease.generation;
    await h.heartbeat('w-paused', v.id, { generation: gen, progress: { step: 1 } });
    h.t.clock.advance(30_001); // SIGSTOP past the lease TTL; no sweep has run yet
    const fencedBefore = await total(h.t.cp.metrics.fencedRejected);
    const frozen = await h.get(v.id);
    const calls = [
      () => h.heartbeat('w-paused', v.id, { generation: gen, progress: { step: 2 } }),
      () => h.presign('w-paused', v.id, { generation: gen, key: `tasks/${v.id}/out`, op: 'put' }),
      () => h.report('w-paused', v.id, { generation: gen, outcome: { status: 'succeeded', output: 'stale' } }),
    ];
    for (const call of calls) {
      const r = await call();
      assert.equal(r.status, 409, r.text);
      assert.equal(r.json<ErrorBody>().error.code, 'lease_lost');
    }
    assert.deepEqual(await h.get(v.id), frozen, 'state, attempt, progress and output are unchanged');
    // Now the sweep requeues it and another worker takes it; the paused one resumes and is still fenced.
    await taskSweepTick(h.t.cp);
    h.t.clock.advance(60_000);
    const [fresh] = await h.leaseOk('w-fresh', [kind]);
    assert.equal(fresh!.lease.generation, gen + 1);
    const leased = await h.get(v.id);
    for (const call of calls) assert.equal((await call()).status, 409);
    assert.deepEqual(await h.get(v.id), leased);
    assert.equal(await total(h.t.cp.metrics.fencedRejected), fencedBefore + 6, 'every stale call is counted');
    assert.equal((await h.report('w-fresh', v.id, { generation: gen + 1, outcome: { status: 'succeeded', output: 'fresh' } })).status, 200);
    const done: TaskView = await h.get(v.id);
    assert.deepEqual([done.state, done.output, done.attempt], ['succeeded', 'fresh', 2]);
  });

  it('startTaskLoops runs the sweep on its timer, only on the ticks shouldRun allows, and stops with its signal', async () => {
    const kind = freshKind();
    const v = await h.submitOk({ kind, timeout_ms: 1_000 });
    h.t.clock.advance(1_000);
    const fired: Array<() => void> = [];
    const timer: Timer = { setTimeout: (fn) => fired.push(fn), clearTimeout: () => undefined };
    const stop = new AbortController();
    const ticks: number[] = [];
    const done = startTaskLoops(h.t.cp, stop.signal, { timer, shouldRun: (n) => (ticks.push(n), n >= 2) });
    const step = async () => {
      fired.shift()!();
      // Let the tick's store calls finish before looking.
      for (let i = 0; i < 50 && fired.length === 0; i++) await new Promise((r) => setImmediate(r));
    };
    await step();
    assert.equal((await h.get(v.id)).state, 'queued', 'tick 1 was skipped');
    await step();
    assert.equal((await h.get(v.id)).state, 'expired');
    assert.deepEqual(ticks, [1, 2]);
    stop.abort();
    await done;
  });
});

/** Heartbeat, report and presign: fencing, idempotency, the grant, limits, metrics and audit. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LeasedTask, PresignReply, TaskHeartbeatReply, TaskReportReply } from '../../../src/protocol/tasks.js';
import { eventsOf, freshKind, taskHarness, type ErrorBody, type TaskHarness } from './support.js';

const counterValue = async (c: { get(): Promise<{ values: Array<{ labels: Record<string, unknown>; value: number }> }> }, labels: Record<string, string>) =>
  (await c.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;

describe('tasks: worker protocol', () => {
  let h: TaskHarness;
  before(async () => (h = await taskHarness({ config: { 'tasks.lease_ttl': 30_000, 'tasks.max_output_bytes': 1_000, 'artifacts.max_url_ttl': 600_000 } })));
  after(() => h.close());

  const leaseOne = async (workerId: string, submit: Record<string, unknown> = {}): Promise<LeasedTask> => {
    const kind = freshKind();
    await h.submitOk({ kind, ...submit });
    const [l] = await h.leaseOk(workerId, [kind]);
    assert.ok(l);
    return l;
  };

  it('heartbeat extends the lease by lease_ttl from now, never the deadline, and records progress', async () => {
    const l = await leaseOne('w-hb', { timeout_ms: 100_000 });
    h.t.clock.advance(20_000);
    const r = await h.heartbeat('w-hb', l.task.id, { generation: l.lease.generation, progress: { pct: 40 } });
    assert.equal(r.status, 200, r.text);
    const hb = r.json<TaskHeartbeatReply>();
    assert.equal(hb.lease_expires_at, new Date(h.t.clock.now() + 30_000).toISOString());
    assert.equal(hb.cancel, false);
    const v = await h.get(l.task.id);
    assert.deepEqual(v.progress, { pct: 40 });
    assert.equal(v.deadline, l.task.deadline, 'the deadline never moves');
    // Past the deadline the lease may still be live, but the worker is told to stop.
    h.t.clock.advance(25_000);
    await h.heartbeat('w-hb', l.task.id, { generation: l.lease.generation });
    h.t.clock.advance(25_000);
    await h.heartbeat('w-hb', l.task.id, { generation: l.lease.generation });
    h.t.clock.advance(25_000);
    assert.equal((await h.heartbeat('w-hb', l.task.id, { generation: l.lease.generation })).json<TaskHeartbeatReply>().cancel, false);
    h.t.clock.advance(10_000); // 105 s: past the 100 s deadline, inside the last lease extension
    const late = (await h.heartbeat('w-hb', l.task.id, { generation: l.lease.generation })).json<TaskHeartbeatReply>();
    assert.equal(late.cancel, true);
  });

  it('report: applied once, an identical repeat is a replay, a different one or a stale generation is 409 and changes nothing', async () => {
    const l = await leaseOne('w-rep');
    const id = l.task.id;
    const outcome = { status: 'succeeded', output: { r: 42 }, artifacts: [`tasks/${id}/out.bin`] };
    const first = await h.report('w-rep', id, { generation: l.lease.generation, outcome });
    assert.equal(first.status, 200, first.text);
    assert.deepEqual(first.json<TaskReportReply>(), { task: { id, state: 'succeeded' }, replay: false });
    const again = await h.report('w-rep', id, { generation: l.lease.generation, outcome });
    assert.deepEqual(again.json<TaskReportReply>(), { task: { id, state: 'succeeded' }, replay: true });
    const before = await h.get(id);
    const fencedBefore = await counterValue(h.t.cp.metrics.fencedRejected, { kind: 'task_report' });
    for (const body of [
      { generation: l.lease.generation, outcome: { status: 'succeeded', output: { r: 43 } } },
      { generation: l.lease.generation + 1, outcome },
      { generation: l.lease.generation, outcome: { status: 'failed', error: { message: 'late' } } },
    ]) {
      const r = await h.report('w-rep', id, body);
      assert.equal(r.status, 409, r.text);
      assert.equal(r.json<ErrorBody>().error.code, 'lease_lost');
    }
    assert.deepEqual(await h.get(id), before);
    assert.equal(await counterValue(h.t.cp.metrics.fencedRejected, { kind: 'task_report' }), fencedBefore + 3);
    assert.deepEqual((await eventsOf(h, id)).map((e) => e.type), ['task.submitted', 'task.leased', 'task.succeeded']);
    assert.ok((await counterValue(h.t.cp.metrics.tasksByOutcome, { outcome: 'succeeded' })) >= 1);
    const audit = await h.t.store.audit.list({ kind: 'all' }, { action: 'worker.tasks.report', resourceId: id }, { limit: 10 });
    assert.deepEqual(audit.items.map((a) => a.outcome).sort(), ['error', 'error', 'error', 'ok', 'ok']);
  });

  it('report: output over tasks.max_output_bytes is 413, an artifact outside the grant is 403; neither changes anything', async () => {
    const l = await leaseOne('w-lim');
    const id = l.task.id;
    const big = await h.report('w-lim', id, { generation: 1, outcome: { status: 'succeeded', output: 'x'.repeat(1_000) } });
    assert.equal(big.status, 413);
    assert.equal(big.json<ErrorBody>().error.code, 'payload_too_large');
    for (const key of [`tasks/${id}/../other/x`, `tasks/other-task/x`, `/tasks/${id}/x`, `tasks/${id}/%2e%2e/x`, `tasks/${id}`]) {
      const r = await h.report('w-lim', id, { generation: 1, outcome: { status: 'succeeded', output: null, artifacts: [`tasks/${id}/ok`, key] } });
      assert.equal(r.status, 403, `${key}: ${r.text}`);
      assert.equal(r.json<ErrorBody>().error.code, 'forbidden');
    }
    assert.equal((await h.get(id)).state, 'leased');
    // Within the limits it goes through; keys are stored in their canonical (NFC) form.
    const ok = await h.report('w-lim', id, { generation: 1, outcome: { status: 'succeeded', output: 'x'.repeat(900), artifacts: [`tasks/${id}/cafe\u0301.txt`] } });
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual((await h.get(id)).artifacts, [`tasks/${id}/caf\u00e9.txt`]);
  });

  it('a retryable failure requeues with backoff and records the run time; the retry has a new generation', async () => {
    const kind = freshKind();
    const v = await h.submitOk({ kind, retry_backoff_ms: 5_000, max_attempts: 3 });
    const [l1] = await h.leaseOk('w-f1', [kind]);
    h.t.clock.advance(1_500);
    const r = await h.report('w-f1', v.id, { generation: l1!.lease.generation, outcome: { status: 'failed', error: { message: 'flaky', code: 'E_NET' } } });
    assert.equal(r.json<TaskReportReply>().task.state, 'queued');
    const q = await h.get(v.id);
    assert.deepEqual(q.error, { message: 'flaky', code: 'E_NET' });
    assert.equal(Date.parse(q.run_after) - h.t.clock.now(), 5_000);
    assert.deepEqual(await h.leaseOk('w-f2', [kind]), []);
    h.t.clock.advance(5_000);
    const [l2] = await h.leaseOk('w-f2', [kind]);
    assert.equal(l2!.task.attempt, 2);
    assert.equal(l2!.lease.generation, 2);
    assert.deepEqual((await eventsOf(h, v.id)).map((e) => e.type), ['task.submitted', 'task.leased', 'task.requeued', 'task.leased']);
    const run = await h.t.cp.metrics.taskRunDuration.get();
    assert.ok(run.values.some((x) => x.metricName?.endsWith('_sum') && x.labels.kind === kind && x.labels.outcome === 'failed' && x.value === 1.5));
  });

  it('max attempts exhausted: failed, with the last error', async () => {
    const kind = freshKind();
    const v = await h.submitOk({ kind, max_attempts: 2, retry_backoff_ms: 0 });
    for (const [i, message] of ['first', 'second'].entries()) {
      const [l] = await h.leaseOk(`w-max-${i}`, [kind]);
      await h.report(`w-max-${i}`, v.id, { generation: l!.lease.generation, outcome: { status: 'failed', error: { message } } });
    }
    const final = await h.get(v.id);
    assert.equal(final.state, 'failed');
    assert.equal(final.attempt, 2);
    assert.deepEqual(final.error, { message: 'second' });
    assert.ok(final.ended_at);
    assert.equal((await eventsOf(h, v.id)).at(-1)?.type, 'task.failed');
  });

  describe('presign', () => {
    it('grants put and get for keys under tasks/{id}/, bounded by max_url_ttl', async () => {
      const l = await leaseOne('w-ps', { timeout_ms: 3_600_000 });
      for (const op of ['put', 'get'] as const) {
        const r = await h.presign('w-ps', l.task.id, { generation: 1, key: `tasks/${l.task.id}/out/part-1.bin`, op });
        assert.equal(r.status, 200, r.text);
        const p = r.json<PresignReply>();
        assert.equal(p.method, op === 'put' ? 'PUT' : 'GET');
        assert.equal(p.key, `tasks/${l.task.id}/out/part-1.bin`);
        assert.equal(p.expires_at, new Date(h.t.clock.now() + 600_000).toISOString(), 'max_url_ttl is shorter than the deadline');
        assert.ok(p.url.startsWith(`${h.t.cp.publicUrl()}/api/v1/blobs/tasks/${l.task.id}/out/part-1.bin?`));
      }
    });

    it('a URL never outlives the task deadline', async () => {
      const l = await leaseOne('w-dl', { timeout_ms: 60_000 });
      h.t.clock.advance(10_000);
      const p = (await h.presign('w-dl', l.task.id, { generation: 1, key: `tasks/${l.task.id}/x`, op: 'put' })).json<PresignReply>();
      assert.equal(p.expires_at, l.task.deadline);
      assert.equal(new URL(p.url).searchParams.get('expires'), String(Date.parse(l.task.deadline)));
    });

    it("any key outside the grant is 403 — dot segments, encoded escapes, absolute, another task's prefix — and is audited as denied", async () => {
      const l = await leaseOne('w-bad');
      const other = await leaseOne('w-bad');
      const id = l.task.id;
      const keys = [
        `tasks/${id}/../${other.task.id}/x`,
        `tasks/${id}/%2e%2e/${other.task.id}/x`,
        `tasks/${id}/%2E%2E%2Fx`,
        `/tasks/${id}/x`,
        `tasks/${other.task.id}/x`,
        `tasks/${id}`,
        `tasks/${id}/`,
        `tasks/${id}\\..\\x`,
        `tasks/${id}/./x`,
        `tasks/${id}x/y`,
        'etc/passwd',
      ];
      for (const key of keys) {
        const r = await h.presign('w-bad', id, { generation: 1, key, op: 'put' });
        assert.equal(r.status, 403, `${key}: ${r.status} ${r.text}`);
        assert.equal(r.json<ErrorBody>().error.code, 'forbidden');
      }
      const audit = await h.t.store.audit.list({ kind: 'all' }, { action: 'worker.tasks.presign', resourceId: id }, { limit: 100 });
      assert.equal(audit.items.length, keys.length);
      assert.ok(audit.items.every((a) => a.outcome === 'denied' && a.actorId === 'w-bad'));
    });

    it('is fenced: another generation or another worker is 409 lease_lost', async () => {
      const l = await leaseOne('w-fence');
      const before = await counterValue(h.t.cp.metrics.fencedRejected, { kind: 'task_presign' });
      const key = `tasks/${l.task.id}/x`;
      assert.equal((await h.presign('w-fence', l.task.id, { generation: 2, key, op: 'put' })).status, 409);
      assert.equal((await h.presign('w-other', l.task.id, { generation: 1, key, op: 'put' })).status, 409);
      assert.equal(await counterValue(h.t.cp.metrics.fencedRejected, { kind: 'task_presign' }), before + 2);
    });
  });
});

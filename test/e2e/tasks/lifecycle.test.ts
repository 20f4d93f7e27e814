/**
 * How a task ends, end to end with real processes (04-tasks.md): cancel through the API reaches the
 * running handler's signal on its next heartbeat; a task pinned to a code version goes only to a worker
 * running that version; a deadline ends a task `expired`; exhausted attempts end it `failed` with the
 * last error. The lease TTL is 2 s, so a heartbeat goes out about every 2/3 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { call } from '../support/processes.js';
import { ADMIN_KEY, startTaskCluster, type TaskCluster } from './cluster.js';

describe('task lifecycle end to end (SQLite, lease TTL 2 s)', () => {
  let c: TaskCluster;
  before(async () => {
    c = await startTaskCluster({ driver: 'sqlite' }, { DROVER_TASKS_LEASE_TTL: '2s' });
  });
  after(() => c?.close());

  it('cancel via the API reaches the running handler within one heartbeat; the task ends cancelled', async () => {
    const w = await c.startWorker({ id: 'tw-cancel', kinds: ['e2e.cancel=sleep'], concurrency: 2 });
    const task = await c.submit({ kind: 'e2e.cancel', input: { ms: 120_000 } });
    await w.waitFor((l) => l.ev === 'start' && l.task === task.id, 'handler start');
    await w.waitFor((l) => l.ev === 'write' && l.kind === 'heartbeat' && l.task === task.id && l.status === 200, 'a heartbeat');
    const r = await call(c.url, 'POST', `/api/v1/tasks/${task.id}/cancel`, { key: ADMIN_KEY, body: {} });
    assert.equal(r.status, 200);
    const cancelledAt = Date.now();
    assert.equal((r.body as { cancel_requested: boolean }).cancel_requested, true);

    const aborted = await w.waitFor((l) => l.ev === 'abort' && l.task === task.id, 'abort');
    assert.equal(aborted.reason, 'cancelled');
    const done = await c.waitTerminal(task.id);
    assert.equal(done.state, 'cancelled');
    const settled = await w.waitFor((l) => l.ev === 'settled' && l.task === task.id, 'settled');
    assert.equal(settled.result, 'cancelled', 'the worker reported cancelled');

    // "Within one heartbeat": the handler was aborted on the first heartbeat answer that carried the
    // cancel; no heartbeat sent after the cancel was answered without it, and at most one went out
    // between the cancel and the abort (one may already have been in flight when the cancel landed).
    const beats = w.lines.filter((l) => l.ev === 'write' && l.kind === 'heartbeat' && l.task === task.id);
    const carried = beats.find((b) => b.cancel === true);
    assert.ok(carried, 'a heartbeat answered cancel: true');
    assert.ok(aborted.at >= carried.at, 'aborted on that answer');
    assert.deepEqual(beats.filter((b) => (b.sent as number) > cancelledAt && b.status === 200 && b.cancel !== true), [], 'no heartbeat after the cancel missed it');
    assert.ok(beats.filter((b) => (b.sent as number) > cancelledAt && b.at <= aborted.at).length <= 1);
    const report = w.lines.find((l) => l.ev === 'write' && l.kind === 'report' && l.task === task.id);
    assert.deepEqual([report?.status, report?.outcome, report?.state], [200, 'cancelled', 'cancelled']);
    await w.stop();
  });

  it('a task pinned to code version v1 never goes to a v2 worker; a v1 worker gets it', async () => {
    const v2 = await c.startWorker({ id: 'tw-v2', kinds: ['e2e.cv=noop'], concurrency: 4, codeVersion: 'v2' });
    const pinned = await c.submit({ kind: 'e2e.cv', input: {}, code_version: 'v1' });
    // Control: an unpinned task submitted after the pinned one goes to v2, so v2 was leasing all along.
    const unpinned = await c.submit({ kind: 'e2e.cv', input: {} });
    const control = await c.waitTerminal(unpinned.id);
    assert.deepEqual([control.state, control.worker_id], ['succeeded', v2.id]);
    const pinnedNow = await c.task(pinned.id);
    assert.deepEqual([pinnedNow.state, pinnedNow.attempt, pinnedNow.worker_id], ['queued', 0, null]);

    const v1 = await c.startWorker({ id: 'tw-v1', kinds: ['e2e.cv=noop'], concurrency: 4, codeVersion: 'v1' });
    const done = await c.waitTerminal(pinned.id);
    assert.deepEqual([done.state, done.worker_id, done.attempt], ['succeeded', v1.id, 1]);
    assert.ok(!v2.lines.some((l) => l.task === pinned.id), 'v2 never saw the pinned task');
    await v1.stop();
    await v2.stop();
  });

  it('a deadline ends a running task expired, and a queued one too; the worker reports nothing', async () => {
    const w = await c.startWorker({ id: 'tw-deadline', kinds: ['e2e.deadline=sleep'], concurrency: 2 });
    const running = await c.submit({ kind: 'e2e.deadline', input: { ms: 120_000 }, timeout_ms: 1_500 });
    const queued = await c.submit({ kind: 'e2e.nobody', input: {}, timeout_ms: 1_000 });
    await w.waitFor((l) => l.ev === 'start' && l.task === running.id, 'handler start');
    for (const t of [running, queued]) {
      const done = await c.waitTerminal(t.id, 15_000);
      assert.equal(done.state, 'expired');
      assert.equal(done.error?.code, 'deadline_exceeded');
    }
    const aborted = await w.waitFor((l) => l.ev === 'abort' && l.task === running.id, 'abort');
    assert.equal(aborted.reason, 'deadline');
    const settled = await w.waitFor((l) => l.ev === 'settled' && l.task === running.id, 'settled');
    assert.deepEqual([settled.result, settled.reason], ['discarded', 'deadline']);
    assert.ok(!w.lines.some((l) => l.ev === 'write' && l.kind === 'report' && l.task === running.id), 'no report');
    await w.stop();
  });

  it('exhausted attempts end the task failed with the last error message', async () => {
    const w = await c.startWorker({ id: 'tw-fail', kinds: ['e2e.fail=fail'], concurrency: 2 });
    const task = await c.submit({ kind: 'e2e.fail', input: { message: 'boom' }, max_attempts: 3, retry_backoff_ms: 0 });
    const done = await c.waitTerminal(task.id);
    assert.equal(done.state, 'failed');
    assert.equal(done.attempt, 3);
    assert.equal(done.error?.message, 'boom (attempt 3)');
    await w.waitFor((l) => l.ev === 'settled' && l.task === task.id && l.gen === done.lease_generation, 'the last settlement');
    const starts = w.lines.filter((l) => l.ev === 'start' && l.task === task.id).map((l) => l.attempt);
    assert.deepEqual(starts, [1, 2, 3]);
    const reports = w.lines.filter((l) => l.ev === 'write' && l.kind === 'report' && l.task === task.id).map((l) => [l.status, l.outcome, l.state]);
    assert.deepEqual(reports, [
      [200, 'failed', 'queued'],
      [200, 'failed', 'queued'],
      [200, 'failed', 'failed'],
    ]);
    // A non-retryable failure ends the task at once.
    const fatal = await c.submit({ kind: 'e2e.fail', input: { message: 'bad input', retryable: false }, max_attempts: 3 });
    const fatalDone = await c.waitTerminal(fatal.id);
    assert.deepEqual([fatalDone.state, fatalDone.attempt, fatalDone.error?.message], ['failed', 1, 'bad input (attempt 1)']);
    await w.stop();
  });
});

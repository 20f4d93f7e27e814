/**
 * Fault suite items 1 and 2 (06-quality.md) with real processes, one at a time:
 *  1. A task-worker process SIGKILLed mid-task: the task is re-leased only after its lease ran out, by
 *     another worker, and completes once; the dead worker's late report, replayed with its credentials
 *     and generation, is refused (409 lease_lost) and changes nothing.
 *  2. A task-worker process paused (SIGSTOP) past its leases, then resumed (SIGCONT): the heartbeat,
 *     presign and report it had decided to send before the pause go out afterwards, are refused with 409,
 *     and change nothing; the same writes replayed by hand are refused too.
 * The lease TTL is 2 s and the sweep runs every second, so each takeover takes a few seconds.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TaskView } from '../../../src/protocol/tasks.js';
import { checkHistory, type HistoryRecord, type WriteKind } from '../support/history.js';
import { call } from '../support/processes.js';
import type { WorkerLine } from '../support/task-worker-main.js';
import { ADMIN_KEY, startTaskCluster, WORKER_TOKEN, type TaskCluster } from './cluster.js';

const LEASE_TTL_MS = 2_000;

/** What a stale write must leave exactly as it was. */
const snapshot = (t: TaskView) => ({
  state: t.state,
  attempt: t.attempt,
  generation: t.lease_generation,
  worker_id: t.worker_id,
  output: t.output,
  error: t.error,
  artifacts: t.artifacts,
  progress: t.progress,
  updated_at: t.updated_at,
  ended_at: t.ended_at,
});

/** A fenced write sent by the test with a worker's credentials, recorded in the history like a worker's. */
async function replay(c: TaskCluster, worker: string, kind: WriteKind, task: string, gen: number, history: HistoryRecord[]) {
  const body =
    kind === 'heartbeat'
      ? { generation: gen, progress: { late: true } }
      : kind === 'presign'
        ? { generation: gen, key: `tasks/${task}/late.bin`, op: 'put' }
        : { generation: gen, outcome: { status: 'succeeded', output: { by: worker, late: true } } };
  const sent = Date.now();
  const r = await call(c.url, 'POST', `/api/v1/worker/${worker}/tasks/${task}/${kind}`, { worker: { id: worker, token: WORKER_TOKEN }, body });
  history.push({ op: 'write', kind, task, gen, worker, sent, at: Date.now(), status: r.status });
  return r;
}

const codeOf = (body: unknown) => (body as { error?: { code?: string } }).error?.code;

describe('task worker faults: SIGKILL and SIGSTOP (SQLite, lease TTL 2 s)', () => {
  let c: TaskCluster;
  before(async () => {
    c = await startTaskCluster({ driver: 'sqlite' }, { DROVER_TASKS_LEASE_TTL: `${LEASE_TTL_MS}ms` });
  });
  after(() => c?.close());

  it('a worker SIGKILLed mid-task: re-leased after the TTL by another worker, completed once; its late report is refused', async () => {
    const a = await c.startWorker({ id: 'tw-kill-a', kinds: ['e2e.kill=sleep'], concurrency: 1 });
    const task = await c.submit({ kind: 'e2e.kill', input: { ms: 120_000, retry_ms: 20 }, retry_backoff_ms: 0, max_attempts: 3 });
    const started = await a.waitFor((l) => l.ev === 'start' && l.task === task.id, 'handler start');
    // The lease is live and being kept: one heartbeat accepted.
    await a.waitFor((l) => l.ev === 'write' && l.kind === 'heartbeat' && l.task === task.id && l.status === 200, 'an accepted heartbeat');
    a.signal('SIGKILL');
    await a.exited;
    const lastExpiry = Math.max(...a.lines.filter((l) => l.task === task.id && typeof l.lease_expires_at === 'string').map((l) => Date.parse(l.lease_expires_at as string)));

    const b = await c.startWorker({ id: 'tw-kill-b', kinds: ['e2e.kill=sleep'], concurrency: 1 });
    const done = await c.waitTerminal(task.id, 30_000);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.attempt, 2);
    assert.equal(done.worker_id, b.id);
    assert.deepEqual(done.output, { by: b.id, gen: done.lease_generation, slept: 20 });
    assert.ok(done.lease_generation > started.gen!, 'a new generation');

    // The dead worker's late writes, with its credentials and the generation it had.
    const history = c.history;
    for (const kind of ['report', 'heartbeat', 'presign'] as const) {
      const r = await replay(c, a.id, kind, task.id, started.gen!, history);
      assert.equal(r.status, 409, `${kind}: ${JSON.stringify(r.body)}`);
      assert.equal(codeOf(r.body), 'lease_lost');
    }
    assert.deepEqual(snapshot(await c.task(task.id)), snapshot(done), 'the late writes changed nothing');

    const attempts = (await c.attempts([task.id])).sort((x, y) => x.attempt - y.attempt);
    // Safety, not speed: the task went to b only once a's lease had run out. Both times are the serve
    // process's (SQLite's store clock); `lastExpiry` is the latest expiry a was seen to be granted.
    assert.ok(attempts[1]!.started_at >= lastExpiry, `re-leased at ${attempts[1]!.started_at}, before a's lease expired at ${lastExpiry}`);
    assert.deepEqual(
      attempts.map((x) => [x.attempt, x.worker_id, x.generation, (JSON.parse(x.outcome ?? 'null') as { status: string }).status]),
      [
        [1, a.id, started.gen, 'failed'],
        [2, b.id, done.lease_generation, 'succeeded'],
      ],
    );
    await b.waitFor((l) => l.ev === 'settled' && l.task === task.id, "b's settlement");
    await c.recordFinals([task.id]);
    const check = checkHistory(c.fullHistory().filter((r) => r.task === task.id), { expectState: 'succeeded' });
    assert.deepEqual(check.violations, []);
    assert.equal(check.stats.completions, 1);
    assert.equal(check.stats.staleRefused, 3);
    await b.stop();
  });

  it('a worker paused past its leases, then resumed: its heartbeat, presign and report get 409 and change nothing', async () => {
    const kinds = ['e2e.stop.hb=sleep', 'e2e.stop.art=artifact', 'e2e.stop.rep=noop'];
    // The first heartbeat, presign and report this worker decides to send wait for `release`: the
    // process is stopped after deciding to send and before the bytes leave (see task-worker-main.ts).
    const a = await c.startWorker({ id: 'tw-stop-a', kinds, concurrency: 3, hold: 'release:heartbeat,presign,report' });
    const tasks = [
      await c.submit({ kind: 'e2e.stop.rep', input: {}, retry_backoff_ms: 0 }),
      await c.submit({ kind: 'e2e.stop.art', input: { files: [{ name: 'out.bin', size: 4096, seed: 7, mode: 'buffer' }] }, retry_backoff_ms: 0 }),
      await c.submit({ kind: 'e2e.stop.hb', input: { ms: 120_000, retry_ms: 20 }, retry_backoff_ms: 0 }),
    ];
    const held = new Map<string, WorkerLine>();
    for (const kind of ['report', 'presign', 'heartbeat']) held.set(kind, await a.waitFor((l) => l.ev === 'hold' && l.kind === kind, `a held ${kind}`));
    const leasedByA = new Map(a.lines.filter((l) => l.ev === 'lease').map((l) => [l.task!, l.gen!]));
    assert.equal(leasedByA.size, 3);

    a.signal('SIGSTOP');
    const b = await c.startWorker({ id: 'tw-stop-b', kinds, concurrency: 3 });
    const done = await Promise.all(tasks.map((t) => c.waitTerminal(t.id, 30_000)));
    for (const t of done) {
      assert.equal(t.state, 'succeeded', `${t.kind}: ${JSON.stringify(t.error)}`);
      assert.equal(t.worker_id, b.id);
      assert.ok(t.lease_generation > leasedByA.get(t.id)!, 'taken over at a newer generation');
    }

    a.signal('SIGCONT');
    a.command('release');
    const refused = new Map<string, WorkerLine>();
    for (const kind of ['report', 'presign', 'heartbeat']) {
      const h = held.get(kind)!;
      refused.set(kind, await a.waitFor((l) => l.ev === 'write' && l.kind === kind && l.task === h.task && l.gen === h.gen && (l.sent as number) >= h.at, `a's late ${kind}`));
    }
    for (const [kind, w] of refused) {
      assert.equal(w.status, 409, `${kind} answered ${w.status}`);
      assert.equal(w.code, 'lease_lost');
    }
    // The worker gave up each task without reporting anything else.
    const settled = await Promise.all(tasks.map((t) => a.waitFor((l) => l.ev === 'settled' && l.task === t.id, `a settles ${t.kind}`)));
    for (const s of settled) assert.deepEqual([s.result, s.reason], ['discarded', 'lease_lost']);

    // The same writes once more by hand, and the rows are exactly as b left them.
    for (const t of tasks) {
      for (const kind of ['heartbeat', 'presign', 'report'] as const) {
        const r = await replay(c, a.id, kind, t.id, leasedByA.get(t.id)!, c.history);
        assert.equal(r.status, 409, `${kind} on ${t.kind}: ${JSON.stringify(r.body)}`);
      }
    }
    const now = await Promise.all(tasks.map((t) => c.task(t.id)));
    assert.deepEqual(now.map(snapshot), done.map(snapshot), 'nothing changed');
    // b's artifact is the only object: a's refused presign never led to an upload.
    const listing = await call(c.url, 'GET', `/api/v1/tasks/${tasks[1]!.id}/artifacts`, { key: ADMIN_KEY });
    assert.deepEqual((listing.body as { items: Array<{ key: string }> }).items.map((i) => i.key), [`tasks/${tasks[1]!.id}/out.bin`]);

    await Promise.all(tasks.map((t) => b.waitFor((l) => l.ev === 'settled' && l.task === t.id, "b's settlement")));
    const ids = tasks.map((t) => t.id);
    await c.recordFinals(ids);
    const check = checkHistory(c.fullHistory().filter((r) => ids.includes(r.task)), { expectState: 'succeeded' });
    assert.deepEqual(check.violations, []);
    assert.equal(check.stats.completions, 3);
    assert.ok(check.stats.staleRefused >= 3 + 9, `stale writes refused: ${check.stats.staleRefused}`);
    assert.equal(check.stats.staleAccepted, 0);
    await a.stop();
    await b.stop();
  });
});

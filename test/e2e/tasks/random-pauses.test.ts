/**
 * Fault suite item 2, randomized (06-quality.md): 1,000 tasks over four task-worker processes that are
 * paused (SIGSTOP) and resumed (SIGCONT) at random points, some past their 2 s leases, while the workers
 * also hold some fenced writes for a moment before sending them (so a pause can fall between deciding to
 * send and sending). Afterwards the history must show exactly one accepted completion per task and no
 * stale write accepted, and every task must have succeeded. Bounded: pauses stop after PAUSE_WINDOW_MS,
 * and the run fails if the tasks are not all done by then plus RUN_SLACK_MS.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createTestDatabase, describePostgres, type TestDatabase } from '../../support/postgres.js';
import { checkHistory } from '../support/history.js';
import type { TaskWorkerProcess } from '../support/task-worker-main.js';
import { countBy, startTaskCluster, type StoreChoice, type TaskCluster } from './cluster.js';

const TASKS = 1_000;
const WORKERS = 4;
const CONCURRENCY = 8;
const LEASE_TTL_MS = 2_000;
const PAUSE_WINDOW_MS = 25_000;
const RUN_SLACK_MS = 45_000;

/** A pause long enough that the sweep has certainly taken the worker's leases. */
const LONG_PAUSE_MS = LEASE_TTL_MS + 1_800;

interface Pause {
  worker: string;
  ms: number;
}

/**
 * Two pausers, each stopping a random worker that is not already stopped, for a random time (the first
 * pause is long, so at least one worker surely loses leases while it holds tasks).
 */
async function pauseAtRandom(workers: TaskWorkerProcess[], finished: () => boolean, until: number): Promise<Pause[]> {
  const pauses: Pause[] = [];
  const stopped = new Set<string>();
  const pauser = async (first: boolean) => {
    let long = first;
    while (!finished() && Date.now() < until) {
      const free = workers.filter((w) => !stopped.has(w.id));
      const w = free[Math.floor(Math.random() * free.length)]!;
      const ms = long ? LONG_PAUSE_MS : 100 + Math.floor(Math.random() * (LEASE_TTL_MS + 1_500));
      long = false;
      stopped.add(w.id);
      w.signal('SIGSTOP');
      await delay(ms);
      w.signal('SIGCONT');
      stopped.delete(w.id);
      pauses.push({ worker: w.id, ms });
      await delay(50 + Math.floor(Math.random() * 700));
    }
  };
  await Promise.all([pauser(true), pauser(false)]);
  return pauses;
}

function randomPauses(store: () => StoreChoice) {
  let c: TaskCluster;
  before(async () => {
    c = await startTaskCluster(store(), { DROVER_TASKS_LEASE_TTL: `${LEASE_TTL_MS}ms` });
  });
  after(() => c?.close());

  it(`${TASKS} tasks over ${WORKERS} workers paused at random: one accepted completion each, no stale write accepted`, async (t) => {
    // All submitted before the workers start, so every worker is busy whenever it is paused.
    const ids = await c.submitMany(TASKS, (i) => ({ kind: 'e2e.rand', input: { ms: 10 + (i % 7) * 10 }, retry_backoff_ms: 0, max_attempts: 20 }));
    for (let i = 0; i < WORKERS; i++) {
      await c.startWorker({ id: `tw-rand-${i}`, kinds: ['e2e.rand=sleep'], concurrency: CONCURRENCY, hold: 'random:0.3:500' });
    }
    let done = false;
    const started = Date.now();
    const pausing = pauseAtRandom(c.workers, () => done, started + PAUSE_WINDOW_MS);
    try {
      await c.waitAllTerminal(ids, PAUSE_WINDOW_MS + RUN_SLACK_MS);
    } finally {
      done = true;
    }
    const pauses = await pausing;
    await Promise.all(c.workers.map((w) => w.stop()));

    const finals = await c.recordFinals(ids);
    assert.deepEqual(countBy(finals, (f) => f.state), { succeeded: TASKS });
    const check = checkHistory(c.fullHistory(), { expectState: 'succeeded' });
    assert.deepEqual(check.violations.slice(0, 20), [], `${check.violations.length} violations`);
    assert.equal(check.stats.completions, TASKS);
    assert.equal(check.stats.staleAccepted, 0);

    // The faults had teeth: some tasks were taken from a paused worker and run again elsewhere.
    const attempts = await c.attempts(ids);
    const retried = new Set(attempts.filter((a) => a.attempt > 1).map((a) => a.task_id));
    assert.ok(retried.size > 0, 'no task was ever taken over');
    assert.ok(check.stats.leases > TASKS);
    const succeeded = attempts.filter((a) => (JSON.parse(a.outcome ?? 'null') as { status?: string } | null)?.status === 'succeeded');
    assert.equal(succeeded.length, TASKS, 'one succeeded attempt row per task');
    t.diagnostic(
      `pauses: ${pauses.length} (${pauses.filter((p) => p.ms > LEASE_TTL_MS).length} past the lease); tasks taken over: ${retried.size}; ` +
        `stale writes refused: ${check.stats.staleRefused}; other 409s: ${check.stats.otherRefused}; leases: ${check.stats.leases}; ` +
        `attempts: ${JSON.stringify(countBy(finals, (f) => String(f.attempt)))}`,
    );
  });
}

describe('random pauses (SQLite)', () => randomPauses(() => ({ driver: 'sqlite' })));

await describePostgres('random pauses (PostgreSQL)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db?.drop());
  randomPauses(() => ({ driver: 'postgres', url: db.url }));
});

/**
 * The task system end to end (issue "Remote tasks and artifacts", "Done when"): 1,000 no-op tasks over
 * four SDK task-worker processes (concurrency 8 each) against a real `drover serve`, on SQLite and on
 * PostgreSQL. Every task succeeds exactly once: the history check (one accepted completion per task,
 * no stale write accepted) and the store's attempt rows (one attempt, the first, per task) agree.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createTestDatabase, describePostgres, type TestDatabase } from '../../support/postgres.js';
import { checkHistory } from '../support/history.js';
import { countBy, startTaskCluster, type StoreChoice, type TaskCluster } from './cluster.js';

const TASKS = 1_000;
const WORKERS = 4;
const CONCURRENCY = 8;

function manyNoops(store: () => StoreChoice) {
  let c: TaskCluster;
  before(async () => {
    c = await startTaskCluster(store());
    for (let i = 0; i < WORKERS; i++) await c.startWorker({ id: `tw-many-${i}`, kinds: ['e2e.noop=noop'], concurrency: CONCURRENCY });
  });
  after(() => c?.close());

  it(`runs ${TASKS} no-op tasks over ${WORKERS} worker processes, each exactly once`, async (t) => {
    const ids = await c.submitMany(TASKS, (i) => ({ kind: 'e2e.noop', input: { i } }));
    await c.waitAllTerminal(ids, 90_000);
    // Stopping drains: every report's answer is on a worker's stdout before the history is read.
    await Promise.all(c.workers.map((w) => w.stop()));
    const finals = await c.recordFinals(ids);
    assert.deepEqual(countBy(finals, (f) => f.state), { succeeded: TASKS });

    const check = checkHistory(c.fullHistory(), { expectState: 'succeeded' });
    assert.deepEqual(check.violations.slice(0, 20), [], `${check.violations.length} violations`);
    assert.equal(check.stats.completions, TASKS);
    assert.equal(check.stats.staleAccepted, 0);

    const attempts = await c.attempts(ids);
    assert.equal(attempts.length, TASKS, 'one attempt row per task');
    const gens = new Map(finals.map((f) => [f.task, f.gen]));
    for (const a of attempts) {
      assert.equal(a.attempt, 1, `task ${a.task_id} ran attempt ${a.attempt}`);
      assert.equal(a.generation, gens.get(a.task_id));
      assert.equal((JSON.parse(a.outcome ?? 'null') as { status?: string } | null)?.status, 'succeeded');
    }
    // The work really was spread over the processes, and each task ran its handler once.
    const starts = c.workers.flatMap((w) => w.lines.filter((l) => l.ev === 'start'));
    assert.equal(starts.length, TASKS, 'handler starts');
    assert.equal(new Set(starts.map((s) => s.task)).size, TASKS);
    const perWorker = countBy(starts, (s) => s.w);
    for (const w of c.workers) assert.ok((perWorker[w.id] ?? 0) > 0, `${w.id} ran nothing: ${JSON.stringify(perWorker)}`);
    t.diagnostic(`handlers per worker: ${JSON.stringify(perWorker)}`);
  });
}

describe('1,000 tasks over four worker processes (SQLite)', () => manyNoops(() => ({ driver: 'sqlite' })));

await describePostgres('1,000 tasks over four worker processes (PostgreSQL)', () => {
  let db: TestDatabase;
  before(async () => {
    db = await createTestDatabase();
  });
  after(() => db?.drop());
  manyNoops(() => ({ driver: 'postgres', url: db.url }));
});

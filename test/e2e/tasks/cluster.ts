/**
 * The end-to-end task fixture: one real `drover serve` (SQLite or PostgreSQL, configured by env), a
 * read-only view of its database for the checks the API does not show (attempt rows), task-worker
 * processes, and the caller's side of the history (submits, final rows). Not a test file itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { systemClock } from '../../../src/domain/clock.js';
import type { TaskView } from '../../../src/protocol/tasks.js';
import type { Driver } from '../../../src/store/driver.js';
import { openPostgres } from '../../../src/store/postgres/driver.js';
import { openSqlite } from '../../../src/store/sqlite/driver.js';
import type { FinalRecord, HistoryRecord } from '../support/history.js';
import { call, startServe, type DroverProcess } from '../support/processes.js';
import { startTaskWorkerProcess, type TaskWorkerProcess, type TaskWorkerProcessOptions } from '../support/task-worker-main.js';

export const WORKER_TOKEN = 'wt-e2e-tasks-0123456789abcdef';
export const ADMIN_KEY = 'drv_e2e-tasks-admin-0123456789abcdef';
export const TERMINAL = ['succeeded', 'failed', 'cancelled', 'expired'];

export type StoreChoice = { driver: 'sqlite' } | { driver: 'postgres'; url: string };

export interface AttemptRow {
  task_id: string;
  attempt: number;
  worker_id: string;
  generation: number;
  /** Store clock (on SQLite, the serve process's clock: this host's). */
  started_at: number;
  outcome: string | null;
}

export interface TaskCluster {
  url: string;
  serve: DroverProcess;
  db: Driver;
  workers: TaskWorkerProcess[];
  /** The caller's records: submits (and finals, once `recordFinals` ran). */
  history: HistoryRecord[];
  startWorker(o: Omit<TaskWorkerProcessOptions, 'url' | 'token'>): Promise<TaskWorkerProcess>;
  submit(body: Record<string, unknown>): Promise<TaskView>;
  /** `count` submits, `parallel` at a time, each recorded in the history. */
  submitMany(count: number, body: (i: number) => Record<string, unknown>, parallel?: number): Promise<string[]>;
  task(id: string): Promise<TaskView>;
  /** Long-polls until the task is terminal; throws if it is not within `timeoutMs`. */
  waitTerminal(id: string, timeoutMs?: number): Promise<TaskView>;
  /** Until every task in `ids` is terminal in the store (polled), bounded. */
  waitAllTerminal(ids: string[], timeoutMs: number): Promise<void>;
  attempts(ids: string[]): Promise<AttemptRow[]>;
  /** Reads the tasks' rows and appends them to the history as `final` records. */
  recordFinals(ids: string[]): Promise<FinalRecord[]>;
  /** Every record: the caller's and each worker's. */
  fullHistory(): HistoryRecord[];
  close(): Promise<void>;
}

export async function startTaskCluster(store: StoreChoice, env: Record<string, string> = {}): Promise<TaskCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-e2e-tasks-'));
  const dbPath = join(dir, 'drover.db');
  const storeEnv: Record<string, string> =
    store.driver === 'sqlite' ? { DROVER_DATABASE_PATH: dbPath } : { DROVER_DATABASE_DRIVER: 'postgres', DROVER_DATABASE_DSN: store.url };
  const serve = await startServe({
    cwd: dir,
    env: {
      DROVER_AUTH_WORKER_TOKEN: WORKER_TOKEN,
      DROVER_AUTH_ADMIN_API_KEY: ADMIN_KEY,
      DROVER_RATE_LIMIT_ENABLED: 'false',
      DROVER_ARTIFACTS_PATH: join(dir, 'artifacts'),
      DROVER_ARTIFACTS_SIGNING_KEY: 'e2e-tasks-signing-key-0123456789abcdef',
      ...storeEnv,
      ...env,
    },
  });
  const db = store.driver === 'sqlite' ? openSqlite({ path: dbPath, clock: systemClock }) : openPostgres({ dsn: store.url, poolSize: 2 });
  const workers: TaskWorkerProcess[] = [];
  const history: HistoryRecord[] = [];
  const api = (method: string, path: string, body?: unknown) => call(serve.url, method, path, { key: ADMIN_KEY, body });

  const submit = async (body: Record<string, unknown>) => {
    const r = await api('POST', '/api/v1/tasks', body);
    if (r.status !== 201) throw new Error(`submit answered ${r.status}: ${JSON.stringify(r.body)}`);
    const view = r.body as TaskView;
    history.push({ op: 'submit', task: view.id, at: Date.now() });
    return view;
  };

  const cluster: TaskCluster = {
    url: serve.url,
    serve,
    db,
    workers,
    history,
    async startWorker(o) {
      const w = await startTaskWorkerProcess({ url: serve.url, token: WORKER_TOKEN, ...o });
      workers.push(w);
      return w;
    },
    submit,
    async submitMany(count, body, parallel = 16) {
      const ids: string[] = new Array<string>(count);
      let next = 0;
      await Promise.all(
        Array.from({ length: parallel }, async () => {
          for (let i = next++; i < count; i = next++) ids[i] = (await submit(body(i))).id;
        }),
      );
      return ids;
    },
    async task(id) {
      const r = await api('GET', `/api/v1/tasks/${id}`);
      if (r.status !== 200) throw new Error(`get task answered ${r.status}: ${JSON.stringify(r.body)}`);
      return r.body as TaskView;
    },
    async waitTerminal(id, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const left = until - Date.now();
        const r = await api('GET', `/api/v1/tasks/${id}/wait?timeout_ms=${Math.max(0, Math.min(left, 60_000))}`);
        const t = r.body as TaskView;
        if (r.status === 200 && TERMINAL.includes(t.state)) return t;
        if (Date.now() >= until) throw new Error(`task ${id} is still ${t.state} after ${timeoutMs} ms`);
      }
    },
    async waitAllTerminal(ids, timeoutMs) {
      const until = Date.now() + timeoutMs;
      const wanted = new Set(ids);
      for (;;) {
        const rows = await db.db.selectFrom('tasks').select(['id', 'state']).where('state', 'in', TERMINAL).execute();
        const done = rows.filter((r) => wanted.has(r.id)).length;
        if (done === wanted.size) return;
        if (Date.now() >= until) throw new Error(`${wanted.size - done} of ${wanted.size} tasks not terminal after ${timeoutMs} ms`);
        await delay(250);
      }
    },
    async attempts(ids) {
      const rows = await db.db.selectFrom('task_attempts').select(['task_id', 'attempt', 'worker_id', 'generation', 'started_at', 'outcome']).where('task_id', 'in', ids).execute();
      return rows.map((r) => ({ task_id: r.task_id, attempt: Number(r.attempt), worker_id: r.worker_id, generation: Number(r.generation), started_at: Number(r.started_at), outcome: r.outcome }));
    },
    async recordFinals(ids) {
      const rows = await db.db.selectFrom('tasks').select(['id', 'state', 'generation', 'attempt', 'worker_id']).where('id', 'in', ids).execute();
      const finals = rows.map((r): FinalRecord => ({ op: 'final', task: r.id, state: r.state, gen: Number(r.generation), attempt: Number(r.attempt), worker: r.worker_id }));
      history.push(...finals);
      return finals;
    },
    fullHistory: () => [...history, ...workers.flatMap((w) => w.history())],
    async close() {
      await Promise.all(workers.map((w) => w.stop()));
      await serve.stop();
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return cluster;
}

/** Histogram of values, for failure messages and reports. */
export function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) out[key(item)] = (out[key(item)] ?? 0) + 1;
  return out;
}

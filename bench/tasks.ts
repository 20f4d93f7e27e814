/**
 * `tasks` (06-quality.md): no-op tasks through one `drover serve` process and four SDK task-worker
 * processes (bench/lib/task-worker.ts), on one store:
 *  - throughput: every task is submitted first, then the workers are told to go; the time from `go`
 *    until every task has been settled `succeeded` on a worker;
 *  - submit→start latency: with the workers idle (long-polling), tasks are submitted one at a time at a
 *    steady rate (open loop: on schedule, whether or not earlier submits answered); latency is the
 *    handler's start minus the moment the submit was sent, both on the wall clock of this one host.
 * Everything shares the machine (2 cores here): the numbers include that contention.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startBenchServer } from './lib/serve.js';
import { summarize, type LatencySummary } from './lib/stats.js';

const TOKEN = 'wt-bench-tasks-0123456789abcdef';
const ADMIN = 'drv_bench-tasks-admin-0123456789abcdef';
const KIND = 'bench.noop';
const WORKER_ENTRY = fileURLToPath(new URL('./lib/task-worker.js', import.meta.url));
/** How long one phase may take before the benchmark gives up (it is a benchmark, not a soak test). */
const PHASE_LIMIT_MS = 15 * 60_000;

/** The same wall clock as the worker processes use (bench/lib/task-worker.ts). */
const wallClock = () => performance.timeOrigin + performance.now();

export interface TasksParams {
  label: string;
  env: Record<string, string>;
  /** Throughput phase: tasks submitted up front. */
  tasks: number;
  workers: number;
  concurrency: number;
  /**
   * Latency phases, in order: `tasks` submitted one at a time at `ratePerS`. The spec's rate is 500/s; a
   * lower one alongside shows the latency of an unsaturated control plane.
   */
  latency: Array<{ tasks: number; ratePerS: number }>;
}

export interface LatencyResult {
  tasks: number;
  offered_per_s: number;
  achieved_submit_per_s: number;
  submit_errors: number;
  /** What the failed submits answered (status and error code, or the connection error). */
  submit_error_kinds: Record<string, number>;
  submit_to_start_ms: LatencySummary;
  submit_request_ms: LatencySummary;
}

export interface TasksResult {
  label: string;
  throughput: { tasks: number; seconds: number; tasks_per_s: number; submit_per_s: number; not_succeeded: number };
  latency: LatencyResult[];
}

interface BenchWorker {
  proc: ChildProcess;
  send(cmd: string): void;
  exited: Promise<void>;
}

/** One line from a bench worker (bench/lib/task-worker.ts). */
interface WorkerLine {
  up?: boolean;
  s?: string;
  at?: number;
  d?: string;
  r?: string;
  e?: string;
}

/** Handler starts and settlements from every worker, with waiters on their counts. */
class Tally {
  readonly startedAt = new Map<string, number>();
  succeeded = 0;
  other = 0;
  private waiters: Array<() => void> = [];
  record(line: WorkerLine) {
    if (line.s !== undefined && !this.startedAt.has(line.s)) this.startedAt.set(line.s, line.at!);
    if (line.d !== undefined && line.r === 'succeeded') this.succeeded++;
    else if (line.d !== undefined) this.other++;
    if (line.e !== undefined) console.error(`worker: lease error: ${line.e}`);
    for (const w of this.waiters) w();
  }
  until(done: () => boolean, what: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`tasks bench: ${what} not reached within ${PHASE_LIMIT_MS} ms`)), PHASE_LIMIT_MS);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve();
      };
      this.waiters.push(check);
      check();
    });
  }
}

async function startWorker(url: string, id: string, concurrency: number, tally: Tally): Promise<BenchWorker> {
  const proc = spawn(process.execPath, [WORKER_ENTRY], {
    env: { PATH: process.env.PATH ?? '', BW_URL: url, BW_TOKEN: TOKEN, BW_ID: id, BW_KIND: KIND, BW_CONCURRENCY: String(concurrency) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  proc.stdin!.on('error', () => undefined);
  const up = new Promise<void>((resolve, reject) => {
    void exited.then(() => reject(new Error(`bench worker ${id} exited before it was up`)));
    createInterface({ input: proc.stdout! }).on('line', (text) => {
      const line = JSON.parse(text) as WorkerLine;
      if (line.up) resolve();
      else tally.record(line);
    });
  });
  await up;
  return { proc, exited, send: (cmd) => proc.stdin!.write(`${cmd}\n`) };
}

/** A tenant's `api` key, as a real caller submits with (the admin key would also ensure a tenant per call). */
async function createApiKey(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role: 'api', tenant_id: 'bench', name: 'tasks bench' }),
  });
  const body = (await res.json()) as { key?: string };
  if (res.status !== 201 || !body.key) throw new Error(`creating an API key answered ${res.status}`);
  return body.key;
}

async function submit(url: string, key: string, input: unknown): Promise<string> {
  const res = await fetch(`${url}/api/v1/tasks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ kind: KIND, input }),
  });
  const body = (await res.json()) as { id?: string; error?: { code?: string } };
  if (res.status !== 201 || !body.id) throw new SubmitError(`${res.status} ${body.error?.code ?? ''}`.trim(), JSON.stringify(body));
  return body.id;
}

class SubmitError extends Error {
  constructor(
    readonly kind: string,
    body: string,
  ) {
    super(`submit answered ${kind}: ${body.slice(0, 300)}`);
  }
}

/** `count` submits, `parallel` at a time (closed loop): the fastest way to fill the queue. */
async function submitAll(url: string, key: string, count: number, parallel: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      for (let i = next++; i < count; i = next++) await submit(url, key, { i });
    }),
  );
  return count / ((performance.now() - t0) / 1000);
}

async function countSucceeded(url: string, key: string): Promise<number> {
  let n = 0;
  let cursor: string | null = null;
  do {
    const res = await fetch(`${url}/api/v1/tasks?state=succeeded&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { headers: { authorization: `Bearer ${key}` } });
    const page = (await res.json()) as { items: unknown[]; next_cursor: string | null };
    n += page.items.length;
    cursor = page.next_cursor;
  } while (cursor);
  return n;
}

async function throughputPhase(url: string, key: string, p: TasksParams, workers: BenchWorker[], tally: Tally): Promise<TasksResult['throughput']> {
  const submitPerS = await submitAll(url, key, p.tasks, 32);
  const t0 = performance.now();
  for (const w of workers) w.send('go');
  await tally.until(() => tally.succeeded + tally.other >= p.tasks, `${p.tasks} settled tasks`);
  const seconds = (performance.now() - t0) / 1000;
  return { tasks: p.tasks, seconds: round(seconds), tasks_per_s: Math.round(p.tasks / seconds), submit_per_s: Math.round(submitPerS), not_succeeded: tally.other };
}

async function latencyPhase(url: string, key: string, p: { tasks: number; ratePerS: number }, tally: Tally): Promise<LatencyResult> {
  const sentAt: Array<{ id: string; at: number } | undefined> = [];
  const requestMs: number[] = [];
  let errors = 0;
  const kinds: Record<string, number> = {};
  const interval = 1000 / p.ratePerS;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let n = 0; n < p.tasks; n++) {
    const wait = start + n * interval - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const at = wallClock();
    const t0 = performance.now();
    inflight.push(
      submit(url, key, { n }).then(
        (id) => {
          requestMs.push(performance.now() - t0);
          sentAt[n] = { id, at };
        },
        (err: unknown) => {
          errors++;
          const kind = err instanceof SubmitError ? err.kind : `connection: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`;
          kinds[kind] = (kinds[kind] ?? 0) + 1;
        },
      ),
    );
  }
  await Promise.all(inflight);
  const submitSeconds = (performance.now() - start) / 1000;
  const ids = sentAt.filter((s): s is { id: string; at: number } => s !== undefined);
  await tally.until(() => ids.every((s) => tally.startedAt.has(s.id)), `${ids.length} handler starts`);
  const latencies = ids.map((s) => tally.startedAt.get(s.id)! - s.at);
  return {
    tasks: p.tasks,
    offered_per_s: p.ratePerS,
    achieved_submit_per_s: Math.round(ids.length / submitSeconds),
    submit_errors: errors,
    submit_error_kinds: kinds,
    submit_to_start_ms: summarize(latencies),
    submit_request_ms: summarize(requestMs),
  };
}

export async function runTasks(p: TasksParams): Promise<TasksResult> {
  const server = await startBenchServer({ ...p.env, DROVER_AUTH_WORKER_TOKEN: TOKEN, DROVER_AUTH_ADMIN_API_KEY: ADMIN });
  const tally = new Tally();
  const workers: BenchWorker[] = [];
  try {
    const key = await createApiKey(server.url);
    for (let i = 0; i < p.workers; i++) workers.push(await startWorker(server.url, `bench-tw-${i}`, p.concurrency, tally));
    const throughput = await throughputPhase(server.url, key, p, workers, tally);
    let submitted = p.tasks;
    const latency: LatencyResult[] = [];
    for (const run of p.latency) {
      // Every earlier task settled and every worker back in its long poll before the steady submits start.
      await tally.until(() => tally.succeeded + tally.other >= submitted, `${submitted} settled tasks`);
      await new Promise((r) => setTimeout(r, 1_000));
      const l = await latencyPhase(server.url, key, run, tally);
      latency.push(l);
      submitted += run.tasks - l.submit_errors;
    }
    await tally.until(() => tally.succeeded + tally.other >= submitted, `${submitted} settled tasks`);
    const succeeded = await countSucceeded(server.url, key);
    if (succeeded !== submitted) {
      throw new Error(`tasks bench (${p.label}): ${succeeded} tasks succeeded in the store, expected ${submitted}`);
    }
    return { label: p.label, throughput, latency };
  } finally {
    for (const w of workers) w.send('stop');
    await Promise.all(
      workers.map(async (w) => {
        const kill = setTimeout(() => w.proc.kill('SIGKILL'), 10_000);
        await w.exited;
        clearTimeout(kill);
      }),
    );
    await server.stop();
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

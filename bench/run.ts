/**
 * `npm run bench -- <name> [--quick]`: run one benchmark, print a table, write bench/results/<name>.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { runHeartbeats } from './heartbeats.js';
import { benchPostgres } from './lib/postgres.js';
import { runTasks, type TasksResult } from './tasks.js';

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));

async function heartbeats(quick: boolean) {
  const rates = quick ? [200, 500] : [500, 1000, 2000, 3000, 4000, 5000, 7500, 10000, 15000];
  const params = { workers: quick ? 200 : 5000, rates, secondsPerStep: quick ? 2 : 5 };
  const sqlite = await runHeartbeats({ ...params, env: {}, label: 'sqlite' });
  const rows = sqlite.steps.map((s) => ({ store: 'sqlite', offered: s.offered_per_s, achieved: s.achieved_per_s, errors: s.errors, p50_ms: s.latency_ms.p50, p99_ms: s.latency_ms.p99 }));
  return { params, metrics: { sqlite }, rows };
}

async function tasks(quick: boolean) {
  const latency = quick ? [{ tasks: 200, ratePerS: 100 }, { tasks: 500, ratePerS: 500 }] : [{ tasks: 1000, ratePerS: 100 }, { tasks: 10000, ratePerS: 500 }];
  const params = { tasks: quick ? 2000 : 20000, workers: 4, concurrency: quick ? 8 : 32, latency };
  const sqlite = await runTasks({ ...params, env: {}, label: 'sqlite' });
  const pg = await benchPostgres();
  let postgres: TasksResult;
  try {
    postgres = await runTasks({ ...params, env: { DROVER_DATABASE_DRIVER: 'postgres', DROVER_DATABASE_DSN: pg.url }, label: 'postgres' });
  } finally {
    await pg.close();
  }
  const rows = [sqlite, postgres].flatMap((r) =>
    r.latency.map((l) => ({
      store: r.label,
      tasks: r.throughput.tasks,
      tasks_per_s: r.throughput.tasks_per_s,
      seconds: r.throughput.seconds,
      submits_per_s: `${l.achieved_submit_per_s}/${l.offered_per_s}`,
      start_p50_ms: l.submit_to_start_ms.p50,
      start_p90_ms: l.submit_to_start_ms.p90,
      start_p99_ms: l.submit_to_start_ms.p99,
      start_max_ms: l.submit_to_start_ms.max,
      submit_errors: l.submit_errors,
    })),
  );
  return { params: { ...params, postgres: pg.source }, metrics: { sqlite, postgres }, rows };
}

const BENCHMARKS: Record<string, (quick: boolean) => Promise<{ params: unknown; metrics: unknown; rows: Record<string, unknown>[] }>> = { heartbeats, tasks };

async function main(argv: string[]) {
  const quick = argv.includes('--quick');
  const names = argv.filter((a) => !a.startsWith('--'));
  const selected = names.length === 0 || names.includes('all') ? Object.keys(BENCHMARKS) : names;
  for (const name of selected) {
    const bench = BENCHMARKS[name];
    if (!bench) throw new Error(`unknown benchmark ${name}; known: ${Object.keys(BENCHMARKS).join(', ')}`);
    const result = await bench(quick);
    console.table(result.rows);
    mkdirSync(RESULTS, { recursive: true });
    const file = `${RESULTS}${name}.json`;
    writeFileSync(file, JSON.stringify({ name, quick, machine: { cpus: cpus().length, node: process.versions.node }, params: result.params, metrics: result.metrics }, null, 2));
    console.log(`wrote ${file}`);
  }
}

await main(process.argv.slice(2));

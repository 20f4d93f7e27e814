/**
 * `heartbeats`: simulated workers heartbeating against one `drover serve` process, at increasing
 * offered rates; for each rate, the achieved rate and handling latency percentiles. The highest rate
 * whose p99 stays under 50 ms is the result (06-quality.md).
 */
import { summarize, type LatencySummary } from './lib/stats.js';
import { startBenchServer } from './lib/serve.js';

const TOKEN = 'wt-bench-heartbeats-0123456789';

interface Step {
  offered_per_s: number;
  achieved_per_s: number;
  errors: number;
  latency_ms: LatencySummary;
}

export interface HeartbeatParams {
  workers: number;
  rates: number[];
  secondsPerStep: number;
  env: Record<string, string>;
  label: string;
}

function body(i: number) {
  return JSON.stringify({
    hostname: `bench-${i}`,
    version: 'bench',
    status: 'online',
    providers: ['mock'],
    capabilities: [],
    labels: {},
    capacity: { cpu: 8, memory_mb: 16384, disk_mb: 100000, max_sandboxes: 50 },
    rpc_url: null,
    inventory: [],
  });
}

/** Open-loop load: requests are sent on schedule whether or not earlier ones answered. */
async function step(url: string, workers: number, rate: number, seconds: number): Promise<Step> {
  const latencies: number[] = [];
  let errors = 0;
  const total = Math.round(rate * seconds);
  const interval = 1000 / rate;
  const start = performance.now();
  const inflight: Promise<void>[] = [];
  for (let n = 0; n < total; n++) {
    const due = start + n * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const id = `bench-w-${n % workers}`;
    const t0 = performance.now();
    inflight.push(
      fetch(`${url}/api/v1/worker/${id}/heartbeat`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-worker-id': id, 'x-worker-token': TOKEN }, body: body(n % workers) })
        .then(async (res) => {
          await res.arrayBuffer();
          if (res.status !== 200) errors++;
          latencies.push(performance.now() - t0);
        })
        .catch(() => void errors++),
    );
  }
  await Promise.all(inflight);
  const elapsed = (performance.now() - start) / 1000;
  return { offered_per_s: rate, achieved_per_s: Math.round(latencies.length / elapsed), errors, latency_ms: summarize(latencies) };
}

export async function runHeartbeats(p: HeartbeatParams) {
  const server = await startBenchServer({ ...p.env, DROVER_AUTH_WORKER_TOKEN: TOKEN, DROVER_AUTH_ADMIN_API_KEY: 'drv_bench-admin-0123456789abcdef' });
  try {
    // Register every worker once, so steps measure steady-state heartbeats, not registrations.
    await step(server.url, p.workers, Math.min(2000, p.workers), p.workers / Math.min(2000, p.workers));
    const steps: Step[] = [];
    for (const rate of p.rates) {
      const s = await step(server.url, p.workers, rate, p.secondsPerStep);
      steps.push(s);
      if (s.latency_ms.p99 >= 50 || s.errors > 0) break;
    }
    const sustained = steps.filter((s) => s.latency_ms.p99 < 50 && s.errors === 0).map((s) => s.achieved_per_s);
    return { label: p.label, steps, max_sustained_per_s: sustained.length ? Math.max(...sustained) : 0 };
  } finally {
    await server.stop();
  }
}

/**
 * Every Prometheus metric the control plane exports (05-operations.md, "Observability"), in one
 * registry per control-plane instance: no global default registry, so two instances in one test
 * process never share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export function createMetrics(options: { defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'drover_process_' });
  const registers = [registry];
  const m = {
    registry,
    httpDuration: new Histogram({ name: 'drover_http_request_duration_seconds', help: 'HTTP request latency by route and status', labelNames: ['method', 'route', 'status'], buckets: LATENCY_BUCKETS, registers }),
    sandboxCreateDuration: new Histogram({ name: 'drover_sandbox_create_duration_seconds', help: 'Sandbox create latency, request to running', labelNames: ['provider'], buckets: LATENCY_BUCKETS, registers }),
    execDuration: new Histogram({ name: 'drover_exec_duration_seconds', help: 'Sync exec latency through the control plane', buckets: LATENCY_BUCKETS, registers }),
    placementDuration: new Histogram({ name: 'drover_placement_duration_seconds', help: 'Placement decision and commit latency', labelNames: ['outcome'], buckets: LATENCY_BUCKETS, registers }),
    taskStartLatency: new Histogram({ name: 'drover_task_submit_to_start_seconds', help: 'Task submit to first lease', labelNames: ['kind'], buckets: LATENCY_BUCKETS, registers }),
    taskRunDuration: new Histogram({ name: 'drover_task_run_duration_seconds', help: 'Task attempt run time, lease to report', labelNames: ['kind', 'outcome'], buckets: LATENCY_BUCKETS, registers }),
    heartbeatDuration: new Histogram({ name: 'drover_heartbeat_handling_seconds', help: 'Worker heartbeat handling latency', buckets: LATENCY_BUCKETS, registers }),
    placements: new Counter({ name: 'drover_placements_total', help: 'Placement attempts by outcome', labelNames: ['outcome'], registers }),
    leasesLost: new Counter({ name: 'drover_leases_lost_total', help: 'Leases expired or taken over', labelNames: ['resource_type'], registers }),
    fencedRejected: new Counter({ name: 'drover_fenced_writes_rejected_total', help: 'Writes rejected for a stale lease generation', labelNames: ['kind'], registers }),
    tasksByOutcome: new Counter({ name: 'drover_tasks_total', help: 'Task attempts ended, by outcome', labelNames: ['outcome'], registers }),
    workerTransitions: new Counter({ name: 'drover_worker_transitions_total', help: 'Worker status transitions', labelNames: ['from', 'to'], registers }),
    massLossSuspected: new Counter({ name: 'drover_workers_mass_loss_suspected_total', help: 'Sweeps that held back declaring workers lost', registers }),
    rateLimited: new Counter({ name: 'drover_rate_limited_total', help: 'Requests refused by the rate limiter', registers }),
    workersByStatus: new Gauge({ name: 'drover_workers', help: 'Workers by status', labelNames: ['status'], registers }),
    sandboxesByState: new Gauge({ name: 'drover_sandboxes', help: 'Sandboxes by state', labelNames: ['state'], registers }),
    tasksByState: new Gauge({ name: 'drover_tasks', help: 'Tasks by state', labelNames: ['state'], registers }),
    queueDepth: new Gauge({ name: 'drover_queue_depth', help: 'Pending sandboxes and queued tasks', labelNames: ['queue'], registers }),
    activeLeases: new Gauge({ name: 'drover_active_leases', help: 'Live leases by resource type', labelNames: ['resource_type'], registers }),
  };
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;

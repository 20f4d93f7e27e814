/**
 * The state gauges (workers by status, sandboxes by state, tasks by state, queue depth, active leases)
 * are read from the store when /metrics is scraped, not kept up to date by the code that changes
 * state: the store is shared by every replica, so a counter kept in one process would only ever see
 * that replica's share, while a count read at scrape time is the same from every replica.
 */
import type { Gauge } from 'prom-client';
import { SANDBOX_STATES } from '../../domain/states/sandbox.js';
import { TASK_STATES } from '../../domain/states/task.js';
import { WORKER_STATUSES } from '../../domain/states/worker.js';
import { allTenants } from '../../store/types.js';
import type { Store } from '../../store/store.js';
import type { Metrics } from './metrics.js';

export interface StateCounts {
  workersByStatus: Record<string, number>;
  sandboxesByState: Record<string, number>;
  tasksByState: Record<string, number>;
  activeLeasesByType: Record<string, number>;
}

/** The lease resource types always exported (as 0 when none), so a dashboard's series never vanish. */
const LEASE_TYPES = ['sandbox', 'task'] as const;

export async function readStateCounts(store: Store): Promise<StateCounts> {
  const [workersByStatus, sandboxesByState, tasksByState, leases] = await Promise.all([
    store.workers.countWorkersByStatus(),
    store.events.countSandboxesByState(),
    store.tasks.countTasksByState(allTenants),
    store.events.leaseCounts(0),
  ]);
  return { workersByStatus, sandboxesByState, tasksByState, activeLeasesByType: leases.activeByType };
}

/** Set every state gauge from `counts`; known states with no rows are exported as 0. */
export function setStateGauges(metrics: Metrics, counts: StateCounts): void {
  setAll(metrics.workersByStatus, 'status', WORKER_STATUSES, counts.workersByStatus);
  setAll(metrics.sandboxesByState, 'state', SANDBOX_STATES, counts.sandboxesByState);
  setAll(metrics.tasksByState, 'state', TASK_STATES, counts.tasksByState);
  setAll(metrics.activeLeases, 'resource_type', LEASE_TYPES, counts.activeLeasesByType);
  metrics.queueDepth.reset();
  metrics.queueDepth.set({ queue: 'sandboxes_pending' }, counts.sandboxesByState.pending ?? 0);
  metrics.queueDepth.set({ queue: 'tasks_queued' }, counts.tasksByState.queued ?? 0);
}

/**
 * Refresh before a scrape. When the store cannot be read the state gauges are cleared rather than left
 * at their last values: an absent series is an honest "unknown", a stale number looks like a fact. The
 * process metrics (HTTP latency, counters) are still served, so the scrape itself keeps working.
 */
export async function refreshGauges(store: Store, metrics: Metrics): Promise<boolean> {
  try {
    setStateGauges(metrics, await readStateCounts(store));
    return true;
  } catch {
    for (const g of [metrics.workersByStatus, metrics.sandboxesByState, metrics.tasksByState, metrics.activeLeases, metrics.queueDepth]) g.reset();
    return false;
  }
}

function setAll(gauge: Gauge, label: string, known: readonly string[], counts: Record<string, number>): void {
  gauge.reset();
  for (const key of new Set([...known, ...Object.keys(counts)])) gauge.set({ [label]: key }, counts[key] ?? 0);
}

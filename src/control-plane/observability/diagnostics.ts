/**
 * GET /api/v1/diagnostics: one document that tells an operator whether this control plane and its
 * fleet are healthy and, when not, what to do (05-operations.md). Everything is counts, settings and
 * ids; nothing is copied from a record wholesale, so a secret (a worker's rpc_secret, a key hash, the
 * DSN) cannot ride along. Limits are picked from the config field by field for the same reason.
 *
 * The store is read once per section with aggregate queries. When it cannot be reached the document is
 * still served (with the problem at the top): diagnostics is what one opens when things are broken.
 */
import { performance } from 'node:perf_hooks';
import { buildInfo } from '../../domain/build-info.js';
import { toRfc3339 } from '../../domain/clock.js';
import { allTenants } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { findProblems, type ProblemFacts } from './problems.js';
import { EVENT_RETENTION } from './retention.js';

const TOP_HOLDERS = 10;

type Counts = Record<string, number>;

async function readFleet(cp: ControlPlane, storeNow: number) {
  const [workers, sandboxesByState, placements, tasksByState, tasksByKind, leases, events] = await Promise.all([
    cp.store.workers.allWorkers(),
    cp.store.events.countSandboxesByState(),
    cp.store.events.countLiveSandboxPlacements(),
    cp.store.tasks.countTasksByState(allTenants),
    cp.store.events.countTasksByKind(),
    cp.store.events.leaseCounts(TOP_HOLDERS),
    cp.store.events.eventLogStats(),
  ]);
  const staleBefore = storeNow - cp.config.workers.stale_after;
  const byProvider: Counts = {};
  const byWorker: Counts = {};
  for (const p of placements) {
    add(byProvider, p.provider ?? 'unplaced', p.count);
    if (p.workerId !== null) add(byWorker, p.workerId, p.count);
  }
  const byKind: Record<string, Counts> = {};
  for (const t of tasksByKind) add((byKind[t.kind] ??= {}), t.state, t.count);
  const workersByStatus: Counts = {};
  for (const w of workers) add(workersByStatus, w.status, 1);
  return {
    workers: {
      total: workers.length,
      by_status: workersByStatus,
      cordoned: workers.filter((w) => w.cordoned).length,
      // Only ids and statuses leave this function; a WorkerRecord also holds the worker's rpc secret.
      silent: workers.filter((w) => w.status !== 'lost' && w.status !== 'drained' && w.lastHeartbeatAt < staleBefore).map((w) => w.id),
    },
    leases: {
      active: sum(leases.activeByType),
      expired: sum(leases.expiredByType),
      active_by_resource_type: leases.activeByType,
      expired_by_resource_type: leases.expiredByType,
      top_holders: leases.topHolders.map((h) => ({ holder_id: h.holderId, active: h.active })),
    },
    sandboxes: { by_state: sandboxesByState, live_by_provider: byProvider, live_by_worker: byWorker },
    tasks: { by_state: tasksByState, by_kind: byKind },
    queues: { pending_sandboxes: sandboxesByState.pending ?? 0, queued_tasks: tasksByState.queued ?? 0 },
    events: {
      count: events.count,
      oldest_seq: events.oldestSeq,
      latest_seq: events.latestSeq,
      oldest_at: events.oldestAt === null ? null : toRfc3339(events.oldestAt),
    },
  };
}

type Fleet = Awaited<ReturnType<typeof readFleet>>;

export async function collectDiagnostics(cp: ControlPlane) {
  const store: { reachable: boolean; latency_ms: number | null; schema: { current: number; latest: number; ready: boolean } | null } = {
    reachable: false,
    latency_ms: null,
    schema: null,
  };
  let fleet: Fleet | undefined;
  try {
    // store.now() is the same round trip as store.ping(), and its answer dates worker heartbeats.
    const started = performance.now();
    const storeNow = await cp.store.now();
    store.latency_ms = round(performance.now() - started);
    store.reachable = true;
    store.schema = await cp.store.schema();
    // Against a schema that is behind, the aggregate queries could name columns that do not exist yet.
    if (store.schema.ready) fleet = await readFleet(cp, storeNow);
  } catch (err) {
    if (!cp.store.isUnavailable(err)) throw err;
    store.reachable = false;
  }

  const c = cp.config;
  const facts: ProblemFacts = {
    store: { reachable: store.reachable, latencyMs: store.latency_ms, schema: store.schema },
    authEnabled: c.auth.enabled,
  };
  if (fleet) {
    facts.workers = { total: fleet.workers.total, byStatus: fleet.workers.by_status, silent: fleet.workers.silent };
    facts.pendingSandboxes = fleet.queues.pending_sandboxes;
  }
  const now = cp.clock.now();
  return {
    generated_at: toRfc3339(now),
    replica_id: cp.replicaId,
    uptime_ms: Math.max(0, now - cp.startedAt),
    build: buildInfo(),
    store: { driver: cp.store.driver, ...store },
    problems: findProblems(facts),
    workers: fleet?.workers ?? null,
    leases: fleet?.leases ?? null,
    sandboxes: fleet?.sandboxes ?? null,
    tasks: fleet?.tasks ?? null,
    queues: fleet?.queues ?? null,
    events: fleet ? { ...fleet.events, retention: { max_count: EVENT_RETENTION.maxCount, max_age_ms: EVENT_RETENTION.maxAgeMs } } : null,
    limits: {
      body_limit_bytes: c.server.body_limit,
      rate_limit: { enabled: c.rate_limit.enabled, requests_per_minute: c.rate_limit.requests_per_minute, burst: c.rate_limit.burst },
      sandboxes: {
        default_ttl_ms: c.sandboxes.default_ttl,
        max_ttl_ms: c.sandboxes.max_ttl,
        queue_timeout_ms: c.sandboxes.queue_timeout,
        max_exec_timeout_ms: c.sandboxes.max_exec_timeout,
      },
      tasks: {
        lease_ttl_ms: c.tasks.lease_ttl,
        default_timeout_ms: c.tasks.default_timeout,
        default_max_attempts: c.tasks.default_max_attempts,
        max_output_bytes: c.tasks.max_output_bytes,
      },
      workers: { heartbeat_interval_ms: c.workers.heartbeat_interval, stale_after_ms: c.workers.stale_after, lost_after_ms: c.workers.lost_after },
      artifacts: { max_url_ttl_ms: c.artifacts.max_url_ttl },
    },
    // Whether secrets are configured, never what they are.
    auth: {
      enabled: c.auth.enabled,
      admin_key_configured: c.auth.admin_api_key !== undefined,
      shared_worker_token_configured: c.auth.worker_token !== undefined,
      per_worker_tokens: Object.keys(c.auth.worker_tokens).length,
    },
    metrics: { enabled: c.metrics.enabled, token_configured: c.metrics.token !== undefined },
  };
}

export type DiagnosticsBody = Awaited<ReturnType<typeof collectDiagnostics>>;

function add(into: Counts, key: string, n: number): void {
  into[key] = (into[key] ?? 0) + n;
}

function sum(counts: Counts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

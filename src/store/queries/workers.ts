/**
 * Worker registry queries. Status changes are conditional writes (`WHERE status IN (...)` plus the
 * heartbeat time the caller observed), so a heartbeat that lands while a sweep is deciding always wins.
 */
import { sql } from 'kysely';
import type { WorkerStatus } from '../../domain/states/worker.js';
import { bool, bit, fromJson, inTransaction, toJson, type QueryContext } from '../context.js';
import { decodeCursor, toPage } from '../pagination.js';
import type { WorkersTable } from '../schema.js';
import type { HeartbeatInput, Page, PageRequest, WorkerRecord } from '../types.js';

export function toWorker(row: WorkersTable): WorkerRecord {
  const drainDeadline = row.drain_deadline_at === null ? null : Number(row.drain_deadline_at);
  return {
    id: row.id,
    hostname: row.hostname,
    version: row.version,
    status: row.status as WorkerStatus,
    cordoned: bool(Number(row.cordoned)),
    drain: row.status === 'draining' || row.status === 'drained' || drainDeadline !== null || row.drain_requested_at !== null
      ? { deadlineAt: drainDeadline, migrate: bool(Number(row.drain_migrate)) }
      : null,
    providers: fromJson(row.providers),
    capabilities: fromJson(row.capabilities),
    labels: fromJson(row.labels),
    capacity: { cpuMilli: Number(row.cap_cpu_milli), memoryMb: Number(row.cap_memory_mb), diskMb: Number(row.cap_disk_mb), sandboxes: Number(row.cap_sandboxes) },
    allocated: { cpuMilli: Number(row.alloc_cpu_milli), memoryMb: Number(row.alloc_memory_mb), diskMb: Number(row.alloc_disk_mb), sandboxes: Number(row.alloc_sandboxes) },
    rpcUrl: row.rpc_url,
    rpcSecret: row.rpc_secret,
    taskKinds: fromJson(row.task_kinds),
    codeVersion: row.code_version,
    lastHeartbeatAt: Number(row.last_heartbeat_at),
    statusChangedAt: Number(row.status_changed_at),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export interface HeartbeatResult {
  worker: WorkerRecord;
  /** Status before this heartbeat; null when the worker registered just now. */
  previousStatus: WorkerStatus | null;
}

/**
 * Record a heartbeat (registering the worker on its first). Status rule, in the statement:
 * a drain the control plane started is kept (draining/drained stay) unless the worker itself says
 * draining; stale and lost come back online; everything else takes what the worker reports.
 */
export async function recordHeartbeat(ctx: QueryContext, hb: HeartbeatInput): Promise<HeartbeatResult> {
  const now = ctx.now();
  const nextStatus = sql<string>`CASE
    WHEN excluded.status = 'draining' AND workers.status <> 'drained' THEN 'draining'
    WHEN workers.status IN ('draining', 'drained') THEN workers.status
    WHEN workers.drain_requested_at IS NOT NULL THEN 'draining'
    ELSE excluded.status END`;
  const previous = await ctx.db.selectFrom('workers').select('status').where('id', '=', hb.id).executeTakeFirst();
  const row = await ctx.db
    .insertInto('workers')
    .values({
      id: hb.id,
      hostname: hb.hostname,
      version: hb.version,
      status: hb.status,
      cordoned: 0,
      drain_migrate: 0,
      providers: toJson(hb.providers),
      capabilities: toJson(hb.capabilities),
      labels: toJson(hb.labels),
      cap_cpu_milli: hb.capacity.cpuMilli,
      cap_memory_mb: hb.capacity.memoryMb,
      cap_disk_mb: hb.capacity.diskMb,
      cap_sandboxes: hb.capacity.sandboxes,
      alloc_cpu_milli: 0,
      alloc_memory_mb: 0,
      alloc_disk_mb: 0,
      alloc_sandboxes: 0,
      rpc_url: hb.rpcUrl,
      rpc_secret: hb.rpcSecret,
      task_kinds: toJson(hb.taskKinds),
      code_version: hb.codeVersion,
      last_heartbeat_at: now,
      status_changed_at: now,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet({
        hostname: sql<string>`excluded.hostname`,
        version: sql<string>`excluded.version`,
        status: nextStatus,
        status_changed_at: sql<number>`CASE WHEN workers.status = ${nextStatus} THEN workers.status_changed_at ELSE excluded.status_changed_at END`,
        providers: sql<string>`excluded.providers`,
        capabilities: sql<string>`excluded.capabilities`,
        labels: sql<string>`excluded.labels`,
        cap_cpu_milli: sql<number>`excluded.cap_cpu_milli`,
        cap_memory_mb: sql<number>`excluded.cap_memory_mb`,
        cap_disk_mb: sql<number>`excluded.cap_disk_mb`,
        cap_sandboxes: sql<number>`excluded.cap_sandboxes`,
        rpc_url: sql<string>`excluded.rpc_url`,
        rpc_secret: sql<string>`excluded.rpc_secret`,
        task_kinds: sql<string>`excluded.task_kinds`,
        code_version: sql<string>`excluded.code_version`,
        last_heartbeat_at: sql<number>`excluded.last_heartbeat_at`,
        updated_at: sql<number>`excluded.updated_at`,
      }),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
  return { worker: toWorker(row), previousStatus: previous ? (previous.status as WorkerStatus) : null };
}

export async function getWorker(ctx: QueryContext, id: string): Promise<WorkerRecord | undefined> {
  const row = await ctx.db.selectFrom('workers').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? toWorker(row) : undefined;
}

export async function listWorkers(ctx: QueryContext, page: PageRequest): Promise<Page<WorkerRecord>> {
  const after = decodeCursor<string>(page.cursor, 'string');
  let q = ctx.db.selectFrom('workers').selectAll();
  if (after !== undefined) q = q.where('id', '>', after);
  const rows = await q.orderBy('id').limit(page.limit + 1).execute();
  return toPage(rows, page.limit, (r) => r.id, toWorker);
}

/** Every worker, for placement snapshots and the liveness sweep. */
export async function allWorkers(ctx: QueryContext): Promise<WorkerRecord[]> {
  const rows = await ctx.db.selectFrom('workers').selectAll().orderBy('id').execute();
  return rows.map(toWorker);
}

/**
 * Conditional status change: applies only if the worker is in one of `from` and, when given, its last
 * heartbeat is still the one the caller decided on. Returns the updated worker or undefined.
 */
export async function transitionWorker(
  ctx: QueryContext,
  id: string,
  from: WorkerStatus[],
  to: WorkerStatus,
  observedHeartbeatAt?: number,
): Promise<WorkerRecord | undefined> {
  const now = ctx.now();
  let q = ctx.db.updateTable('workers').set({ status: to, status_changed_at: now, updated_at: now }).where('id', '=', id).where('status', 'in', from);
  if (observedHeartbeatAt !== undefined) q = q.where('last_heartbeat_at', '=', observedHeartbeatAt);
  const row = await q.returningAll().executeTakeFirst();
  return row ? toWorker(row) : undefined;
}

export async function setCordoned(ctx: QueryContext, id: string, cordoned: boolean): Promise<WorkerRecord | undefined> {
  const row = await ctx.db.updateTable('workers').set({ cordoned: bit(cordoned), updated_at: ctx.now() }).where('id', '=', id).returningAll().executeTakeFirst();
  return row ? toWorker(row) : undefined;
}

/** Start a drain; persisted so it survives a control-plane restart. */
export async function startDrain(ctx: QueryContext, id: string, deadlineAt: number | null, migrate: boolean): Promise<WorkerRecord | undefined> {
  const now = ctx.now();
  const row = await ctx.db
    .updateTable('workers')
    .set({ status: sql<string>`CASE WHEN status IN ('stale', 'lost') THEN status ELSE 'draining' END`, drain_deadline_at: deadlineAt, drain_requested_at: now, drain_migrate: bit(migrate), status_changed_at: now, updated_at: now })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
  return row ? toWorker(row) : undefined;
}

export async function deleteWorker(ctx: QueryContext, id: string): Promise<boolean> {
  const r = await ctx.db.deleteFrom('workers').where('id', '=', id).executeTakeFirst();
  return Number(r.numDeletedRows) > 0;
}

export async function countWorkersByStatus(ctx: QueryContext): Promise<Record<string, number>> {
  const rows = await ctx.db.selectFrom('workers').select(['status', (eb) => eb.fn.countAll<number>().as('n')]).groupBy('status').execute();
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}

/** Sandbox states that still tie a sandbox to the worker it was placed on. */
const ATTACHED_STATES = ['starting', 'running', 'idle', 'stopping', 'lost'];

/**
 * Drain completion: draining → drained, only while the worker holds no live lease and no sandbox is
 * still attached to it (one whose lease lapsed is still on the worker until something moves it) —
 * judged in the same statement, so work that appears between a sweep's read and this write keeps the
 * drain open. The deadline is cleared: a drained worker that later restarts (and so goes stale and
 * comes back) is a fresh worker, and must not be re-drained by a leftover deadline.
 */
export async function completeDrain(ctx: QueryContext, id: string): Promise<WorkerRecord | undefined> {
  const now = ctx.now();
  const row = await ctx.db
    .updateTable('workers')
    .set({ status: 'drained', drain_deadline_at: null, status_changed_at: now, updated_at: now })
    .where('id', '=', id)
    .where('status', '=', 'draining')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('leases').select('leases.holder_id').whereRef('leases.holder_id', '=', 'workers.id').where('leases.expires_at', '>', now))))
    .where((eb) => eb.not(eb.exists(eb.selectFrom('sandboxes').select('sandboxes.id').whereRef('sandboxes.worker_id', '=', 'workers.id').where('sandboxes.state', 'in', ATTACHED_STATES))))
    .returningAll()
    .executeTakeFirst();
  return row ? toWorker(row) : undefined;
}

/**
 * Cancel a drain (uncordon): draining/drained → online and the drain settings cleared. A worker that
 * is itself draining (SIGTERM) says so again in its next heartbeat, which puts it back to draining.
 * Undefined when there is no such worker.
 */
export async function endDrain(ctx: QueryContext, id: string): Promise<HeartbeatResult | undefined> {
  return inTransaction(ctx, async (tx) => {
    const before = await tx.db.selectFrom('workers').select('status').where('id', '=', id).executeTakeFirst();
    if (!before) return undefined;
    const now = tx.now();
    const draining = before.status === 'draining' || before.status === 'drained';
    const row = await tx.db
      .updateTable('workers')
      .set({
        status: draining ? 'online' : before.status,
        drain_deadline_at: null,
        drain_requested_at: null,
        drain_migrate: 0,
        status_changed_at: draining ? now : sql<number>`status_changed_at`,
        updated_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', before.status)
      .returningAll()
      .executeTakeFirst();
    // The status moved under us (a sweep or heartbeat): report the worker as it is now.
    const worker = row ? toWorker(row) : await getWorker(tx, id);
    return worker ? { worker, previousStatus: before.status as WorkerStatus } : undefined;
  });
}

/**
 * Registry repair (admin): record a heartbeat on the worker's behalf and bring a stale or lost worker
 * back online, for when the sweep judged wrongly (a clock jump, a partition that has healed). Other
 * statuses are kept. Undefined when there is no such worker.
 */
export async function repairHeartbeat(ctx: QueryContext, id: string): Promise<HeartbeatResult | undefined> {
  return inTransaction(ctx, async (tx) => {
    const before = await tx.db.selectFrom('workers').select('status').where('id', '=', id).executeTakeFirst();
    if (!before) return undefined;
    const now = tx.now();
    const revive = before.status === 'stale' || before.status === 'lost';
    const row = await tx.db
      .updateTable('workers')
      .set({
        status: sql<string>`CASE WHEN status IN ('stale', 'lost') THEN 'online' ELSE status END`,
        status_changed_at: revive ? now : sql<number>`status_changed_at`,
        last_heartbeat_at: now,
        updated_at: now,
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirstOrThrow();
    return { worker: toWorker(row), previousStatus: before.status as WorkerStatus };
  });
}

/**
 * Lost workers that still hold something: a live lease, or a sandbox not yet moved off them. Loss
 * handling is re-run for these on every sweep, so a replica that died halfway through handling a loss
 * (or a sandbox placed in a race with the loss) is finished by the next sweep of any replica.
 */
export async function lostWorkersHoldingWork(ctx: QueryContext): Promise<string[]> {
  const now = ctx.now();
  const rows = await ctx.db
    .selectFrom('workers')
    .select('workers.id')
    .where('workers.status', '=', 'lost')
    .where((eb) =>
      eb.or([
        eb.exists(eb.selectFrom('sandboxes').select('sandboxes.id').whereRef('sandboxes.worker_id', '=', 'workers.id').where('sandboxes.state', 'in', ATTACHED_STATES)),
        eb.exists(eb.selectFrom('leases').select('leases.holder_id').whereRef('leases.holder_id', '=', 'workers.id').where('leases.expires_at', '>', now)),
      ]),
    )
    .orderBy('workers.id')
    .execute();
  return rows.map((r) => r.id);
}

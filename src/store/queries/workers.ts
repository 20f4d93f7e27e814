/**
 * Worker registry queries. Status changes are conditional writes (`WHERE status IN (...)` plus the
 * heartbeat time the caller observed), so a heartbeat that lands while a sweep is deciding always wins.
 */
import { sql } from 'kysely';
import type { WorkerStatus } from '../../domain/states/worker.js';
import { bool, bit, fromJson, toJson, type QueryContext } from '../context.js';
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
    drain: row.status === 'draining' || row.status === 'drained' || drainDeadline !== null
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
    .set({ status: sql<string>`CASE WHEN status IN ('stale', 'lost') THEN status ELSE 'draining' END`, drain_deadline_at: deadlineAt, drain_migrate: bit(migrate), status_changed_at: now, updated_at: now })
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

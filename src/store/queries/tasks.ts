/**
 * Task queries: submit, read, cancel. Claiming, heartbeats, reports and the sweep — the fenced part —
 * are in task-leasing.ts.
 */
import { sql } from 'kysely';
import type { TaskState } from '../../domain/states/task.js';
import { fromJson, toJson, type QueryContext, bool } from '../context.js';
import { decodeCursor, toPage } from '../pagination.js';
import type { TasksTable } from '../schema.js';
import { scoped, scopedUpdate } from '../scope.js';
import type { NewTask, Page, PageRequest, TaskFilter, TaskRecord, TenantScope } from '../types.js';

export function toTask(row: TasksTable): TaskRecord {
  return {
    id: row.id,
    tenantId: row.tenant_id,
    kind: row.kind,
    input: fromJson(row.input),
    state: row.state as TaskState,
    priority: Number(row.priority),
    attempt: Number(row.attempt),
    maxAttempts: Number(row.max_attempts),
    retryBackoffMs: Number(row.retry_backoff_ms),
    runAfter: Number(row.run_after),
    deadlineAt: Number(row.deadline_at),
    codeVersion: row.code_version,
    labels: fromJson(row.labels),
    idempotencyKey: row.idempotency_key,
    workerId: row.worker_id,
    generation: Number(row.generation),
    cancelRequested: bool(Number(row.cancel_requested)),
    progress: fromJson(row.progress),
    output: fromJson(row.output),
    error: fromJson(row.error),
    artifacts: fromJson(row.artifacts),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    startedAt: row.started_at === null ? null : Number(row.started_at),
    firstStartedAt: row.first_started_at === null ? null : Number(row.first_started_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
  };
}

/**
 * Insert a task. With an idempotency key already used by this tenant, nothing is inserted and the
 * existing task is returned with `created: false`; the caller decides whether the request matches it.
 */
export async function submitTask(ctx: QueryContext, task: NewTask): Promise<{ task: TaskRecord; created: boolean }> {
  const now = ctx.now();
  const row = await ctx.db
    .insertInto('tasks')
    .values({
      id: task.id,
      tenant_id: task.tenantId,
      kind: task.kind,
      input: toJson(task.input),
      state: 'queued',
      priority: task.priority,
      attempt: 0,
      max_attempts: task.maxAttempts,
      retry_backoff_ms: task.retryBackoffMs,
      run_after: task.runAfter ?? now,
      deadline_at: sql<number>`${now} + ${task.timeoutMs}`,
      code_version: task.codeVersion,
      labels: toJson(task.labels),
      idempotency_key: task.idempotencyKey,
      generation: 0,
      cancel_requested: 0,
      created_at: now,
      updated_at: now,
    })
    .onConflict((oc) => oc.columns(['tenant_id', 'idempotency_key']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (row) return { task: toTask(row), created: true };
  const existing = await ctx.db
    .selectFrom('tasks')
    .selectAll()
    .where('tenant_id', '=', task.tenantId)
    .where('idempotency_key', '=', task.idempotencyKey)
    .executeTakeFirstOrThrow();
  return { task: toTask(existing), created: false };
}

export async function getTask(ctx: QueryContext, scope: TenantScope, id: string): Promise<TaskRecord | undefined> {
  const row = await scoped(ctx.db.selectFrom('tasks').selectAll().where('id', '=', id), scope).executeTakeFirst();
  return row ? toTask(row) : undefined;
}

/** Several tasks at once (the sweep's events); missing or out-of-scope ids are simply absent. */
export async function getTasksByIds(ctx: QueryContext, scope: TenantScope, ids: string[]): Promise<TaskRecord[]> {
  if (ids.length === 0) return [];
  const rows = await scoped(ctx.db.selectFrom('tasks').selectAll().where('id', 'in', ids), scope).execute();
  return rows.map(toTask);
}

/** Newest first. */
export async function listTasks(ctx: QueryContext, scope: TenantScope, filter: TaskFilter, page: PageRequest): Promise<Page<TaskRecord>> {
  const before = decodeCursor<string>(page.cursor, 'string');
  let q = scoped(ctx.db.selectFrom('tasks').selectAll(), scope);
  if (filter.state !== undefined) q = q.where('state', '=', filter.state);
  if (filter.kind !== undefined) q = q.where('kind', '=', filter.kind);
  if (before !== undefined) q = q.where('id', '<', before);
  const rows = await q.orderBy('id', 'desc').limit(page.limit + 1).execute();
  return toPage(rows, page.limit, (r) => r.id, toTask);
}

/**
 * Cancel: a queued task is cancelled at once; a leased one is marked, and the cancel reaches its
 * worker on the next heartbeat (final when the worker reports or the lease expires). Terminal tasks
 * are returned unchanged.
 */
export async function requestCancel(ctx: QueryContext, scope: TenantScope, id: string): Promise<TaskRecord | undefined> {
  const now = ctx.now();
  await scopedUpdate(
    ctx.db.updateTable('tasks').set({ state: 'cancelled', ended_at: now, updated_at: now }).where('id', '=', id).where('state', '=', 'queued'),
    scope,
  ).execute();
  await scopedUpdate(
    ctx.db.updateTable('tasks').set({ cancel_requested: 1, updated_at: now }).where('id', '=', id).where('state', '=', 'leased'),
    scope,
  ).execute();
  return getTask(ctx, scope, id);
}

export async function countTasksByState(ctx: QueryContext, scope: TenantScope): Promise<Record<string, number>> {
  const rows = await scoped(ctx.db.selectFrom('tasks').select(['state', (eb) => eb.fn.countAll<number>().as('n')]), scope)
    .groupBy('state')
    .execute();
  return Object.fromEntries(rows.map((r) => [r.state, Number(r.n)]));
}

/**
 * The fenced half of tasks (after a claim, task-claim.ts): heartbeat, report, and the sweep that recovers expired
 * leases and deadlines. Each operation is one transaction whose first write is the lease check, so a
 * stale worker's write and the sweep's requeue can never both be applied.
 */
import { sql } from 'kysely';
import { LeaseLost } from '../../domain/errors.js';
import { decideLeaseExpiry, decideReport, type AttemptEnd } from '../../domain/tasks/decide.js';
import { inTransaction, toJson, type QueryContext } from '../context.js';
import type { TaskOutcome, TaskRecord, TaskSweepResult } from '../types.js';
import { checkFence, renewLease } from './leases.js';
import { toTask } from './tasks.js';

const taskRef = (id: string) => ({ type: 'task', id }) as const;

export interface TaskHeartbeat {
  leaseExpiresAt: number;
  /** Cancellation was requested, or the deadline passed: the handler should stop. */
  cancel: boolean;
  /** The store clock when the lease was renewed. */
  serverTime: number;
}

/** Extends the lease (never the deadline) and records progress; fenced by generation. */
export async function heartbeatTask(
  ctx: QueryContext,
  taskId: string,
  workerId: string,
  generation: number,
  leaseTtlMs: number,
  progress: unknown,
): Promise<TaskHeartbeat> {
  return inTransaction(ctx, async (tx) => {
    const lease = await renewLease(tx, taskRef(taskId), workerId, generation, leaseTtlMs);
    const now = tx.now();
    let update = tx.db.updateTable('tasks').set({ updated_at: now });
    if (progress !== undefined) update = update.set({ progress: toJson(progress) });
    const row = await update
      .where('id', '=', taskId)
      .where('state', '=', 'leased')
      .where('generation', '=', generation)
      .returning(['cancel_requested', 'deadline_at'])
      .executeTakeFirst();
    if (!row) throw new LeaseLost(`task/${taskId}`);
    return { leaseExpiresAt: lease.expiresAt, serverTime: lease.renewedAt, cancel: Number(row.cancel_requested) !== 0 || Number(row.deadline_at) <= lease.renewedAt };
  });
}

export interface ReportResult {
  task: TaskRecord;
  /** True when this was a repeat of a report already applied for the same generation. */
  replay: boolean;
}

/**
 * Apply a worker's report. Idempotent per generation: the same report again returns the same result;
 * a report at a stale generation (or a different report after the first) throws LeaseLost and changes
 * nothing.
 */
export async function reportTask(ctx: QueryContext, taskId: string, workerId: string, generation: number, outcome: TaskOutcome): Promise<ReportResult> {
  const outcomeJson = toJson(outcome);
  return inTransaction(ctx, async (tx) => {
    try {
      await checkFence(tx, taskRef(taskId), workerId, generation);
    } catch (err) {
      if (!(err instanceof LeaseLost)) throw err;
      const seen = await tx.db
        .selectFrom('task_attempts')
        .select('outcome')
        .where('task_id', '=', taskId)
        .where('generation', '=', generation)
        .where('worker_id', '=', workerId)
        .executeTakeFirst();
      if (seen?.outcome === outcomeJson) {
        const task = await tx.db.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirstOrThrow();
        return { task: toTask(task), replay: true };
      }
      throw err;
    }
    const current = await tx.db.selectFrom('tasks').selectAll().where('id', '=', taskId).executeTakeFirst();
    if (!current || current.state !== 'leased' || Number(current.generation) !== generation) throw new LeaseLost(`task/${taskId}`);
    const facts = {
      attempt: Number(current.attempt),
      maxAttempts: Number(current.max_attempts),
      retryBackoffMs: Number(current.retry_backoff_ms),
      // A success reported after a cancel request still wins (the work is done); a failure does not
      // retry a task the caller asked to cancel: it ends cancelled.
      cancelRequested: Number(current.cancel_requested) !== 0,
    };
    const decision = decideReport(
      facts,
      outcome.status === 'failed' ? { failed: { retryable: outcome.error.retryable !== false } } : outcome.status,
    );
    const row = await applyAttemptEnd(tx, taskId, generation, decision, outcome);
    if (!row) throw new LeaseLost(`task/${taskId}`);
    const now = tx.now();
    await tx.db
      .updateTable('leases')
      .set({ expires_at: now, renewed_at: now })
      .where('resource_type', '=', 'task')
      .where('resource_id', '=', taskId)
      .where('generation', '=', generation)
      .execute();
    await tx.db
      .updateTable('task_attempts')
      .set({ ended_at: now, outcome: outcomeJson })
      .where('task_id', '=', taskId)
      .where('attempt', '=', Number(current.attempt))
      .execute();
    return { task: toTask(row), replay: false };
  });
}

/**
 * The read-only fence of a worker request that writes nothing here but hands out access (a presigned
 * URL): the task is leased to `workerId` at `generation`, its lease is live and its deadline has not
 * passed, all in one statement by the store clock. Otherwise LeaseLost.
 */
export async function checkTaskFence(ctx: QueryContext, taskId: string, workerId: string, generation: number): Promise<TaskRecord> {
  const now = ctx.now();
  const row = await ctx.db
    .selectFrom('tasks')
    .innerJoin('leases', (join) => join.on('leases.resource_type', '=', 'task').onRef('leases.resource_id', '=', 'tasks.id'))
    .selectAll('tasks')
    .where('tasks.id', '=', taskId)
    .where('tasks.state', '=', 'leased')
    .where('tasks.generation', '=', generation)
    .where('tasks.worker_id', '=', workerId)
    .where('tasks.deadline_at', '>', now)
    .where('leases.holder_id', '=', workerId)
    .where('leases.generation', '=', generation)
    .where('leases.expires_at', '>', now)
    .executeTakeFirst();
  if (!row) throw new LeaseLost(`task/${taskId}`);
  return toTask(row);
}

/**
 * Give back a claim its worker never received (the lease request's client hung up while the claim
 * committed): the task is queued again at once, the attempt is not counted, and the lease is expired
 * so the generation sequence continues (the next claim gets generation + 1). Fenced like a report;
 * false when the claim is no longer this worker's to give back.
 */
export async function abandonClaim(ctx: QueryContext, taskId: string, workerId: string, generation: number): Promise<boolean> {
  return inTransaction(ctx, async (tx) => {
    try {
      await checkFence(tx, taskRef(taskId), workerId, generation);
    } catch (err) {
      if (err instanceof LeaseLost) return false;
      throw err;
    }
    const now = tx.now();
    // The previous attempt's start, or null when this was the first: SET expressions see the old row.
    const previousStart = sql<number | null>`(SELECT a.started_at FROM task_attempts a WHERE a.task_id = tasks.id AND a.attempt = tasks.attempt - 1)`;
    const row = await tx.db
      .updateTable('tasks')
      .set({
        state: 'queued',
        attempt: sql<number>`attempt - 1`,
        worker_id: null,
        started_at: previousStart,
        first_started_at: sql<number | null>`CASE WHEN attempt = 1 THEN NULL ELSE first_started_at END`,
        updated_at: now,
      })
      .where('id', '=', taskId)
      .where('state', '=', 'leased')
      .where('generation', '=', generation)
      .returning('attempt')
      .executeTakeFirst();
    if (!row) return false;
    await tx.db.deleteFrom('task_attempts').where('task_id', '=', taskId).where('generation', '=', generation).execute();
    await tx.db
      .updateTable('leases')
      .set({ expires_at: now, renewed_at: now })
      .where('resource_type', '=', 'task')
      .where('resource_id', '=', taskId)
      .where('generation', '=', generation)
      .execute();
    return true;
  });
}

/** The conditional write of an attempt's end: applies only if the task is still leased at `generation`. */
async function applyAttemptEnd(tx: QueryContext, taskId: string, generation: number, decision: AttemptEnd, outcome: TaskOutcome | null) {
  const now = tx.now();
  const base = tx.db.updateTable('tasks').where('id', '=', taskId).where('state', '=', 'leased').where('generation', '=', generation);
  const output = outcome?.status === 'succeeded' ? toJson(outcome.output) : null;
  const artifacts = outcome?.status === 'succeeded' && outcome.artifacts ? toJson(outcome.artifacts) : null;
  const error = outcome?.status === 'failed' ? toJson(outcome.error) : outcome === null ? toJson({ message: 'lease expired before the worker reported', code: 'lease_expired', retryable: true }) : null;
  switch (decision.state) {
    case 'queued':
      return base
        .set({ state: 'queued', run_after: sql<number>`${now} + ${decision.delayMs}`, worker_id: null, error, updated_at: now })
        .returningAll()
        .executeTakeFirst();
    case 'succeeded':
      return base.set({ state: 'succeeded', output, artifacts, error: null, ended_at: now, updated_at: now }).returningAll().executeTakeFirst();
    case 'cancelled':
      return base.set({ state: 'cancelled', ended_at: now, updated_at: now }).returningAll().executeTakeFirst();
    case 'failed':
      return base.set({ state: 'failed', error, ended_at: now, updated_at: now }).returningAll().executeTakeFirst();
  }
}

/**
 * The timer-driven sweep (never a side effect of a poll): expire tasks past their deadline, and end
 * attempts whose lease expired without a report — requeued with backoff, or failed once attempts are
 * exhausted (the dead letter), or cancelled if a cancel was pending.
 */
export async function sweepTasks(ctx: QueryContext, batch = 500): Promise<TaskSweepResult> {
  const result: TaskSweepResult = { requeued: [], failed: [], expired: [], cancelled: [] };
  await inTransaction(ctx, async (tx) => {
    const now = tx.now();
    const expired = await tx.db
      .updateTable('tasks')
      .set({ state: 'expired', ended_at: now, updated_at: now, error: toJson({ message: 'deadline passed', code: 'deadline_exceeded', retryable: false }) })
      .where('state', 'in', ['queued', 'leased'])
      .where('deadline_at', '<=', now)
      .returning('id')
      .execute();
    result.expired = expired.map((r) => r.id);
    if (result.expired.length > 0) {
      await tx.db
        .updateTable('leases')
        .set({ expires_at: now })
        .where('resource_type', '=', 'task')
        .where('resource_id', 'in', result.expired)
        .where('expires_at', '>', now)
        .execute();
    }
  });

  const now = ctx.now();
  const stale = await ctx.db
    .selectFrom('tasks')
    .innerJoin('leases', (join) =>
      join.on('leases.resource_type', '=', 'task').onRef('leases.resource_id', '=', 'tasks.id').onRef('leases.generation', '=', 'tasks.generation'),
    )
    .select(['tasks.id', 'tasks.attempt', 'tasks.max_attempts', 'tasks.retry_backoff_ms', 'tasks.generation', 'tasks.cancel_requested'])
    .where('tasks.state', '=', 'leased')
    .where('leases.expires_at', '<=', now)
    .limit(batch)
    .execute();
  for (const t of stale) {
    const decision = decideLeaseExpiry({
      attempt: Number(t.attempt),
      maxAttempts: Number(t.max_attempts),
      retryBackoffMs: Number(t.retry_backoff_ms),
      cancelRequested: Number(t.cancel_requested) !== 0,
    });
    const applied = await inTransaction(ctx, async (tx) => {
      // Re-check expiry under the row lock: a heartbeat may have renewed the lease since the select.
      const lease = await tx.db
        .updateTable('leases')
        .set({ renewed_at: sql<number>`renewed_at` })
        .where('resource_type', '=', 'task')
        .where('resource_id', '=', t.id)
        .where('generation', '=', Number(t.generation))
        .where('expires_at', '<=', tx.now())
        .returning('generation')
        .executeTakeFirst();
      if (!lease) return false;
      const row = await applyAttemptEnd(tx, t.id, Number(t.generation), decision, null);
      if (!row) return false;
      await tx.db
        .updateTable('task_attempts')
        .set({ ended_at: tx.now(), outcome: toJson({ status: 'failed', error: { message: 'lease expired', code: 'lease_expired' } }) })
        .where('task_id', '=', t.id)
        .where('attempt', '=', Number(t.attempt))
        .where('ended_at', 'is', null)
        .execute();
      return true;
    });
    if (!applied) continue;
    if (decision.state === 'queued') result.requeued.push(t.id);
    else if (decision.state === 'cancelled') result.cancelled.push(t.id);
    else result.failed.push(t.id);
  }
  return result;
}

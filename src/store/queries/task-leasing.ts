/**
 * The fenced half of tasks: claim (lease), heartbeat, report, and the sweep that recovers expired
 * leases and deadlines. Each operation is one transaction whose first write is the lease check, so a
 * stale worker's write and the sweep's requeue can never both be applied.
 */
import { sql } from 'kysely';
import { LeaseConflict, LeaseLost } from '../../domain/errors.js';
import { decideLeaseExpiry, decideReport, type AttemptEnd } from '../../domain/tasks/decide.js';
import { inTransaction, toJson, type QueryContext } from '../context.js';
import type { ClaimedTask, ClaimRequest, Lease, TaskOutcome, TaskRecord, TaskSweepResult } from '../types.js';
import { acquireLease, checkFence, renewLease } from './leases.js';
import { toTask } from './tasks.js';

const taskRef = (id: string) => ({ type: 'task', id }) as const;

export async function claimTasks(ctx: QueryContext, req: ClaimRequest): Promise<ClaimedTask[]> {
  if (req.kinds.length === 0 || req.max <= 0) return [];
  return inTransaction(ctx, async (tx) => {
    const now = tx.now();
    let q = tx.db
      .selectFrom('tasks')
      .select('id')
      .where('state', '=', 'queued')
      .where('kind', 'in', req.kinds)
      .where('run_after', '<=', now)
      .where('deadline_at', '>', now);
    // A pinned task goes only to a worker running exactly that code version.
    q = req.codeVersion === null
      ? q.where('code_version', 'is', null)
      : q.where((eb) => eb.or([eb('code_version', 'is', null), eb('code_version', '=', req.codeVersion)]));
    q = q.orderBy('priority', 'desc').orderBy('run_after').orderBy('id').limit(req.max);
    // Concurrent claimers skip each other's rows instead of queueing behind them.
    if (tx.driver.rowLocks) q = q.forUpdate().skipLocked();
    const candidates = await q.execute();
    const claimed: ClaimedTask[] = [];
    for (const { id } of candidates) {
      let lease: Lease;
      try {
        lease = await acquireLease(tx, taskRef(id), req.workerId, req.leaseTtlMs);
      } catch (err) {
        if (err instanceof LeaseConflict) continue; // a previous attempt's lease is somehow still live
        throw err;
      }
      const row = await tx.db
        .updateTable('tasks')
        .set({
          state: 'leased',
          attempt: sql<number>`attempt + 1`,
          worker_id: req.workerId,
          generation: lease.generation,
          started_at: now,
          first_started_at: sql<number>`COALESCE(first_started_at, ${now})`,
          updated_at: now,
        })
        .where('id', '=', id)
        .where('state', '=', 'queued')
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new Error(`task ${id} changed state inside its claim transaction`);
      await tx.db
        .insertInto('task_attempts')
        .values({ task_id: id, attempt: Number(row.attempt), worker_id: req.workerId, generation: lease.generation, started_at: now })
        .execute();
      claimed.push({ task: toTask(row), lease });
    }
    return claimed;
  });
}

export interface TaskHeartbeat {
  leaseExpiresAt: number;
  /** Cancellation was requested, or the deadline passed: the handler should stop. */
  cancel: boolean;
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
    return { leaseExpiresAt: lease.expiresAt, cancel: Number(row.cancel_requested) !== 0 || Number(row.deadline_at) <= lease.renewedAt };
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
      cancelRequested: false, // the worker's own report wins over a pending cancel: it finished first
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

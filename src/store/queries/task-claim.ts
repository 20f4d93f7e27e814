/**
 * Claiming tasks: select ready rows (SKIP LOCKED where the database has row locks), respect tenants'
 * running-task quotas, and lease each in the same transaction. Split from task-leasing.ts, which holds
 * the fenced operations that follow a claim.
 */
import { sql } from 'kysely';
import { LeaseConflict } from '../../domain/errors.js';
import { inTransaction, type QueryContext } from '../context.js';
import type { ClaimedTask, ClaimRequest, Lease } from '../types.js';
import { acquireLease } from './leases.js';
import { toTask } from './tasks.js';

const taskRef = (id: string) => ({ type: 'task', id }) as const;

/**
 * Lease up to `max` ready tasks of the given kinds to one worker, one transaction.
 *
 * Tenant quota `max_running_tasks` (running = leased) is enforced here, inside the claim, because this
 * is where a task starts to count: a limit checked at submit would only bound the queue. The check is
 * exact under concurrency: the limited tenants' quota rows are locked (in tenant order, so two claimers
 * never deadlock) before their running tasks are counted, so two replicas cannot both take the last
 * slot. Tenants already at their limit are left out of the candidate query up front, so a tenant with
 * a deep backlog at its limit does not crowd other tenants' tasks out of the batch.
 */
export async function claimTasks(ctx: QueryContext, req: ClaimRequest): Promise<ClaimedTask[]> {
  if (req.kinds.length === 0 || req.max <= 0) return [];
  return inTransaction(ctx, async (tx) => {
    const limited = await limitedTenants(tx);
    const full = new Set(limited.filter((l) => l.running >= l.limit).map((l) => l.tenantId));
    const room = new Map<string, number>();
    const claimed: ClaimedTask[] = [];
    // A tenant that reaches its limit part-way through a batch leaves its other candidates behind;
    // look again without it so the batch fills from other tenants. Bounded: each round fills a tenant.
    for (let round = 0; round < 4 && claimed.length < req.max; round++) {
      const candidates = await selectReady(tx, req, req.max - claimed.length, [...full]);
      if (candidates.length === 0) break;
      if (limited.length > 0) {
        const counted = await runningRoom(tx, candidates.map((c) => c.tenant_id), room, round === 0 ? 'wait' : limited.map((l) => l.tenantId));
        for (const [tenant, left] of counted) room.set(tenant, left);
      }
      let skipped = false;
      for (const { id, tenant_id: tenantId } of candidates) {
        const left = room.get(tenantId);
        if (left !== undefined && left <= 0) {
          full.add(tenantId); // stays queued for a later claim
          skipped = true;
          continue;
        }
        const c = await claimOne(tx, id, req);
        if (!c) continue;
        if (left !== undefined) room.set(tenantId, left - 1);
        claimed.push(c);
      }
      if (!skipped) break;
    }
    return claimed;
  });
}

async function selectReady(tx: QueryContext, req: ClaimRequest, limit: number, excludeTenants: string[]) {
  const now = tx.now();
  let q = tx.db
    .selectFrom('tasks')
    .select(['id', 'tenant_id'])
    .where('state', '=', 'queued')
    .where('kind', 'in', req.kinds)
    .where('run_after', '<=', now)
    .where('deadline_at', '>', now);
  if (excludeTenants.length > 0) q = q.where('tenant_id', 'not in', excludeTenants);
  // A pinned task goes only to a worker running exactly that code version.
  q = req.codeVersion === null
    ? q.where('code_version', 'is', null)
    : q.where((eb) => eb.or([eb('code_version', 'is', null), eb('code_version', '=', req.codeVersion)]));
  q = q.orderBy('priority', 'desc').orderBy('run_after').orderBy('id').limit(limit);
  // Concurrent claimers skip each other's rows instead of queueing behind them.
  if (tx.driver.rowLocks) q = q.forUpdate().skipLocked();
  return q.execute();
}

/** Lease one selected task: the lease, the task row, the attempt row. */
async function claimOne(tx: QueryContext, id: string, req: ClaimRequest): Promise<ClaimedTask | undefined> {
  const now = tx.now();
  let lease: Lease;
  try {
    lease = await acquireLease(tx, taskRef(id), req.workerId, req.leaseTtlMs);
  } catch (err) {
    if (err instanceof LeaseConflict) return undefined; // a previous attempt's lease is somehow still live
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
  // The attempt's start is the task row's, not a second reading of the clock (PostgreSQL's advances
  // between statements): giving a claim back restores started_at from here.
  await tx.db
    .insertInto('task_attempts')
    .values({ task_id: id, attempt: Number(row.attempt), worker_id: req.workerId, generation: lease.generation, started_at: Number(row.started_at) })
    .execute();
  return { task: toTask(row), lease };
}

/**
 * Every tenant with a `max_running_tasks` limit, with its running count: an unlocked snapshot, used
 * only to keep full tenants out of the candidate query (and to skip the locking step when no tenant
 * has a limit, the common case). `runningRoom` is the exact check.
 */
async function limitedTenants(tx: QueryContext): Promise<Array<{ tenantId: string; limit: number; running: number }>> {
  const rows = await tx.db
    .selectFrom('quotas')
    .select((eb) => [
      'quotas.tenant_id',
      'quotas.max_running_tasks',
      eb
        .selectFrom('tasks')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('tasks.tenant_id', '=', 'quotas.tenant_id')
        .where('tasks.state', '=', 'leased')
        .as('running'),
    ])
    .where('quotas.max_running_tasks', 'is not', null)
    .execute();
  return rows.map((r) => ({ tenantId: r.tenant_id, limit: Number(r.max_running_tasks), running: Number(r.running ?? 0) }));
}

/**
 * How many more tasks each limited tenant among `tenantIds` may start, counted under a lock on its
 * quota row: a concurrent claimer for the same tenant waits here until this one commits, then counts
 * the tasks it leased. Tenants without a limit are absent from the result; tenants in `known` were
 * counted (and locked) by an earlier round of this claim and are not counted again.
 *
 * Only the first round waits for locks, and it takes them in one statement in tenant order, so two
 * claimers never deadlock. A later round would lock out of that order, so it skips quota rows another
 * claimer holds instead (`lock` is then the tenants known to have a limit), and those tenants count as
 * full for this claim.
 */
async function runningRoom(tx: QueryContext, tenantIds: string[], known: Map<string, number>, lock: 'wait' | string[]): Promise<Map<string, number>> {
  const distinct = [...new Set(tenantIds)].filter((t) => !known.has(t));
  const room = new Map<string, number>();
  if (distinct.length === 0) return room;
  let q = tx.db
    .selectFrom('quotas')
    .select(['tenant_id', 'max_running_tasks'])
    .where('tenant_id', 'in', distinct)
    .where('max_running_tasks', 'is not', null)
    .orderBy('tenant_id');
  if (tx.driver.rowLocks) q = lock === 'wait' ? q.forUpdate() : q.forUpdate().skipLocked();
  const limits = await q.execute();
  if (lock !== 'wait') for (const t of distinct) if (lock.includes(t)) room.set(t, 0);
  if (limits.length === 0) return room;
  const running = await tx.db
    .selectFrom('tasks')
    .select(['tenant_id', (eb) => eb.fn.countAll<number>().as('n')])
    .where('state', '=', 'leased')
    .where('tenant_id', 'in', limits.map((l) => l.tenant_id))
    .groupBy('tenant_id')
    .execute();
  const counts = new Map(running.map((r) => [r.tenant_id, Number(r.n)]));
  for (const l of limits) room.set(l.tenant_id, Number(l.max_running_tasks) - (counts.get(l.tenant_id) ?? 0));
  return room;
}

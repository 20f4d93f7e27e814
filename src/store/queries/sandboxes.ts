/**
 * Sandbox records. Capacity is reserved on the worker row in the same transaction that creates the
 * sandbox's lease (placement commit) and released in the same transaction that moves the sandbox out
 * of a capacity-holding state, so the worker's `allocated` is always the sum of what it holds.
 */
import { sql } from 'kysely';
import { LeaseConflict } from '../../domain/errors.js';
import { HOLDS_CAPACITY, type SandboxState } from '../../domain/states/sandbox.js';
import { bit, bool, fromJson, inTransaction, toJson, type QueryContext } from '../context.js';
import { decodeCursor, toPage } from '../pagination.js';
import type { SandboxesTable } from '../schema.js';
import { scoped } from '../scope.js';
import type { Lease, NewSandbox, Page, PageRequest, SandboxFilter, SandboxRecord, TenantScope } from '../types.js';
import { acquireLease, checkFence } from './leases.js';
import { ensureTenant } from './tenants.js';

export function toSandbox(row: SandboxesTable): SandboxRecord {
  const num = (v: number | null) => (v === null ? null : Number(v));
  return {
    id: row.id,
    tenantId: row.tenant_id,
    workerId: row.worker_id,
    runtimeId: row.runtime_id,
    provider: row.provider,
    template: row.template,
    spec: fromJson(row.spec),
    state: row.state as SandboxState,
    stateReason: row.state_reason,
    generation: Number(row.generation),
    resources: { cpuMilli: Number(row.cpu_milli), memoryMb: Number(row.memory_mb), diskMb: Number(row.disk_mb) },
    labels: fromJson(row.labels),
    metadata: fromJson(row.metadata),
    restartOnWorkerLoss: bool(Number(row.restart_on_worker_loss)),
    ttlMs: Number(row.ttl_ms),
    expiresAt: Number(row.expires_at),
    idleTimeoutMs: num(row.idle_timeout_ms),
    queuedUntil: num(row.queued_until),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    startedAt: num(row.started_at),
    endedAt: num(row.ended_at),
  };
}

const sandboxRef = (id: string) => ({ type: 'sandbox', id }) as const;

export async function createSandbox(ctx: QueryContext, s: NewSandbox): Promise<SandboxRecord> {
  const now = ctx.now();
  const row = await ctx.db
    .insertInto('sandboxes')
    .values({
      id: s.id,
      tenant_id: s.tenantId,
      template: s.template ?? null,
      provider: s.provider ?? null,
      spec: toJson(s.spec),
      state: 'pending',
      generation: 0,
      cpu_milli: s.resources.cpuMilli,
      memory_mb: s.resources.memoryMb,
      disk_mb: s.resources.diskMb,
      labels: toJson(s.labels),
      metadata: toJson(s.metadata),
      restart_on_worker_loss: bit(s.restartOnWorkerLoss),
      ttl_ms: s.ttlMs,
      expires_at: sql<number>`${now} + ${s.ttlMs}`,
      idle_timeout_ms: s.idleTimeoutMs,
      queued_until: sql<number>`${now} + ${s.queueTimeoutMs}`,
      created_at: now,
      updated_at: now,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  return toSandbox(row);
}

export async function getSandbox(ctx: QueryContext, scope: TenantScope, id: string): Promise<SandboxRecord | undefined> {
  const row = await scoped(ctx.db.selectFrom('sandboxes').selectAll().where('id', '=', id), scope).executeTakeFirst();
  return row ? toSandbox(row) : undefined;
}

/** Newest first. Label filters match on the decoded labels, after the indexed filters. */
export async function listSandboxes(ctx: QueryContext, scope: TenantScope, filter: SandboxFilter, page: PageRequest): Promise<Page<SandboxRecord>> {
  const before = decodeCursor<string>(page.cursor, 'string');
  let q = scoped(ctx.db.selectFrom('sandboxes').selectAll(), scope);
  if (filter.state !== undefined) q = q.where('state', '=', filter.state);
  if (filter.workerId !== undefined) q = q.where('worker_id', '=', filter.workerId);
  for (const [k, v] of Object.entries(filter.labels ?? {})) {
    // Labels are stored as JSON text; a substring pre-filter keeps the scan in the database, and the
    // exact check below removes false positives (e.g. the pair inside a longer value).
    q = q.where('labels', 'like', `%${escapeLike(JSON.stringify(k) + ':' + JSON.stringify(v))}%`);
  }
  if (before !== undefined) q = q.where('id', '<', before);
  const rows = await q.orderBy('id', 'desc').limit(page.limit + 1).execute();
  const wanted = Object.entries(filter.labels ?? {});
  const matching = rows.filter((r) => {
    const labels = fromJson<Record<string, string>>(r.labels);
    return wanted.every(([k, v]) => labels[k] === v);
  });
  return toPage(matching, page.limit, (r) => r.id, toSandbox);
}

function escapeLike(s: string): string {
  return s.replace(/[\\%_]/g, (c) => `\\${c}`);
}

export type PlacementCommit =
  | { kind: 'placed'; sandbox: SandboxRecord; lease: Lease }
  | { kind: 'conflict'; reason: 'insufficient_capacity' | 'worker_unavailable' | 'sandbox_not_pending' | 'lease_conflict' };

/**
 * Commit a placement decision atomically: reserve capacity on the worker (only if it is still online,
 * uncordoned and has room), take the sandbox lease for the worker, and move the sandbox to `starting`.
 * Any condition failing rolls all three back, and the caller re-plans against fresh state.
 */
export async function commitPlacement(ctx: QueryContext, sandboxId: string, workerId: string, provider: string, leaseTtlMs: number): Promise<PlacementCommit> {
  class Rollback extends Error {
    constructor(readonly reason: Extract<PlacementCommit, { kind: 'conflict' }>['reason']) {
      super(reason);
    }
  }
  try {
    return await inTransaction(ctx, async (tx) => {
      const now = tx.now();
      const sbx = await tx.db.selectFrom('sandboxes').selectAll().where('id', '=', sandboxId).where('state', '=', 'pending').executeTakeFirst();
      if (!sbx) throw new Rollback('sandbox_not_pending');
      const worker = await tx.db.selectFrom('workers').select(['status', 'cordoned']).where('id', '=', workerId).executeTakeFirst();
      if (!worker || worker.status !== 'online' || Number(worker.cordoned) !== 0) throw new Rollback('worker_unavailable');
      const reserved = await tx.db
        .updateTable('workers')
        .set({
          alloc_cpu_milli: sql<number>`alloc_cpu_milli + ${sbx.cpu_milli}`,
          alloc_memory_mb: sql<number>`alloc_memory_mb + ${sbx.memory_mb}`,
          alloc_disk_mb: sql<number>`alloc_disk_mb + ${sbx.disk_mb}`,
          alloc_sandboxes: sql<number>`alloc_sandboxes + 1`,
          updated_at: now,
        })
        .where('id', '=', workerId)
        .where('status', '=', 'online')
        .where('cordoned', '=', 0)
        .where(sql<boolean>`alloc_cpu_milli + ${sbx.cpu_milli} <= cap_cpu_milli`)
        .where(sql<boolean>`alloc_memory_mb + ${sbx.memory_mb} <= cap_memory_mb`)
        .where(sql<boolean>`alloc_disk_mb + ${sbx.disk_mb} <= cap_disk_mb`)
        .where(sql<boolean>`alloc_sandboxes + 1 <= cap_sandboxes`)
        .executeTakeFirst();
      if (Number(reserved.numUpdatedRows) === 0) throw new Rollback('insufficient_capacity');
      let lease: Lease;
      try {
        lease = await acquireLease(tx, sandboxRef(sandboxId), workerId, leaseTtlMs);
      } catch (err) {
        if (err instanceof LeaseConflict) throw new Rollback('lease_conflict');
        throw err;
      }
      const row = await tx.db
        .updateTable('sandboxes')
        .set({ state: 'starting', state_reason: null, worker_id: workerId, provider, generation: lease.generation, queued_until: null, updated_at: now })
        .where('id', '=', sandboxId)
        .where('state', '=', 'pending')
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new Rollback('sandbox_not_pending');
      return { kind: 'placed' as const, sandbox: toSandbox(row), lease };
    });
  } catch (err) {
    if (err instanceof Rollback) return { kind: 'conflict', reason: err.reason };
    throw err;
  }
}

export interface SandboxChange {
  from: SandboxState[];
  to: SandboxState;
  reason?: string | null;
  /** Only if the sandbox is still at this lease generation. */
  generation?: number;
  runtimeId?: string | null;
  /** Set started_at to now (the sandbox became running for the first time on this placement). */
  startedNow?: boolean;
  /** With `to: 'pending'` (re-placement): how long it may wait for capacity. */
  queueTimeoutMs?: number;
}

/**
 * Conditional state change. Leaving a capacity-holding state releases the reservation on the worker in
 * the same transaction; entering `pending` (re-placement) detaches the sandbox from its worker.
 */
export async function transitionSandbox(ctx: QueryContext, id: string, change: SandboxChange): Promise<SandboxRecord | undefined> {
  return inTransaction(ctx, async (tx) => {
    const now = tx.now();
    const before = await tx.db.selectFrom('sandboxes').selectAll().where('id', '=', id).where('state', 'in', change.from).executeTakeFirst();
    if (!before) return undefined;
    if (change.generation !== undefined && Number(before.generation) !== change.generation) return undefined;
    const terminal = change.to === 'stopped' || change.to === 'failed' || change.to === 'expired';
    let update = tx.db
      .updateTable('sandboxes')
      .set({ state: change.to, state_reason: change.reason ?? null, updated_at: now })
      .where('id', '=', id)
      .where('state', '=', before.state)
      .where('generation', '=', before.generation);
    if (terminal) update = update.set({ ended_at: now });
    if (change.startedNow) update = update.set({ started_at: now });
    if (change.runtimeId !== undefined) update = update.set({ runtime_id: change.runtimeId });
    if (change.to === 'pending') update = update.set({ worker_id: null, runtime_id: null, queued_until: sql<number>`${now} + ${change.queueTimeoutMs ?? 30_000}` });
    const row = await update.returningAll().executeTakeFirst();
    if (!row) return undefined;
    const held = HOLDS_CAPACITY.includes(before.state as SandboxState) && before.worker_id !== null;
    const holds = HOLDS_CAPACITY.includes(change.to);
    if (held && !holds) {
      await tx.db
        .updateTable('workers')
        .set({
          alloc_cpu_milli: sql<number>`alloc_cpu_milli - ${before.cpu_milli}`,
          alloc_memory_mb: sql<number>`alloc_memory_mb - ${before.memory_mb}`,
          alloc_disk_mb: sql<number>`alloc_disk_mb - ${before.disk_mb}`,
          alloc_sandboxes: sql<number>`alloc_sandboxes - 1`,
          updated_at: now,
        })
        .where('id', '=', before.worker_id!)
        .execute();
    }
    if (terminal || change.to === 'lost' || change.to === 'pending') {
      // The lease ends with the placement: expire it, keeping its generation for the next acquire.
      await tx.db
        .updateTable('leases')
        .set({ expires_at: now })
        .where('resource_type', '=', 'sandbox')
        .where('resource_id', '=', id)
        .where('expires_at', '>', now)
        .execute();
    }
    return toSandbox(row);
  });
}

/** A worker's fenced state report: applied only while it holds the sandbox lease at `generation`. */
export async function reportSandboxState(
  ctx: QueryContext,
  id: string,
  workerId: string,
  generation: number,
  change: Omit<SandboxChange, 'generation'>,
): Promise<SandboxRecord | undefined> {
  return inTransaction(ctx, async (tx) => {
    await checkFence(tx, sandboxRef(id), workerId, generation);
    return transitionSandbox(tx, id, { ...change, generation });
  });
}

export async function extendSandbox(ctx: QueryContext, scope: TenantScope, id: string, ttlMs: number): Promise<SandboxRecord | undefined> {
  const now = ctx.now();
  let q = ctx.db
    .updateTable('sandboxes')
    .set({ ttl_ms: ttlMs, expires_at: sql<number>`${now} + ${ttlMs}`, updated_at: now })
    .where('id', '=', id)
    .where('state', 'not in', ['stopped', 'failed', 'expired']);
  if (scope.kind === 'tenant') q = q.where('tenant_id', '=', scope.tenantId);
  const row = await q.returningAll().executeTakeFirst();
  return row ? toSandbox(row) : undefined;
}

/** Non-terminal sandboxes whose TTL has passed, for the reaper. */
export async function listExpiredSandboxes(ctx: QueryContext, limit: number): Promise<SandboxRecord[]> {
  const rows = await ctx.db
    .selectFrom('sandboxes')
    .selectAll()
    .where('state', 'not in', ['stopped', 'failed', 'expired'])
    .where('expires_at', '<=', ctx.now())
    .orderBy('expires_at')
    .limit(limit)
    .execute();
  return rows.map(toSandbox);
}

export async function listSandboxesOnWorker(ctx: QueryContext, workerId: string, states: SandboxState[]): Promise<SandboxRecord[]> {
  const rows = await ctx.db.selectFrom('sandboxes').selectAll().where('worker_id', '=', workerId).where('state', 'in', states).execute();
  return rows.map(toSandbox);
}

export async function listPendingSandboxes(ctx: QueryContext, limit: number): Promise<SandboxRecord[]> {
  const rows = await ctx.db.selectFrom('sandboxes').selectAll().where('state', '=', 'pending').orderBy('id').limit(limit).execute();
  return rows.map(toSandbox);
}

export interface SandboxUsage {
  sandboxes: number;
  cpuMilli: number;
  memoryMb: number;
}

/** What a tenant has that counts against its quota: every non-terminal sandbox. */
export async function sandboxUsage(ctx: QueryContext, tenantId: string): Promise<SandboxUsage> {
  const row = await ctx.db
    .selectFrom('sandboxes')
    .select((eb) => [
      eb.fn.countAll<number>().as('n'),
      eb.fn.coalesce(eb.fn.sum<number>('cpu_milli'), sql<number>`0`).as('cpu'),
      eb.fn.coalesce(eb.fn.sum<number>('memory_mb'), sql<number>`0`).as('mem'),
    ])
    .where('tenant_id', '=', tenantId)
    .where('state', 'not in', ['stopped', 'failed', 'expired'])
    .executeTakeFirst();
  return { sandboxes: Number(row?.n ?? 0), cpuMilli: Number(row?.cpu ?? 0), memoryMb: Number(row?.mem ?? 0) };
}

// ---------------------------------------------------------------------------------------------------
// Added for sandbox creation, placement and the pending loop (control-plane/services/sandbox-*.ts).

/** Null means unlimited. */
export interface SandboxQuotaLimits {
  maxSandboxes: number | null;
  maxCpuMilli: number | null;
  maxMemoryMb: number | null;
}

export type QuotaCheckedCreate =
  | { kind: 'created'; sandbox: SandboxRecord }
  | { kind: 'exceeded'; limit: 'max_sandboxes' | 'max_cpu' | 'max_memory_mb'; usage: SandboxUsage };

/**
 * Create a pending sandbox only if the tenant stays within its limits. The usage count and the insert
 * are one transaction that first locks the tenant's row, so two concurrent creates (on two replicas)
 * cannot both see room for one more; without limits there is nothing to serialise and no lock is taken.
 * The tenant is created if it does not exist yet (an admin acting for a new tenant).
 */
export async function createSandboxWithinQuota(ctx: QueryContext, s: NewSandbox, limits: SandboxQuotaLimits): Promise<QuotaCheckedCreate> {
  return inTransaction(ctx, async (tx) => {
    await ensureTenant(tx, s.tenantId);
    if (limits.maxSandboxes === null && limits.maxCpuMilli === null && limits.maxMemoryMb === null) {
      return { kind: 'created', sandbox: await createSandbox(tx, s) };
    }
    // A no-op UPDATE takes the row lock on PostgreSQL; SQLite has one writer and needs none.
    await tx.db.updateTable('tenants').set({ updated_at: sql<number>`updated_at` }).where('id', '=', s.tenantId).execute();
    const usage = await sandboxUsage(tx, s.tenantId);
    if (limits.maxSandboxes !== null && usage.sandboxes + 1 > limits.maxSandboxes) return { kind: 'exceeded', limit: 'max_sandboxes', usage };
    if (limits.maxCpuMilli !== null && usage.cpuMilli + s.resources.cpuMilli > limits.maxCpuMilli) return { kind: 'exceeded', limit: 'max_cpu', usage };
    if (limits.maxMemoryMb !== null && usage.memoryMb + s.resources.memoryMb > limits.maxMemoryMb) return { kind: 'exceeded', limit: 'max_memory_mb', usage };
    return { kind: 'created', sandbox: await createSandbox(tx, s) };
  });
}

/**
 * Record what the worker answered to a spawn: its runtime handle, and `runtime` (service port,
 * capabilities, warnings) merged into the spec under `runtime`. Only for the placement that spawned it
 * (`generation`) and while it still holds its worker; a stale answer changes nothing.
 */
export async function recordSandboxRuntime(
  ctx: QueryContext,
  id: string,
  generation: number,
  runtimeId: string,
  runtime: Record<string, unknown>,
): Promise<SandboxRecord | undefined> {
  return inTransaction(ctx, async (tx) => {
    const live: SandboxState[] = ['starting', 'running', 'idle'];
    const before = await tx.db.selectFrom('sandboxes').select('spec').where('id', '=', id).where('generation', '=', generation).where('state', 'in', live).executeTakeFirst();
    if (!before) return undefined;
    const spec = { ...fromJson<Record<string, unknown>>(before.spec), runtime };
    const row = await tx.db
      .updateTable('sandboxes')
      .set({ runtime_id: runtimeId, spec: toJson(spec), updated_at: tx.now() })
      .where('id', '=', id)
      .where('generation', '=', generation)
      .where('state', 'in', live)
      .returningAll()
      .executeTakeFirst();
    return row ? toSandbox(row) : undefined;
  });
}

/** Say why a sandbox is still where it is (a pending sandbox's last placement rejection). */
export async function noteSandboxReason(ctx: QueryContext, id: string, state: SandboxState, reason: string): Promise<boolean> {
  const r = await ctx.db
    .updateTable('sandboxes')
    .set({ state_reason: reason, updated_at: ctx.now() })
    .where('id', '=', id)
    .where('state', '=', state)
    .executeTakeFirst();
  return Number(r.numUpdatedRows) > 0;
}

/** Pending sandboxes whose queue deadline (store clock) has passed: the pending loop fails them. */
export async function listOverdueSandboxes(ctx: QueryContext, limit: number): Promise<SandboxRecord[]> {
  const rows = await ctx.db
    .selectFrom('sandboxes')
    .selectAll()
    .where('state', '=', 'pending')
    .where('queued_until', 'is not', null)
    .where('queued_until', '<=', ctx.now())
    .orderBy('queued_until')
    .limit(limit)
    .execute();
  return rows.map(toSandbox);
}

/**
 * The Store: the one interface the control plane uses for all its state. It is a set of aggregates,
 * each a thin binding of that aggregate's query functions (store/queries/*) to a driver. Every driver
 * passes the same contract suite (test/store/contract/*).
 */
import type { Clock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import type { SandboxState } from '../domain/states/sandbox.js';
import type { WorkerStatus } from '../domain/states/worker.js';
import { contextFor, inTransaction, type QueryContext } from './context.js';
import type { Driver, DriverName } from './driver.js';
import { latestVersion, migrate, schemaVersion, type MigrateResult } from './migrate.js';
import * as audit from './queries/audit.js';
import * as credentials from './queries/credentials.js';
import * as events from './queries/events.js';
import * as idempotency from './queries/idempotency.js';
import * as leases from './queries/leases.js';
import * as sandboxes from './queries/sandboxes.js';
import * as taskClaim from './queries/task-claim.js';
import * as taskLeasing from './queries/task-leasing.js';
import * as tasks from './queries/tasks.js';
import * as templates from './queries/templates.js';
import * as tenants from './queries/tenants.js';
import * as workers from './queries/workers.js';
import type * as T from './types.js';

/** Drop the leading QueryContext parameter of a query function. */
type Bound<F> = F extends (ctx: QueryContext, ...args: infer A) => infer R ? (...args: A) => R : never;
type BindAll<M> = { [K in keyof M]: Bound<M[K]> };

function bindAll<M extends Record<string, unknown>>(ctx: QueryContext, module: M): BindAll<M> {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(module)) {
    if (typeof fn === 'function' && !name.startsWith('to')) out[name] = (...args: unknown[]) => (fn as (...a: unknown[]) => unknown)(ctx, ...args);
  }
  return out as BindAll<M>;
}

type Queries<M> = BindAll<Omit<M, `to${string}`>>;

export interface Store {
  readonly driver: DriverName;
  readonly leases: Queries<typeof leases>;
  readonly workers: Queries<typeof workers>;
  readonly sandboxes: Queries<typeof sandboxes>;
  readonly tasks: Queries<typeof tasks> & Queries<typeof taskClaim> & Queries<typeof taskLeasing>;
  readonly tenants: Queries<typeof tenants>;
  readonly credentials: Queries<typeof credentials>;
  readonly templates: Queries<typeof templates>;
  readonly events: Queries<typeof events>;
  readonly idempotency: Queries<typeof idempotency>;
  readonly audit: {
    append(entry: T.AuditEntry): Promise<T.AuditRecord>;
    list: Bound<typeof audit.listAudit>;
  };
  /** The store clock (ms). */
  now(): Promise<number>;
  /** Cheap round trip for readiness checks; throws when the database is unreachable. */
  ping(): Promise<void>;
  migrate(): Promise<MigrateResult>;
  /** Applied and expected schema versions; `ready` when they match. */
  schema(): Promise<{ current: number; latest: number; ready: boolean }>;
  /** Run several store calls atomically. */
  transaction<R>(fn: (store: Store) => Promise<R>): Promise<R>;
  backup(target: string): Promise<{ path: string; bytes: number }>;
  /** True when the error means "database unreachable" (503), not a bug. */
  isUnavailable(err: unknown): boolean;
  close(): Promise<void>;
}

export function createStore(driver: Driver, clock: Clock): Store {
  return bindStore(driver, contextFor(driver), clock);
}

function bindStore(driver: Driver, ctx: QueryContext, clock: Clock): Store {
  return {
    driver: driver.name,
    leases: bindAll(ctx, leases),
    workers: bindAll(ctx, workers),
    sandboxes: bindAll(ctx, sandboxes),
    tasks: { ...bindAll(ctx, tasks), ...bindAll(ctx, taskClaim), ...bindAll(ctx, taskLeasing) },
    tenants: bindAll(ctx, tenants),
    credentials: bindAll(ctx, credentials),
    templates: bindAll(ctx, templates),
    events: bindAll(ctx, events),
    idempotency: bindAll(ctx, idempotency),
    audit: {
      // Audit ids only need to be unique and roughly time-ordered, so the process clock names them.
      append: (entry) => audit.appendAudit(ctx, newId('aud', clock.now()), entry),
      list: (...args) => audit.listAudit(ctx, ...args),
    },
    now: () => driver.readNow(),
    ping: async () => {
      await driver.readNow();
    },
    migrate: async () => migrate(driver, await driver.readNow()),
    schema: async () => {
      const current = await schemaVersion(driver);
      const latest = latestVersion(driver);
      return { current, latest, ready: current === latest };
    },
    transaction: (fn) => inTransaction(ctx, (tx) => fn(bindStore(driver, tx, clock))),
    backup: (target) => driver.backup(target),
    isUnavailable: (err) => driver.isUnavailable(err),
    close: () => driver.close(),
  };
}

export type { SandboxState, WorkerStatus };

import type { Kysely, RawBuilder } from 'kysely';
import type { Driver } from './driver.js';
import type { Database } from './schema.js';

/**
 * What every query function receives: the database handle (the pool, or the current transaction) and
 * the driver's traits. Passing the transaction explicitly keeps multi-statement operations atomic
 * without any hidden "current transaction" state.
 */
export interface QueryContext {
  db: Kysely<Database>;
  driver: Driver;
  now(): RawBuilder<number>;
}

export function contextFor(driver: Driver, db: Kysely<Database> = driver.db): QueryContext {
  return { db, driver, now: () => driver.now() };
}

/**
 * Run `fn` in one transaction; queries inside use the transaction's context. Called inside a
 * transaction already, it joins it, so operations compose (a fenced report wraps a transition).
 */
export function inTransaction<T>(ctx: QueryContext, fn: (tx: QueryContext) => Promise<T>): Promise<T> {
  if (ctx.db.isTransaction) return fn(ctx);
  return ctx.db.transaction().execute((trx) => fn(contextFor(ctx.driver, trx)));
}

export function toJson(value: unknown): string {
  return JSON.stringify(value ?? null);
}

export function fromJson<T>(text: string | null): T {
  return (text === null ? null : JSON.parse(text)) as T;
}

export const bool = (v: number): boolean => v !== 0;
export const bit = (v: boolean): number => (v ? 1 : 0);

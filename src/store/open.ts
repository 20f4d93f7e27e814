import { BadRequest } from '../domain/errors.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { openPostgres } from './postgres/driver.js';
import { openSqlite } from './sqlite/driver.js';
import { createStore, type Store } from './store.js';

export interface StoreOptions {
  driver: 'sqlite' | 'postgres';
  /** SQLite file (or ':memory:'). */
  path?: string | undefined;
  /** PostgreSQL connection string. */
  dsn?: string | undefined;
  poolSize?: number | undefined;
  clock?: Clock | undefined;
}

/** The store factory: the one place that knows which drivers exist. */
export function openStore(options: StoreOptions): Store {
  const clock = options.clock ?? systemClock;
  switch (options.driver) {
    case 'sqlite':
      return createStore(openSqlite({ path: options.path ?? './drover-data/drover.db', clock }), clock);
    case 'postgres':
      if (!options.dsn) throw new BadRequest('database.dsn is required for the postgres driver');
      return createStore(openPostgres({ dsn: options.dsn, poolSize: options.poolSize ?? 10 }), clock);
    default:
      throw new BadRequest(`unknown database driver "${String((options as { driver: unknown }).driver)}" (expected sqlite or postgres)`);
  }
}

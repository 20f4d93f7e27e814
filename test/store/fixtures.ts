/**
 * How each driver is opened for the contract suite. A fixture gives a migrated, empty store and a way
 * to move the store clock forward, so expiry is tested without sleeping.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ManualClock, systemClock } from '../../src/domain/clock.js';
import { openPostgres } from '../../src/store/postgres/driver.js';
import { openSqlite } from '../../src/store/sqlite/driver.js';
import { createStore, type Store } from '../../src/store/store.js';
import { createTestDatabase } from '../support/postgres.js';

export interface OpenedStore {
  store: Store;
  /** Move the store clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

export interface StoreFixture {
  name: 'sqlite' | 'postgres';
  open(): Promise<OpenedStore>;
}

export const sqliteFixture: StoreFixture = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'drover-store-'));
    const clock = new ManualClock();
    const store = createStore(openSqlite({ path: join(dir, 'drover.db'), clock }), clock);
    await store.migrate();
    return {
      store,
      advance: (ms) => clock.advance(ms),
      async close() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

export const postgresFixture: StoreFixture = {
  name: 'postgres',
  async open() {
    const db = await createTestDatabase();
    const driver = openPostgres({ dsn: db.url, poolSize: 4 });
    const store = createStore(driver, systemClock);
    await store.migrate();
    return {
      store,
      advance: (ms) => driver.advance(ms),
      async close() {
        await store.close();
        await db.drop();
      },
    };
  },
};

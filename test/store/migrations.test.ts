import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import { ManualClock, systemClock } from '../../src/domain/clock.js';
import type { Driver } from '../../src/store/driver.js';
import { migrate } from '../../src/store/migrate.js';
import { MIGRATION_VERSIONS } from '../../src/store/migrations/versions.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/migrations/postgres.js';
import { SQLITE_MIGRATIONS } from '../../src/store/migrations/sqlite.js';
import { openPostgres } from '../../src/store/postgres/driver.js';
import { openSqlite } from '../../src/store/sqlite/driver.js';
import { createTestDatabase, describePostgres } from '../support/postgres.js';

const versions = (list: { version: number; name: string }[]) => list.map(({ version, name }) => ({ version, name }));

describe('migrations', () => {
  it('both dialects define exactly the shared version list, in order', () => {
    assert.deepEqual(versions(SQLITE_MIGRATIONS), versions([...MIGRATION_VERSIONS]));
    assert.deepEqual(versions(POSTGRES_MIGRATIONS), versions([...MIGRATION_VERSIONS]));
  });
});

/** Table → sorted column names, as the database itself reports them. */
async function columnsOf(driver: Driver): Promise<Record<string, string[]>> {
  const rows =
    driver.name === 'sqlite'
      ? (await sql<{ t: string; c: string }>`select m.name as t, p.name as c from sqlite_master m join pragma_table_info(m.name) p where m.type = 'table' and m.name not like 'sqlite_%'`.execute(driver.db)).rows
      : (await sql<{ t: string; c: string }>`select table_name as t, column_name as c from information_schema.columns where table_schema = 'public'`.execute(driver.db)).rows;
  const out: Record<string, string[]> = {};
  for (const { t, c } of rows) (out[t] ??= []).push(c);
  for (const t of Object.keys(out)) out[t]!.sort();
  return out;
}

let sqliteColumns: Record<string, string[]> | undefined;

describe('migrations on SQLite', () => {
  it('apply once, then a second run is a no-op', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-mig-'));
    const driver = openSqlite({ path: join(dir, 'm.db'), clock: new ManualClock() });
    try {
      const first = await migrate(driver, 1);
      assert.deepEqual(first.applied, MIGRATION_VERSIONS.map((v) => v.version));
      const second = await migrate(driver, 2);
      assert.deepEqual(second.applied, []);
      assert.equal(second.current, first.current);
      sqliteColumns = await columnsOf(driver);
      assert.ok(sqliteColumns.leases?.includes('generation'));
    } finally {
      await driver.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

await describePostgres('migrations on PostgreSQL', () => {
  it('apply once, a second run is a no-op, and the tables and columns match SQLite', async () => {
    const db = await createTestDatabase();
    const driver = openPostgres({ dsn: db.url, poolSize: 2 });
    try {
      // Two migrators at once on an empty database (two replicas starting): exactly one applies each
      // version, and the other finds it done.
      const [a, b] = await Promise.all([migrate(driver, 1), migrate(driver, 1)]);
      assert.deepEqual([...a.applied, ...b.applied].sort(), MIGRATION_VERSIONS.map((v) => v.version));
      const again = await migrate(driver, 2);
      assert.deepEqual(again.applied, []);
      const pgColumns = await columnsOf(driver);
      const dir = mkdtempSync(join(tmpdir(), 'drover-mig-'));
      const lite = openSqlite({ path: join(dir, 'm.db'), clock: systemClock });
      await migrate(lite, 1);
      const liteColumns = sqliteColumns ?? (await columnsOf(lite));
      await lite.close();
      rmSync(dir, { recursive: true, force: true });
      assert.deepEqual(pgColumns, liteColumns);
    } finally {
      await driver.close();
      await db.drop();
    }
  });
});

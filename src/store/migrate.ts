import { sql } from 'kysely';
import type { Driver } from './driver.js';

export interface MigrateResult {
  applied: number[];
  current: number;
}

/**
 * Apply every migration the database has not seen, each in its own transaction together with its row
 * in schema_migrations, so a crash mid-way leaves a version either fully applied or not at all.
 * Running it again is a no-op.
 */
export async function migrate(driver: Driver, nowMs: number): Promise<MigrateResult> {
  const applied: number[] = [];
  for (const migration of driver.migrations) {
    const done = await driver.db.transaction().execute(async (trx) => {
      // Under the lock, so two replicas starting on an empty database do not race to create it.
      await driver.lockForMigration(trx);
      await sql`CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`.execute(trx);
      const seen = await trx.selectFrom('schema_migrations').select('version').where('version', '=', migration.version).executeTakeFirst();
      if (seen) return false;
      for (const statement of migration.statements) await sql.raw(statement).execute(trx);
      await trx.insertInto('schema_migrations').values({ version: migration.version, name: migration.name, applied_at: nowMs }).execute();
      return true;
    });
    if (done) applied.push(migration.version);
  }
  return { applied, current: await schemaVersion(driver) };
}

/** The highest applied version, 0 for an empty database. */
export async function schemaVersion(driver: Driver): Promise<number> {
  try {
    const row = await driver.db.selectFrom('schema_migrations').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
    return Number(row?.v ?? 0);
  } catch (err) {
    if (driver.isUnavailable(err)) throw err;
    return 0; // no schema_migrations table yet
  }
}

export function latestVersion(driver: Driver): number {
  return Math.max(0, ...driver.migrations.map((m) => m.version));
}

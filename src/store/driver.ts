/**
 * What differs between the SQLite and PostgreSQL drivers, in one place. Queries are written once with
 * Kysely against `Database`; the driver supplies the dialect, the store clock as an SQL expression, row
 * locking, error classification and its migration list. Nothing outside store/sqlite and store/postgres
 * asks which driver it is talking to.
 */
import type { Kysely, RawBuilder } from 'kysely';
import type { Migration } from './migrations/versions.js';
import type { Database } from './schema.js';

export type DriverName = 'sqlite' | 'postgres';

export interface Driver {
  readonly name: DriverName;
  readonly db: Kysely<Database>;
  /**
   * The store clock in ms as an SQL expression. PostgreSQL: `clock_timestamp()` (the database's clock,
   * shared by every replica). SQLite: the one process's clock, bound as a parameter.
   */
  now(): RawBuilder<number>;
  /** The store clock read as a value (one round trip on PostgreSQL). */
  readNow(): Promise<number>;
  /** `FOR UPDATE SKIP LOCKED` where the database has row locks; SQLite has one writer and needs none. */
  readonly rowLocks: boolean;
  readonly migrations: Migration[];
  /** Serialise concurrent migrators (two replicas starting at once) inside the migration transaction. */
  lockForMigration(trx: Kysely<Database>): Promise<void>;
  isUniqueViolation(err: unknown): boolean;
  /** True when the error means the database is unreachable (maps to 503), not a bug. */
  isUnavailable(err: unknown): boolean;
  /** Whole-database backup to a file (SQLite) or a description of how to do it (PostgreSQL). */
  backup(target: string): Promise<{ path: string; bytes: number }>;
  close(): Promise<void>;
}

/** Test hook: the contract suite moves the store clock without sleeping. */
export interface AdjustableClock {
  advance(ms: number): void;
}

import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import type { Clock } from '../../domain/clock.js';
import type { Driver } from '../driver.js';
import { SQLITE_MIGRATIONS } from '../migrations/sqlite.js';
import type { Database } from '../schema.js';

export interface SqliteOptions {
  /** File path, or ':memory:'. */
  path: string;
  /** The store clock; SQLite has no shared clock, so the owning process's is the store's. */
  clock: Clock;
}

export function openSqlite(options: SqliteOptions): Driver {
  if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
  const raw = new BetterSqlite3(options.path);
  // WAL lets readers (CLI, backups) run beside the server; busy_timeout makes a second process wait
  // for the write lock instead of failing at once; foreign keys are off by default in SQLite.
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('busy_timeout = 5000');
  raw.pragma('foreign_keys = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  const clock = options.clock;
  return {
    name: 'sqlite',
    db,
    now: () => sql<number>`${clock.now()}`,
    readNow: async () => clock.now(),
    rowLocks: false,
    migrations: SQLITE_MIGRATIONS,
    // One writer at a time is SQLite's nature: the migration transaction's first write takes the lock.
    lockForMigration: async () => {},
    isUniqueViolation: (err) => hasCode(err, 'SQLITE_CONSTRAINT_UNIQUE') || hasCode(err, 'SQLITE_CONSTRAINT_PRIMARYKEY'),
    isUnavailable: (err) => hasCode(err, 'SQLITE_BUSY') || hasCode(err, 'SQLITE_CANTOPEN') || hasCode(err, 'SQLITE_IOERR'),
    async backup(target) {
      mkdirSync(dirname(target), { recursive: true });
      // better-sqlite3's online backup copies a consistent snapshot while the database stays in use.
      await raw.backup(target);
      return { path: target, bytes: statSync(target).size };
    },
    close: () => db.destroy(),
  };
}

function hasCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** How many distinct SQL texts keep a prepared statement. Queries are built from a fixed set of shapes. */
const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely prepares a statement for every query it runs; preparing costs more than running most of our
 * queries. Statements are reused by SQL text (safe: better-sqlite3 runs each to completion
 * synchronously, so one statement is never in use twice at once). Least recently used ones go first.
 */
function withStatementCache(raw: BetterSqlite3.Database): ConstructorParameters<typeof SqliteDialect>[0]['database'] {
  const cache = new Map<string, BetterSqlite3.Statement>();
  return {
    close: () => raw.close(),
    prepare(sqlText: string) {
      let stmt = cache.get(sqlText);
      if (stmt) {
        cache.delete(sqlText);
      } else {
        stmt = raw.prepare(sqlText);
        if (cache.size >= STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value!);
      }
      cache.set(sqlText, stmt);
      return stmt;
    },
  } as ConstructorParameters<typeof SqliteDialect>[0]['database'];
}

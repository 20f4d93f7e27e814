import { spawn } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { AdjustableClock, Driver } from '../driver.js';
import { POSTGRES_MIGRATIONS } from '../migrations/postgres.js';
import type { Database } from '../schema.js';

export interface PostgresOptions {
  dsn: string;
  poolSize: number;
  /** Tests only: shift the store clock so leases expire without sleeping. Production leaves it at 0. */
  clockOffset?: { ms: number };
}

const INT8_OID = 20;
const NUMERIC_OID = 1700;

export function openPostgres(options: PostgresOptions): Driver & AdjustableClock {
  const pool = new pg.Pool({
    connectionString: options.dsn,
    max: options.poolSize,
    // Times are ms and generations are counters: both fit a double exactly far beyond any real value,
    // so BIGINT comes back as a number, matching what SQLite returns. Per-pool, not the global parser.
    types: {
      getTypeParser: ((oid: number, format?: string) =>
        oid === INT8_OID || oid === NUMERIC_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
    },
    connectionTimeoutMillis: 5000,
  });
  // A pool error (a connection dropped while idle) must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  const offset = options.clockOffset ?? { ms: 0 };
  const nowSql = () => sql<number>`(floor(extract(epoch from clock_timestamp()) * 1000)::bigint + ${offset.ms}::bigint)`;
  return {
    name: 'postgres',
    db,
    now: nowSql,
    async readNow() {
      const r = await sql<{ now: number }>`select ${nowSql()} as now`.execute(db);
      return Number(r.rows[0]!.now);
    },
    rowLocks: true,
    migrations: POSTGRES_MIGRATIONS,
    lockForMigration: async (trx) => {
      await sql`select pg_advisory_xact_lock(7423001)`.execute(trx);
    },
    isUniqueViolation: (err) => pgCode(err) === '23505',
    isUnavailable: (err) => {
      const code = pgCode(err) ?? '';
      return code.startsWith('08') || code === '57P01' || code === '57P03' || isNetworkError(err);
    },
    advance(ms) {
      offset.ms += ms;
    },
    async backup(target) {
      mkdirSync(dirname(target), { recursive: true });
      await runPgDump(options.dsn, target);
      return { path: target, bytes: statSync(target).size };
    },
    close: () => db.destroy(),
  };
}

function pgCode(err: unknown): string | undefined {
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function isNetworkError(err: unknown): boolean {
  const code = pgCode(err);
  return code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || code === 'EPIPE' ||
    (err instanceof Error && /timeout exceeded when trying to connect|Connection terminated/.test(err.message));
}

/** PostgreSQL backups are pg_dump's job (custom format, restorable with pg_restore). */
function runPgDump(dsn: string, target: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('pg_dump', ['--format=custom', `--file=${target}`, dsn], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', (err) => reject(new Error(`pg_dump could not start (${err.message}); install the PostgreSQL client tools`)));
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pg_dump exited ${code}: ${stderr.trim().slice(0, 500)}`))));
  });
}

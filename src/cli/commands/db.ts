/**
 * `drover db migrate|backup`: schema and backups, run against whatever database the configuration
 * names (or --path / --dsn).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig } from '../../config/index.js';
import type { Store } from '../../store/index.js';
import { printJson } from '../output.js';

interface DbOptions {
  config?: string;
  driver?: string;
  path?: string;
  dsn?: string;
  json?: boolean;
}

function withDatabaseOptions(cmd: Command): Command {
  return cmd
    .option('--config <file>', 'configuration file (else $DROVER_CONFIG, else ./drover.yaml)')
    .option('--driver <driver>', 'sqlite or postgres (database.driver)')
    .option('--path <file>', 'SQLite database file (database.path)')
    .option('--dsn <url>', 'PostgreSQL connection string (database.dsn)')
    .option('--json', 'machine-readable output');
}

async function openFromOptions(opts: DbOptions): Promise<Store> {
  const flags: Record<string, unknown> = {};
  if (opts.driver) flags['database.driver'] = opts.driver;
  if (opts.path) flags['database.path'] = opts.path;
  if (opts.dsn) {
    flags['database.dsn'] = opts.dsn;
    flags['database.driver'] ??= 'postgres';
  }
  const config = loadConfig({ configFile: opts.config, env: process.env, flags });
  const db = config.database;
  // The store (kysely, native SQLite) loads only for db commands.
  const { openStore } = await import('../../store/index.js');
  return openStore({ driver: db.driver, path: db.path ? resolve(db.path) : undefined, dsn: db.dsn, poolSize: 2 });
}

/** Where the database is, without credentials. */
function describe(store: Store, opts: DbOptions): string {
  if (store.driver === 'sqlite') return `sqlite ${opts.path ?? 'from configuration'}`;
  return 'postgres';
}

export function registerDb(program: Command): void {
  const db = program.command('db').description('database schema and backups');

  withDatabaseOptions(db.command('migrate').description('apply pending schema migrations (a no-op when up to date)')).action(async (opts: DbOptions) => {
    const store = await openFromOptions(opts);
    try {
      const result = await store.migrate();
      if (opts.json) printJson(result);
      else if (result.applied.length === 0) process.stdout.write(`${describe(store, opts)}: schema is up to date (version ${result.current})\n`);
      else process.stdout.write(`${describe(store, opts)}: applied ${result.applied.map((v) => `#${v}`).join(', ')}; schema is at version ${result.current}\n`);
    } finally {
      await store.close();
    }
  });

  withDatabaseOptions(db.command('backup').description('write a consistent backup (SQLite: a database file; PostgreSQL: pg_dump custom format)'))
    .option('--out <file>', 'where to write it (default ./drover-data/backups/drover-<time>.<ext>)')
    .action(async (opts: DbOptions & { out?: string }) => {
      const store = await openFromOptions(opts);
      try {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        const target = resolve(opts.out ?? `./drover-data/backups/drover-${stamp}.${store.driver === 'sqlite' ? 'db' : 'dump'}`);
        const result = await store.backup(target);
        if (opts.json) printJson(result);
        else process.stdout.write(`backup written: ${result.path} (${result.bytes} bytes)\n`);
      } finally {
        await store.close();
      }
    });
}

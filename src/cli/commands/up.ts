/**
 * `drover up`. Until the control plane and the worker exist, it prepares what they will use — the
 * data directory and the migrated SQLite store — and says plainly that nothing is served yet.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadConfig } from '../../config/index.js';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run the control plane and a local worker (today: prepares the local store only)')
    .option('--config <file>', 'configuration file')
    .action(async (opts: { config?: string }) => {
      const config = loadConfig({ configFile: opts.config, env: process.env });
      const db = config.database;
      const { openStore } = await import('../../store/index.js');
      const store = openStore({ driver: db.driver, path: db.path ? resolve(db.path) : undefined, dsn: db.dsn, poolSize: 2 });
      try {
        const result = await store.migrate();
        const where = db.driver === 'sqlite' ? resolve(db.path) : 'PostgreSQL (database.dsn)';
        process.stdout.write(
          [
            `drover: store ready at ${where} (schema version ${result.current}${result.applied.length ? ', just migrated' : ''})`,
            'drover: the control plane and the local worker are not built yet, so nothing is served;',
            '        `drover up` will start both here once they land. See README.md for what works today.',
            '',
          ].join('\n'),
        );
      } finally {
        await store.close();
      }
    });
}

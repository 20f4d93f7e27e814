/**
 * `drover serve`: one control-plane replica. Runs until SIGINT/SIGTERM, then shuts down gracefully.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';

interface ServeOptions {
  config?: string;
  host?: string;
  port?: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run a control-plane replica (SQLite by default; PostgreSQL for several replicas)')
    .option('--config <file>', 'configuration file (else $DROVER_CONFIG, else ./drover.yaml)')
    .option('--host <host>', 'listen address (server.host)')
    .option('--port <port>', 'listen port (server.port)')
    .action(async (opts: ServeOptions) => {
      const flags: Record<string, unknown> = {};
      if (opts.host !== undefined) flags['server.host'] = opts.host;
      if (opts.port !== undefined) flags['server.port'] = Number(opts.port);
      const config = loadConfig({ configFile: opts.config, env: process.env, flags });
      // Loaded here, not at the top: every other CLI command would pay for Fastify, the store and S3.
      const { startServer } = await import('../../control-plane/server.js');
      const server = await startServer({ config });
      process.stdout.write(`drover: control plane listening on ${server.url}\n`);
      if (server.bootstrapKey) {
        process.stdout.write(`drover: admin API key (shown once; also in ${server.bootstrapKey.file}):\n  ${server.bootstrapKey.key}\n`);
      }
      await new Promise<void>((resolveStop) => {
        let stopping = false;
        // `on`, not `once`: a repeated signal must not kill the process mid-shutdown.
        const stop = () => {
          if (stopping) return;
          stopping = true;
          process.stdout.write('drover: shutting down\n');
          void server.stop().then(resolveStop);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

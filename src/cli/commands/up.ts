/**
 * `drover up`: the control plane and a local worker in one command (SQLite, fs artifacts). The worker
 * joins over loopback HTTP with its own token, exactly as a remote worker would; nothing is shared
 * in-process that the cluster path lacks.
 */
import type { Command } from 'commander';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../../config/index.js';

interface UpOptions {
  config?: string;
  port?: string;
}

/** The local worker's token: generated on the first start, kept beside the database (mode 0600). */
function localWorkerToken(dataDir: string): string {
  const file = join(dataDir, 'worker.token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const token = `dwt_${randomBytes(32).toString('base64url')}`;
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run the control plane and a local worker (SQLite, fs artifacts) until interrupted')
    .option('--config <file>', 'configuration file (else $DROVER_CONFIG, else ./drover.yaml)')
    .option('--port <port>', 'control-plane port (server.port)')
    .action(async (opts: UpOptions) => {
      const portFlag = opts.port === undefined ? {} : { 'server.port': Number(opts.port) };
      const base = loadConfig({ configFile: opts.config, env: process.env, flags: portFlag });
      const dataDir = base.database.driver === 'sqlite' ? dirname(resolve(base.database.path)) : resolve('drover-data');
      const workerId = base.worker.id ?? 'local';
      const token = base.worker.token ?? localWorkerToken(dataDir);
      // The control plane accepts exactly this worker id with exactly this token.
      const serverConfig = loadConfig({
        configFile: opts.config,
        env: process.env,
        flags: { ...portFlag, 'auth.worker_tokens': { ...base.auth.worker_tokens, [workerId]: token } },
      });
      const [{ startServer }, { startWorker }, { resolveWorkerOptions }, { probeHostFacts }] = await Promise.all([
        import('../../control-plane/server.js'),
        import('../../worker/daemon.js'),
        import('../../worker/options.js'),
        import('../../worker/host-facts.js'),
      ]);
      const server = await startServer({ config: serverConfig });
      const workerConfig = loadConfig({
        configFile: opts.config,
        env: process.env,
        flags: { 'worker.id': workerId, 'worker.control_plane_url': server.url, 'worker.token': token },
      });
      let worker;
      try {
        const options = resolveWorkerOptions(workerConfig, await probeHostFacts(workerConfig));
        worker = await startWorker({ options });
        await worker.ready;
        printBanner(server.url, server.bootstrapKey, worker.id, options.providers, options.providersReason);
      } catch (err) {
        await server.stop();
        throw err;
      }
      await new Promise<void>((done) => {
        let stopping = false;
        // `on`, not `once`: a second Ctrl-C during shutdown must not fall back to the default action
        // and kill the process before the worker has destroyed its sandboxes.
        const stop = () => {
          if (stopping) return void process.stdout.write('drover: already shutting down\n');
          stopping = true;
          process.stdout.write('drover: shutting down (worker first, then the control plane)\n');
          void worker!.stop().then(() => server.stop()).then(done);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}

function printBanner(url: string, key: { key: string; file: string } | undefined, workerId: string, providers: string[], reason: string): void {
  const lines = [`drover: control plane on ${url} (API reference: ${url}/docs)`];
  if (key) lines.push(`drover: admin API key (shown once; also in ${key.file}):`, `  ${key.key}`);
  const isolated = providers.includes('bwrap');
  lines.push(`drover: local worker "${workerId}" joined; providers: ${providers.join(', ')}`);
  if (!isolated) lines.push(`drover: sandboxes use the process provider, which does NOT isolate them (${reason})`);
  const urlFlag = url === 'http://127.0.0.1:7423' ? '' : ` --url ${url}`;
  lines.push(
    '',
    'Quickstart (the CLI finds the admin key in ./drover-data/admin.key):',
    `  npx drover sandbox create${urlFlag}`,
    `  npx drover sandbox ls${urlFlag}`,
    `  npx drover task submit hello --input '{"name":"world"}'${urlFlag}`,
    '',
  );
  process.stdout.write(lines.join('\n'));
}

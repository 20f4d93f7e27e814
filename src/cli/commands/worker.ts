/**
 * `drover worker`: the worker daemon (03-worker.md). Flags map onto `worker.*` config keys and are the
 * highest-precedence source; none has a commander default, because a default counts as a flag and
 * would override the file and the environment. `--once` sends one heartbeat, prints the reply as JSON
 * and exits 0 (or 1 with the reason). The daemon modules load inside the action, so other commands do
 * not pay for Fastify and the providers.
 */
import type { Command } from 'commander';
import { loadConfig } from '../../config/index.js';
import { CliError, printJson } from '../output.js';

interface WorkerFlags {
  id?: string;
  controlPlane?: string;
  workerToken?: string;
  workerTokenFile?: string;
  heartbeatInterval?: string;
  listen?: string;
  advertiseUrl?: string;
  dataDir?: string;
  label?: string[];
  provider?: string[];
  once?: boolean;
  config?: string;
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** Flags → dotted config keys; absent flags are left out so they override nothing. */
export function workerFlagsToConfig(f: WorkerFlags): Record<string, unknown> {
  const flags: Record<string, unknown> = {
    'worker.id': f.id,
    'worker.control_plane_url': f.controlPlane,
    'worker.token': f.workerToken,
    'worker.token_file': f.workerTokenFile,
    'worker.heartbeat_interval': f.heartbeatInterval,
    'worker.listen_addr': f.listen,
    'worker.advertise_url': f.advertiseUrl,
    'worker.data_dir': f.dataDir,
    'worker.labels': f.label,
    'worker.providers': f.provider,
  };
  return Object.fromEntries(Object.entries(flags).filter(([, v]) => v !== undefined));
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a worker: join a control plane and run sandboxes on this machine')
    .option('--id <id>', 'worker id (worker.id; default: the host name)')
    .option('--control-plane <url>', 'control plane URL (worker.control_plane_url)')
    .option('--worker-token <token>', 'worker token (worker.token; prefer --worker-token-file or DROVER_WORKER_TOKEN)')
    .option('--worker-token-file <file>', 'file holding the worker token (worker.token_file)')
    .option('--heartbeat-interval <duration>', 'heartbeat interval until the control plane sets one, e.g. 5s (worker.heartbeat_interval)')
    .option('--listen <addr>', 'RPC listen address host:port (worker.listen_addr)')
    .option('--advertise-url <url>', 'URL the control plane calls (worker.advertise_url; default: from --listen)')
    .option('--data-dir <dir>', 'data directory (worker.data_dir)')
    .option('--label <k=v>', 'a label, repeatable (worker.labels)', collect)
    .option('--provider <name>', 'a provider to offer, repeatable: bwrap, process, mock (worker.providers)', collect)
    .option('--once', 'send one heartbeat, print the reply as JSON and exit')
    .option('--config <file>', 'configuration file (else $DROVER_CONFIG, else ./drover.yaml)')
    .action(async (f: WorkerFlags) => {
      const config = loadConfig({ configFile: f.config, env: process.env, flags: workerFlagsToConfig(f) });
      const [{ resolveWorkerOptions, WorkerConfigError }, { probeHostFacts }] = await Promise.all([import('../../worker/options.js'), import('../../worker/host-facts.js')]);
      let options;
      try {
        options = resolveWorkerOptions(config, await probeHostFacts(config));
      } catch (err) {
        if (err instanceof WorkerConfigError) throw new CliError(err.message, 2);
        throw err;
      }
      if (f.once) {
        const { heartbeatOnce } = await import('../../worker/once.js');
        try {
          printJson(await heartbeatOnce(options));
        } catch (err) {
          throw new CliError(`heartbeat failed: ${(err as Error).message}`, 1);
        }
        return;
      }
      const { startWorker } = await import('../../worker/daemon.js');
      const worker = await startWorker({ options, handleSignals: true });
      process.stdout.write(`drover: worker ${worker.id} listening on ${worker.url} (control plane ${options.controlPlaneUrl})\n`);
      await worker.stopped;
      process.stdout.write('drover: worker stopped\n');
    });
}

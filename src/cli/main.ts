/**
 * The `drover` binary: one composition root that parses arguments and hands each subcommand its own
 * module under cli/commands/. Exit codes: 0 ok, 1 failure, 2 usage error.
 */
import { Command, CommanderError } from 'commander';
import { registerVersion } from './commands/version.js';
import { registerConfig } from './commands/config.js';
import { registerDb } from './commands/db.js';
import { registerUp } from './commands/up.js';
import { registerServe } from './commands/serve.js';
import { registerWorker } from './commands/worker.js';
import { registerSandbox } from './commands/sandbox.js';
import { registerTemplate } from './commands/template.js';
import { registerTask } from './commands/task.js';
import { registerWorkers } from './commands/workers.js';
import { registerLeases } from './commands/leases.js';
import { registerKeys } from './commands/keys.js';
import { registerWorkerTokens } from './commands/worker-tokens.js';
import { registerTenants } from './commands/tenants.js';
import { registerAudit } from './commands/audit.js';
import { CliError } from './output.js';

export function buildProgram(): Command {
  const program = new Command('drover')
    .description('Drover: sandboxes, services and remote tasks on a fleet of workers')
    .option('--url <url>', 'control plane URL (env DROVER_URL)')
    .option('--api-key <key>', 'API key (env DROVER_API_KEY)')
    .showHelpAfterError()
    .exitOverride();
  registerUp(program);
  registerServe(program);
  registerWorker(program);
  registerSandbox(program);
  registerTemplate(program);
  registerTask(program);
  registerWorkers(program);
  registerLeases(program);
  registerKeys(program);
  registerWorkerTokens(program);
  registerTenants(program);
  registerAudit(program);
  registerVersion(program);
  registerConfig(program);
  registerDb(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version exit through here with code 0.
      return err.exitCode === 0 ? 0 : 2;
    }
    if (err instanceof CliError) {
      process.stderr.write(`drover: ${err.message}\n`);
      return err.exitCode;
    }
    process.stderr.write(`drover: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

const code = await main(process.argv);
process.exitCode = code;

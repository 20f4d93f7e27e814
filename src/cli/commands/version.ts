import type { Command } from 'commander';
import { buildInfo } from '../../domain/build-info.js';
import { printJson } from '../output.js';

export function registerVersion(program: Command): void {
  program
    .command('version')
    .description('print the Drover version')
    .option('--json', 'machine-readable output')
    .action((opts: { json?: boolean }) => {
      const info = buildInfo();
      if (opts.json) printJson(info);
      else process.stdout.write(`drover ${info.version} (node ${info.node})\n`);
    });
}

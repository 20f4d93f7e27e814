/**
 * `drover config lint|print`: check and show the configuration a process started here would run with,
 * i.e. the YAML file plus DROVER_* environment variables, loaded exactly as `serve` and `worker` load it.
 */
import type { Command } from 'commander';
import { stringify } from 'yaml';
import { configFilePath, ConfigError, lintConfig, loadConfig, redactConfig } from '../../config/index.js';
import type { Config, Finding } from '../../config/index.js';
import { CliError, formatTable, printJson } from '../output.js';

interface CommonOptions {
  file?: string;
  json?: boolean;
}

export function registerConfig(program: Command): void {
  const config = program.command('config').description('check and show the effective configuration');

  config
    .command('lint')
    .description('check the configuration; exits 1 when any finding is an error')
    .option('--file <file>', 'YAML config file (default: $DROVER_CONFIG, else ./drover.yaml if present)')
    .option('--production', 'also apply the checks a production deployment must pass')
    .option('--json', 'machine-readable output')
    .action((opts: CommonOptions & { production?: boolean }) => lint(opts));

  config
    .command('print')
    .description('print the effective configuration with secrets redacted')
    .option('--file <file>', 'YAML config file (default: $DROVER_CONFIG, else ./drover.yaml if present)')
    .option('--json', 'print JSON instead of YAML')
    .action((opts: CommonOptions) => print(opts));
}

function lint(opts: CommonOptions & { production?: boolean }): void {
  const production = opts.production === true;
  const file = configFilePath({ configFile: opts.file });
  const config = load(opts, (problems) => printJson({ ok: false, file: file ?? null, production, problems, findings: [] }));
  const findings = lintConfig(config, { production });
  const errors = findings.filter((f) => f.severity === 'error').length;

  if (opts.json) printJson({ ok: errors === 0, file: file ?? null, production, findings });
  else printFindings(findings, `${file ?? 'no config file, defaults'} + environment${production ? ', production checks' : ''}`);

  if (errors > 0) throw new CliError(`config lint: ${plural(errors, 'error')}`, 1);
}

function printFindings(findings: Finding[], scope: string): void {
  if (findings.length === 0) {
    process.stdout.write(`no findings (${scope})\n`);
    return;
  }
  const { header, lines } = formatTable(findings.map((f) => ({ ...f })), ['severity', 'id', 'path', 'message']);
  const out = [header];
  findings.forEach((f, i) => out.push(lines[i]!, `    fix: ${f.fix}`));
  const count = (s: Finding['severity']) => findings.filter((f) => f.severity === s).length;
  out.push('', `${plural(count('error'), 'error')}, ${plural(count('warning'), 'warning')}, ${plural(count('info'), 'info', 'info')} (${scope})`);
  process.stdout.write(`${out.join('\n')}\n`);
}

function print(opts: CommonOptions): void {
  const redacted = redactConfig(load(opts));
  if (opts.json) {
    printJson(redacted);
    return;
  }
  const file = configFilePath({ configFile: opts.file });
  process.stdout.write(`# effective configuration (${file ?? 'no config file'} + environment); secrets redacted\n`);
  process.stdout.write(stringify(redacted));
}

/**
 * Loads the config as a server would; on failure lists every problem and exits 1. In JSON mode the
 * problems go to stdout as JSON (onJsonFailure) so a script always gets a parseable answer.
 */
function load(opts: CommonOptions, onJsonFailure?: (problems: ConfigError['problems']) => void): Config {
  try {
    return loadConfig({ configFile: opts.file });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (opts.json && onJsonFailure) onJsonFailure(err.problems);
    throw new CliError(err.message, 1);
  }
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

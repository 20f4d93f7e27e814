/**
 * The control plane's logger: pino, JSON lines by default (what log shippers parse), a plain one-line
 * format for people at a terminal, and redaction of every field name a secret travels under.
 *
 * Redaction is by path because pino applies it while serialising, so no call site has to remember it;
 * a secret logged inside an object under one of these names is replaced before the line is written.
 * Paths are exact per depth (`*.token` is one level down), so each name is listed at the depths our log
 * objects reach: the top level, one level (`{ worker: { rpc_secret } }`), two (`{ req: { headers: {
 * authorization } } }`) and three (`{ config: { artifacts: { s3: { secret_access_key } } } }`).
 * Secrets inside free-text messages cannot be caught this way: never interpolate one into a message.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LoggingConfig } from '../../config/index.js';
import { prettyLine } from './pretty.js';

export const LOG_CENSOR = '[redacted]';

/** Field names that carry a secret wherever they appear (header names are lower-case in Node). */
export const SECRET_FIELDS = [
  'authorization',
  'x-worker-token',
  'x-api-key',
  'cookie',
  'set-cookie',
  'token',
  'worker_token',
  'worker_tokens',
  'workerToken',
  'admin_api_key',
  'api_key',
  'apiKey',
  'key',
  'password',
  'dsn',
  'secret',
  'rpc_secret',
  'rpcSecret',
  'signing_key',
  'signingKey',
  'secret_access_key',
  'secretAccessKey',
] as const;

const MAX_DEPTH = 3;

/** Every redact path: each secret field at depths 0..MAX_DEPTH, in the syntax pino's redact accepts. */
export function redactPaths(fields: readonly string[] = SECRET_FIELDS): string[] {
  const paths: string[] = [];
  for (const field of fields) {
    const leaf = /^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`;
    for (let depth = 0; depth <= MAX_DEPTH; depth++) {
      const prefix = '*.'.repeat(depth);
      paths.push(leaf.startsWith('[') ? (depth === 0 ? leaf : `${prefix.slice(0, -1)}${leaf}`) : `${prefix}${leaf}`);
    }
  }
  return paths;
}

export interface LoggerOptions {
  /** Whether stdout is a terminal; decides `format: auto`. Default: process.stdout.isTTY. */
  isTty?: boolean;
}

/**
 * Build the process logger. `destination` defaults to stdout; tests pass `{ write }` to capture lines.
 * `auto` means pretty on a terminal and JSON otherwise, so `drover up` is readable by hand while the
 * same binary under systemd or in a container emits machine-readable lines.
 */
export function createLogger(config: LoggingConfig, destination?: DestinationStream, o: LoggerOptions = {}): Logger {
  const isTty = o.isTty ?? (destination === undefined && process.stdout.isTTY === true);
  const pretty = config.format === 'pretty' || (config.format === 'auto' && isTty);
  // Synchronous stdout: the last lines before a crash are the ones most worth having.
  const sink = destination ?? pino.destination({ dest: 1, sync: true });
  const target: DestinationStream = pretty ? { write: (line: string) => void sink.write(prettyLine(line)) } : sink;
  return pino(
    {
      level: config.level,
      redact: { paths: redactPaths(), censor: LOG_CENSOR },
      // Level names, not numbers, and RFC 3339 times: readable in any log viewer without a lookup table.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    target,
  );
}

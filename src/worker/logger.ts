/**
 * The worker's logger: pino, JSON lines (or one readable line per event at a terminal), with the
 * field names a secret travels under redacted wherever they appear in a log object. The worker holds
 * two secrets — its token for the control plane and the rpc secret the control plane presents to it —
 * and neither may ever reach a log line; never interpolate one into a message either.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LoggingConfig } from '../config/index.js';

const SECRET_FIELDS = ['authorization', 'x-worker-token', 'token', 'worker_token', 'workerToken', 'rpc_secret', 'rpcSecret', 'secret'];

function redactPaths(): string[] {
  const paths: string[] = [];
  for (const field of SECRET_FIELDS) {
    const leaf = /^[A-Za-z_$][\w$]*$/.test(field) ? field : `["${field}"]`;
    paths.push(leaf, `*${leaf.startsWith('[') ? '' : '.'}${leaf}`, `*.*${leaf.startsWith('[') ? '' : '.'}${leaf}`);
  }
  return paths;
}

/** `12:00:01.123 INFO  worker registered worker_id=w-1` from one JSON line. */
function prettyLine(line: string): string {
  try {
    const { time, level, msg, pid: _pid, hostname: _host, ...rest } = JSON.parse(line) as Record<string, unknown>;
    const fields = Object.entries(rest)
      .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
      .join(' ');
    const clock = typeof time === 'string' ? time.slice(11, 23) : '';
    return `${clock} ${String(level).toUpperCase().padEnd(5)} ${String(msg ?? '')}${fields ? ` ${fields}` : ''}\n`;
  } catch {
    return line;
  }
}

export function createWorkerLogger(config: LoggingConfig, destination?: DestinationStream): Logger {
  const pretty = config.format === 'pretty' || (config.format === 'auto' && destination === undefined && process.stdout.isTTY === true);
  const sink = destination ?? pino.destination({ dest: 1, sync: true });
  const target: DestinationStream = pretty ? { write: (line: string) => void sink.write(prettyLine(line)) } : sink;
  return pino(
    {
      level: config.level,
      base: { component: 'worker' },
      redact: { paths: redactPaths(), censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    target,
  );
}

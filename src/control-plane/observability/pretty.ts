/**
 * A small human-readable rendering of pino's JSON lines, for `logging.format: pretty` (or `auto` on a
 * terminal). It runs on the already serialised and redacted line, so it can never show more than the
 * JSON format would; it only drops what a person at a terminal does not need (pid, hostname).
 *
 *   12:00:01.250 INFO  request done request_id=req_01H… route=/api/v1/sandboxes status=201
 */
const LEVELS: Record<string, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const OMIT = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'err', 'v']);

export function prettyLine(line: string): string {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = String(LEVELS[String(record.level)] ?? record.level ?? '').toUpperCase().padEnd(5);
  const parts = [clockTime(record.time), level];
  if (record.msg !== undefined) parts.push(String(record.msg));
  // The request id first: it is what a reader greps for to follow one request.
  const keys = Object.keys(record).filter((k) => !OMIT.has(k)).sort((a, b) => (a === 'request_id' ? -1 : b === 'request_id' ? 1 : 0));
  for (const k of keys) parts.push(`${k}=${value(record[k])}`);
  let out = parts.filter((p) => p !== '').join(' ');
  const err = record.err as { message?: unknown; stack?: unknown } | string | undefined;
  if (typeof err === 'string') out += ` err=${value(err)}`;
  else if (err && typeof err === 'object') out += `\n    ${String(err.stack ?? err.message ?? JSON.stringify(err)).replace(/\n/g, '\n    ')}`;
  return `${out}\n`;
}

function clockTime(time: unknown): string {
  const d = typeof time === 'number' || typeof time === 'string' ? new Date(time) : undefined;
  return d && !Number.isNaN(d.getTime()) ? d.toISOString().slice(11, 23) : '';
}

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]*$/.test(v) && v !== '' ? v : JSON.stringify(v);
  return JSON.stringify(v) ?? String(v);
}

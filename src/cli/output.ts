/** Shared CLI output helpers: tables for people, JSON for machines, and the CLI's error type. */

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A plain aligned table; columns are the keys of the first row unless given. */
export function printTable(rows: Record<string, unknown>[], columns?: string[]): void {
  const { header, lines } = formatTable(rows, columns);
  process.stdout.write(`${[header, ...lines].join('\n')}\n`);
}

/**
 * The aligned lines of printTable without printing them, for commands that put extra lines under a
 * row (e.g. `config lint` prints each finding's fix beneath it). lines[i] belongs to rows[i].
 */
export function formatTable(rows: Record<string, unknown>[], columns?: string[]): { header: string; lines: string[] } {
  const cols = columns ?? Object.keys(rows[0] ?? {});
  const cells = rows.map((r) => cols.map((c) => formatCell(r[c])));
  const widths = cols.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return { header: line(cols.map((c) => c.toUpperCase())), lines: cells.map(line) };
}

function formatCell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

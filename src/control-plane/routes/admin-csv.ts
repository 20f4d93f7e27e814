/**
 * RFC 4180 CSV: CRLF line ends; a field is quoted when it holds a comma, a quote, CR or LF (quotes are
 * doubled); null is an empty field; objects are JSON. A text field that a spreadsheet would run as a
 * formula (leading = + - @, tab or CR) is prefixed with a quote character: audit fields partly come
 * from callers (resource ids, actions), and opening an export must not execute them (OWASP "CSV
 * injection").
 */
const NEEDS_QUOTES = /[",\r\n]/;
const FORMULA_START = /^[=+\-@\t\r]/;

export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function toCsv<K extends string>(columns: readonly K[], rows: ReadonlyArray<Record<K, unknown>>): string {
  const lines = [columns.join(',')];
  for (const row of rows) lines.push(columns.map((c) => csvField(row[c])).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

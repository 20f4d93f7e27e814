/**
 * Output and argument helpers shared by the API commands: list flags and pages, one record as aligned
 * `field: value` lines, and strict parsing of numeric and `key=value` flag values (a bad value is a
 * usage error, exit 2, before anything is sent).
 */
import type { Command } from 'commander';
import { parseByteSize } from '../domain/duration.js';
import type { Lister, Page } from '../sdk/index.js';
import { usage } from './client.js';
import { printJson, printTable } from './output.js';

export interface ListOptions {
  limit?: string;
  cursor?: string;
  all?: boolean;
  json?: boolean;
}

export function withListOptions(cmd: Command): Command {
  return cmd
    .option('--limit <n>', 'items per page, 1-1000 (default 100)')
    .option('--cursor <cursor>', "continue after a previous page (its next_cursor)")
    .option('--all', 'fetch every page')
    .option('--json', 'machine-readable output');
}

/** One page, or every page with `--all` (then `next_cursor` is null). */
export async function fetchList<T, F>(lister: Lister<T, F>, filter: F, o: ListOptions): Promise<Page<T>> {
  const limit = o.limit === undefined ? undefined : integer('--limit', o.limit, 1, 1000);
  if (o.all && o.cursor) throw usage('--all and --cursor do not go together');
  if (!o.all) return lister.list({ ...filter, limit, cursor: o.cursor });
  const items: T[] = [];
  for await (const item of lister.all({ ...filter, limit })) items.push(item);
  return { items, next_cursor: null };
}

/** `--json`: the page as the API answered it; else a table, or `none` when there is nothing. */
export function printList<T>(page: Page<T>, o: ListOptions, row: (item: T) => Record<string, unknown>, none: string): void {
  if (o.json) return printJson(page);
  if (page.items.length === 0) process.stdout.write(`${none}\n`);
  else printTable(page.items.map(row));
  // On stderr: the table on stdout stays exactly the rows, for `| grep` and friends.
  if (page.next_cursor) process.stderr.write(`more results: add --cursor ${page.next_cursor} (or --all)\n`);
}

/** Aligned `field: value` lines; nested objects as compact JSON, null as `-`. */
export function printRecord(record: Record<string, unknown>): void {
  const width = Math.max(...Object.keys(record).map((k) => k.length));
  const lines = Object.entries(record).map(([k, v]) => `${`${k}:`.padEnd(width + 1)}  ${cell(v)}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function integer(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) throw usage(`${flag} must be a whole number from ${min} to ${max}, not "${value}"`);
  return n;
}

export function decimal(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw usage(`${flag} must be a number, not "${value}"`);
  return n;
}

/** MiB from a bare number (already MiB) or a size with a unit ("512MiB", "2GiB"). */
export function mebibytes(flag: string, value: string): number {
  if (/^\d+$/.test(value.trim())) return integer(flag, value, 1);
  const mib = parseByteSize(value) / 1024 ** 2;
  if (!Number.isInteger(mib) || mib < 1) throw usage(`${flag} must be a whole number of MiB, not "${value}"`);
  return mib;
}

/** Commander collector for repeatable flags (`-e A=1 -e B=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** `["k=v", …]` → `{k: v}`; the first `=` splits, so values may contain `=`. */
export function pairs(flag: string, values: string[] | undefined): Record<string, string> | undefined {
  if (!values || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const pair of values) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw usage(`${flag} takes key=value, not "${pair}"`);
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return out;
}

/** `used/capacity` for the fleet tables. */
export const ratio = (used: number, of: number): string => `${trim(used)}/${trim(of)}`;
const trim = (n: number) => String(Math.round(n * 1000) / 1000);

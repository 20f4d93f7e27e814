import { DRAIN_REQUESTED, INITIAL_TABLES } from './tables.js';
import type { Migration } from './versions.js';

function sqlite(statement: string): string {
  return statement
    .replaceAll('{int64}', 'INTEGER')
    .replaceAll('{text}', 'TEXT')
    .replaceAll('{seq}', 'INTEGER PRIMARY KEY AUTOINCREMENT');
}

export const SQLITE_MIGRATIONS: Migration[] = [
  { version: 1, name: 'initial', statements: INITIAL_TABLES.map(sqlite) },
  { version: 2, name: 'worker_drain_requested', statements: DRAIN_REQUESTED.map(sqlite) },
];

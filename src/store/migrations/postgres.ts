import { DRAIN_REQUESTED, INITIAL_TABLES } from './tables.js';
import type { Migration } from './versions.js';

function postgres(statement: string): string {
  return statement
    .replaceAll('{int64}', 'BIGINT')
    .replaceAll('{text}', 'TEXT')
    .replaceAll('{seq}', 'BIGSERIAL PRIMARY KEY');
}

export const POSTGRES_MIGRATIONS: Migration[] = [
  { version: 1, name: 'initial', statements: INITIAL_TABLES.map(postgres) },
  { version: 2, name: 'worker_drain_requested', statements: DRAIN_REQUESTED.map(postgres) },
];

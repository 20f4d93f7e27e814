/**
 * The one list of schema versions. Each dialect's migration list must define exactly these versions
 * with these names (test/store/migrations.test.ts asserts it), so the two drivers never drift.
 */
export const MIGRATION_VERSIONS = [
  { version: 1, name: 'initial' },
  { version: 2, name: 'worker_drain_requested' },
] as const;

export interface Migration {
  version: number;
  name: string;
  /** Statements run in one transaction, in order. */
  statements: string[];
}

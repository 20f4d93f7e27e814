import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it, test } from 'node:test';
import pg from 'pg';
import { createTestDatabase, describePostgres, findPostgresBinaries, testPostgres } from '../support/postgres.js';

async function query(url: string, sql: string, params: unknown[] = []): Promise<Record<string, unknown>[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows;
  } finally {
    await client.end();
  }
}

async function serverUrl(): Promise<string> {
  const server = await testPostgres();
  if (!server.available) throw new Error(server.reason);
  return server.url;
}

test('findPostgresBinaries prefers PATH over /usr/lib/postgresql', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'drover-bin-'));
  try {
    for (const name of ['initdb', 'postgres']) {
      await writeFile(join(dir, name), '#!/bin/sh\n');
      await chmod(join(dir, name), 0o755);
    }
    assert.deepEqual(findPostgresBinaries(dir), { initdb: join(dir, 'initdb'), postgres: join(dir, 'postgres') });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

await describePostgres('throwaway PostgreSQL harness', () => {
  it('serves queries on a created database', async () => {
    const db = await createTestDatabase();
    try {
      const rows = await query(db.url, 'select 1 as one, current_database() as name');
      assert.deepEqual(rows, [{ one: 1, name: db.name }]);
    } finally {
      await db.drop();
    }
  });

  it('gives every call its own database', async () => {
    const [a, b] = await Promise.all([createTestDatabase(), createTestDatabase()]);
    try {
      assert.notEqual(a.name, b.name);
      assert.notEqual(a.url, b.url);
      await query(a.url, 'create table only_in_a (id int)');
      assert.deepEqual(await query(b.url, "select to_regclass('only_in_a') as t"), [{ t: null }]);
    } finally {
      await Promise.all([a.drop(), b.drop()]);
    }
  });

  it('drop() removes the database', async () => {
    const db = await createTestDatabase();
    await db.drop();
    const rows = await query(await serverUrl(), 'select 1 from pg_database where datname = $1', [db.name]);
    assert.equal(rows.length, 0);
  });
});

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

function drover(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(root, 'bin/drover.js'), ...args], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('drover db (SQLite)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-cli-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'data', 'drover.db');

  it('migrate applies the schema, then is a no-op', () => {
    const first = drover(['db', 'migrate', '--path', path, '--json']);
    assert.equal(first.code, 0, first.stderr);
    const firstResult = JSON.parse(first.stdout) as { applied: number[]; current: number };
    assert.deepEqual(firstResult.applied, [1, 2]);
    const second = drover(['db', 'migrate', '--path', path]);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /up to date \(version 2\)/);
  });

  it('migrate takes the path from the environment too', () => {
    const r = drover(['db', 'migrate'], { DROVER_DATABASE_PATH: join(dir, 'env.db') });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync(join(dir, 'env.db')).size > 0);
  });

  it('backup writes a consistent copy', () => {
    const out = join(dir, 'backup.db');
    const r = drover(['db', 'backup', '--path', path, '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(statSync(out).size > 0);
    const check = drover(['db', 'migrate', '--path', out]);
    assert.match(check.stdout, /up to date/);
  });

  it('an unknown driver is a clear error', () => {
    const r = drover(['db', 'migrate', '--driver', 'oracle']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /driver/);
  });
});

await describePostgres('drover db (PostgreSQL)', () => {
  let db: TestDatabase;
  after(() => db?.drop());
  it('migrate against a DSN, then a no-op; the DSN is not echoed', async () => {
    db = await createTestDatabase();
    const first = drover(['db', 'migrate', '--dsn', db.url]);
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /applied #1, #2/);
    const second = drover(['db', 'migrate'], { DROVER_DATABASE_DRIVER: 'postgres', DROVER_DATABASE_DSN: db.url });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /up to date/);
    assert.ok(!second.stdout.includes(db.url));
  });
});

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { loadConfig, REDACTED, redactConfig, redactDsn } from '../../src/config/index.js';

describe('redactConfig', () => {
  const secrets = {
    DROVER_AUTH_ADMIN_API_KEY: 'secret-admin',
    DROVER_AUTH_WORKER_TOKEN: 'secret-shared',
    DROVER_AUTH_WORKER_TOKENS: 'w1=secret-w1,w2=secret-w2',
    DROVER_WORKER_TOKEN: 'secret-worker',
    DROVER_ARTIFACTS_SIGNING_KEY: 'secret-signing',
    DROVER_ARTIFACTS_S3_SECRET_ACCESS_KEY: 'secret-s3',
    DROVER_METRICS_TOKEN: 'secret-metrics',
    DROVER_DATABASE_DSN: 'postgres://drover:secret-pw@db.internal:5432/drover',
  };
  const config = loadConfig({ env: secrets, cwd: '/' });

  test('no secret appears anywhere in the printed output', () => {
    const redacted = redactConfig(config);
    const printed = `${stringify(redacted)}\n${JSON.stringify(redacted)}`;
    assert.doesNotMatch(printed, /secret-/);
    assert.equal(redacted.auth.admin_api_key, REDACTED);
    assert.equal(redacted.artifacts.s3.secret_access_key, REDACTED);
    assert.deepEqual(redacted.auth.worker_tokens, { w1: REDACTED, w2: REDACTED });
    // Which database is visible; only the password is hidden.
    assert.equal(redacted.database.dsn, `postgres://drover:${REDACTED}@db.internal:5432/drover`);
  });

  test('absent secrets stay absent, other values and the original are untouched', () => {
    const plain = loadConfig({ env: {}, cwd: '/' });
    const redacted = redactConfig(plain);
    assert.equal('admin_api_key' in redacted.auth, false);
    assert.deepEqual(redacted, JSON.parse(JSON.stringify(plain)));
    assert.equal(config.auth.admin_api_key, 'secret-admin');
    assert.ok(!Object.isFrozen(redactConfig(config)));
  });

  test('redactDsn covers user-info, query and key=value forms', () => {
    assert.equal(redactDsn('postgres://u:p@ss@h/db'), `postgres://u:${REDACTED}@h/db`);
    assert.equal(redactDsn('postgres://h/db?user=u&password=p1&sslmode=require'), `postgres://h/db?user=u&password=${REDACTED}&sslmode=require`);
    assert.equal(redactDsn("host=h password='a b' dbname=d"), `host=h password=${REDACTED} dbname=d`);
    assert.equal(redactDsn('postgres://u@h/db'), 'postgres://u@h/db');
  });
});

import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, configKeys, envName, loadConfig, SECRET_KEYS } from '../../src/config/index.js';
import type { LoadConfigOptions } from '../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'drover-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let seq = 0;
function file(content: string, name = `c${++seq}.yaml`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Isolated from the real environment and from any drover.yaml in the checkout. */
function load(opts: LoadConfigOptions = {}) {
  return loadConfig({ env: {}, cwd: dir, ...opts });
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems.map((p) => `${p.path}: ${p.message} (${p.source})`);
  }
  assert.fail('expected a ConfigError');
}

describe('defaults', () => {
  test('an empty configuration is valid and has the documented defaults', () => {
    const c = load();
    assert.equal(c.server.host, '127.0.0.1');
    assert.equal(c.server.port, 7423);
    assert.equal(c.server.body_limit, 1024 * 1024);
    assert.deepEqual(c.server.cors_allowed_origins, []);
    assert.equal(c.database.driver, 'sqlite');
    assert.equal(c.database.path, './drover-data/drover.db');
    assert.equal(c.database.pool_size, 10);
    assert.equal(c.auth.enabled, true);
    assert.deepEqual(c.auth.worker_tokens, {});
    assert.equal(c.workers.heartbeat_interval, 5_000);
    assert.equal(c.workers.stale_after, 15_000);
    assert.equal(c.workers.lost_after, 30_000);
    assert.equal(c.workers.max_lost_fraction, 0.5);
    assert.equal(c.workers.mass_loss_min_workers, 3);
    assert.equal(c.workers.mass_loss_max_hold, 300_000);
    assert.deepEqual(c.scheduler, { strategy: 'binpack', sample: 2 });
    assert.equal(c.sandboxes.default_provider, 'auto');
    assert.equal(c.sandboxes.default_ttl, 3_600_000);
    assert.equal(c.sandboxes.max_ttl, 86_400_000);
    assert.equal(c.sandboxes.queue_timeout, 30_000);
    assert.equal(c.sandboxes.max_exec_timeout, 600_000);
    assert.deepEqual(c.tasks, { lease_ttl: 30_000, default_timeout: 3_600_000, default_max_attempts: 3, max_output_bytes: 1_048_576 });
    assert.equal(c.artifacts.driver, 'fs');
    assert.equal(c.artifacts.path, './drover-data/artifacts');
    assert.equal(c.artifacts.max_url_ttl, 3_600_000);
    assert.equal(c.artifacts.s3.force_path_style, false);
    assert.deepEqual(c.rate_limit, { enabled: true, requests_per_minute: 1200, burst: 200 });
    assert.deepEqual(c.logging, { level: 'info', format: 'auto' });
    assert.equal(c.metrics.enabled, true);
    assert.equal(c.replicas, 1);
    assert.equal(c.worker.control_plane_url, 'http://127.0.0.1:7423');
    assert.equal(c.worker.listen_addr, '127.0.0.1:7430');
    assert.equal(c.worker.heartbeat_interval, 5_000);
    assert.equal(c.worker.shutdown_timeout, 30_000);
    assert.equal(c.worker.data_dir, './drover-data/worker');
    assert.deepEqual(c.worker.labels, {});
    assert.deepEqual(c.worker.capacity, {});
    assert.equal(c.worker.providers, undefined);
    assert.equal(c.worker.allow_host_network, true);
    assert.equal(c.worker.id, undefined);
    assert.equal(c.auth.admin_api_key, undefined);
  });

  test('the result is deep-frozen', () => {
    const c = load({ configFile: file('worker:\n  labels: {zone: a, gpu: true, tier: 2}\n') });
    assert.deepEqual(c.worker.labels, { zone: 'a', gpu: 'true', tier: '2' });
    assert.ok(Object.isFrozen(c));
    assert.ok(Object.isFrozen(c.server));
    assert.ok(Object.isFrozen(c.worker.labels));
    assert.ok(Object.isFrozen(c.server.cors_allowed_origins));
    assert.throws(() => {
      (c.server as { port: number }).port = 1;
    }, TypeError);
  });

  test('relative paths are kept as given', () => {
    const c = load({ configFile: file('database:\n  path: data/x.db\n') });
    assert.equal(c.database.path, 'data/x.db');
  });
});

describe('sources and precedence', () => {
  const yaml = file('server:\n  port: 8000\n  host: 0.0.0.0\nworker:\n  id: from-file\n');

  test('file overrides defaults', () => {
    const c = load({ configFile: yaml });
    assert.equal(c.server.port, 8000);
    assert.equal(c.server.host, '0.0.0.0');
    assert.equal(c.database.driver, 'sqlite');
  });

  test('environment overrides the file', () => {
    const c = load({ configFile: yaml, env: { DROVER_SERVER_PORT: '9000', DROVER_WORKER_ID: 'from-env' } });
    assert.equal(c.server.port, 9000);
    assert.equal(c.server.host, '0.0.0.0');
    assert.equal(c.worker.id, 'from-env');
  });

  test('flags override the environment', () => {
    const c = load({
      configFile: yaml,
      env: { DROVER_SERVER_PORT: '9000', DROVER_WORKER_ID: 'from-env' },
      flags: { 'worker.id': 'from-flag', 'server.port': '9100', 'worker.heartbeat_interval': '2s', 'worker.labels': ['a=1', 'b=2'], 'worker.providers': undefined },
    });
    assert.equal(c.worker.id, 'from-flag');
    assert.equal(c.server.port, 9100);
    assert.equal(c.worker.heartbeat_interval, 2_000);
    assert.deepEqual(c.worker.labels, { a: '1', b: '2' });
  });

  test('file is found via DROVER_CONFIG, else ./drover.yaml in cwd', () => {
    const named = file('server:\n  port: 8101\n');
    assert.equal(load({ env: { DROVER_CONFIG: named } }).server.port, 8101);
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    writeFileSync(join(cwd, 'drover.yaml'), 'server:\n  port: 8102\n');
    assert.equal(loadConfig({ env: {}, cwd }).server.port, 8102);
    assert.equal(loadConfig({ env: { DROVER_CONFIG: named }, cwd }).server.port, 8101);
    assert.equal(loadConfig({ env: { DROVER_CONFIG: named }, cwd, configFile: join(cwd, 'drover.yaml') }).server.port, 8102);
  });

  test('a named file that does not exist is an error', () => {
    assert.match(problems(() => load({ configFile: join(dir, 'nope.yaml') })).join('\n'), /cannot read config file: ENOENT/);
  });

  test('YAML syntax errors name the line but not its content', () => {
    const msgs = problems(() => load({ configFile: file('auth:\n  admin_api_key: hunter2\n  x: [1\n') })).join('\n');
    assert.match(msgs, /YAML: .* at line \d+, column \d+/);
    assert.doesNotMatch(msgs, /hunter2/);
  });

  test('an empty file and null values mean "not set here"', () => {
    assert.equal(load({ configFile: file('') }).server.port, 7423);
    assert.equal(load({ configFile: file('server:\n  public_url:\n  port: ~\n') }).server.port, 7423);
  });
});

describe('environment variable names', () => {
  test('resolve against schema paths, including sections and keys with underscores', () => {
    const c = load({
      env: {
        DROVER_DATABASE_DRIVER: 'postgres',
        DROVER_DATABASE_DSN: 'postgres://u:p@db/drover',
        DROVER_AUTH_ADMIN_API_KEY: 'admin-key',
        DROVER_RATE_LIMIT_ENABLED: 'false',
        DROVER_RATE_LIMIT_REQUESTS_PER_MINUTE: '60',
        DROVER_ARTIFACTS_S3_BUCKET: 'bucket',
        DROVER_ARTIFACTS_S3_FORCE_PATH_STYLE: 'true',
        DROVER_WORKER_CAPACITY_CPU: '2.5',
        DROVER_WORKER_CAPACITY_MEMORY_MB: '4096',
        DROVER_WORKERS_MAX_LOST_FRACTION: '0.25',
        DROVER_REPLICAS: '2',
        DROVER_WORKER_ALLOW_HOST_NETWORK: '0',
      },
    });
    assert.equal(c.database.driver, 'postgres');
    assert.equal(c.database.dsn, 'postgres://u:p@db/drover');
    assert.equal(c.auth.admin_api_key, 'admin-key');
    assert.equal(c.rate_limit.enabled, false);
    assert.equal(c.rate_limit.requests_per_minute, 60);
    assert.equal(c.artifacts.s3.bucket, 'bucket');
    assert.equal(c.artifacts.s3.force_path_style, true);
    assert.equal(c.worker.capacity.cpu, 2.5);
    assert.equal(c.worker.capacity.memory_mb, 4096);
    assert.equal(c.workers.max_lost_fraction, 0.25);
    assert.equal(c.replicas, 2);
    assert.equal(c.worker.allow_host_network, false);
  });

  test('maps take k=v lists or JSON; lists take commas or JSON', () => {
    const c = load({
      env: {
        DROVER_WORKER_LABELS: 'zone=eu-1, gpu=true',
        DROVER_AUTH_WORKER_TOKENS: '{"w1":"t1","w2":"t2"}',
        DROVER_SERVER_CORS_ALLOWED_ORIGINS: 'https://a.example, https://b.example',
        DROVER_WORKER_PROVIDERS: '["bwrap","process"]',
      },
    });
    assert.deepEqual(c.worker.labels, { zone: 'eu-1', gpu: 'true' });
    assert.deepEqual(c.auth.worker_tokens, { w1: 't1', w2: 't2' });
    assert.deepEqual(c.server.cors_allowed_origins, ['https://a.example', 'https://b.example']);
    assert.deepEqual(c.worker.providers, ['bwrap', 'process']);
    // Split on the first "=" only: base64 tokens end in "=".
    assert.deepEqual(load({ env: { DROVER_AUTH_WORKER_TOKENS: 'w1=YWJj==' } }).auth.worker_tokens, { w1: 'YWJj==' });
  });

  test('DROVER_* variables that name no key are ignored, empty values are unset', () => {
    const c = load({
      env: { DROVER_URL: 'http://x', DROVER_API_KEY: 'k', DROVER_TEST_PG_DSN: 'x', DROVER_NOPE: '1', DROVER_SERVER_PORT: '' },
    });
    assert.equal(c.server.port, 7423);
  });

  test('every key has a distinct variable name', () => {
    const names = configKeys().map((k) => envName(k.path));
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.includes('DROVER_RATE_LIMIT_BURST'));
    assert.ok(names.includes('DROVER_WORKER_TLS_CERT_FILE'));
  });

  test('bad values name the variable', () => {
    const msgs = problems(() => load({ env: { DROVER_SERVER_PORT: 'eighty', DROVER_RATE_LIMIT_ENABLED: 'maybe', DROVER_WORKER_LABELS: 'oops' } }));
    assert.ok(msgs.some((m) => m.startsWith('server.port:') && m.endsWith('(env DROVER_SERVER_PORT)')), msgs.join('\n'));
    assert.ok(msgs.some((m) => m.startsWith('rate_limit.enabled:') && m.endsWith('(env DROVER_RATE_LIMIT_ENABLED)')));
    assert.ok(msgs.some((m) => m.startsWith('worker.labels:') && m.includes('k=v')));
  });
});

describe('durations and byte sizes', () => {
  test('strings and numbers are stored as milliseconds and bytes', () => {
    const c = load({
      configFile: file('workers:\n  heartbeat_interval: 2s\n  stale_after: 10000\n  lost_after: 1m\nsandboxes:\n  max_ttl: 1d12h\nserver:\n  body_limit: 512KiB\ntasks:\n  max_output_bytes: 10MB\n'),
      env: { DROVER_WORKERS_MASS_LOSS_MAX_HOLD: '90s', DROVER_TASKS_LEASE_TTL: '45000' },
    });
    assert.equal(c.workers.heartbeat_interval, 2_000);
    assert.equal(c.workers.stale_after, 10_000);
    assert.equal(c.workers.lost_after, 60_000);
    assert.equal(c.workers.mass_loss_max_hold, 90_000);
    assert.equal(c.tasks.lease_ttl, 45_000);
    assert.equal(c.sandboxes.max_ttl, 36 * 3_600_000);
    assert.equal(c.server.body_limit, 512 * 1024);
    assert.equal(c.tasks.max_output_bytes, 10_000_000);
  });

  test('invalid durations are reported with path and source', () => {
    const msgs = problems(() => load({ configFile: file('workers:\n  stale_after: 5 parsecs\n  lost_after: -3\n') }));
    assert.ok(msgs.some((m) => /^workers\.stale_after: .*not a duration.*\(file .*\)$/.test(m)), msgs.join('\n'));
    assert.ok(msgs.some((m) => /^workers\.lost_after: .*negative/.test(m)), msgs.join('\n'));
  });
});

describe('secrets given as files', () => {
  test('every secret has a _file key in the schema', () => {
    const paths = new Set(configKeys().map((k) => k.path));
    for (const { key } of SECRET_KEYS) {
      assert.ok(paths.has(key), key);
      assert.ok(paths.has(`${key}_file`), `${key}_file`);
    }
  });

  test('the file is read and its trailing newline trimmed', () => {
    const admin = file('admin-from-file\n', 'admin.key');
    file('sign\r\n', 'signing.key');
    const tokens = file('w1: t1\nw2: t2\n', 'tokens.yaml');
    const c = load({
      configFile: file(`auth:\n  admin_api_key_file: ${admin}\n  worker_tokens_file: ${tokens}\nartifacts:\n  signing_key_file: signing.key\n`),
      env: { DROVER_WORKER_TOKEN_FILE: admin },
    });
    assert.equal(c.auth.admin_api_key, 'admin-from-file');
    assert.equal(c.auth.admin_api_key_file, admin);
    assert.equal(c.artifacts.signing_key, 'sign'); // relative to cwd
    assert.equal(c.worker.token, 'admin-from-file');
    assert.deepEqual(c.auth.worker_tokens, { w1: 't1', w2: 't2' });
  });

  test('inline and file forms in the same source are an error; a higher source replaces either form', () => {
    const key = file('k\n', 'both.key');
    const msgs = problems(() => load({ configFile: file(`auth:\n  admin_api_key: inline-secret\n  admin_api_key_file: ${key}\n`) }));
    assert.ok(msgs.some((m) => m.startsWith('auth.admin_api_key: give admin_api_key or admin_api_key_file, not both')), msgs.join('\n'));
    assert.ok(msgs.every((m) => !m.includes('inline-secret')));
    const envBoth = problems(() => load({ env: { DROVER_METRICS_TOKEN: 'x', DROVER_METRICS_TOKEN_FILE: key } }));
    assert.ok(envBoth.some((m) => m.startsWith('metrics.token: give token or token_file, not both')));

    const c = load({ configFile: file(`worker:\n  token_file: ${key}\n`), flags: { 'worker.token': 'from-flag' } });
    assert.equal(c.worker.token, 'from-flag');
    assert.equal(c.worker.token_file, undefined);
  });

  test('unreadable and empty secret files are errors that name the file, not a value', () => {
    const empty = file('\n', 'empty.key');
    const msgs = problems(() =>
      load({ env: { DROVER_AUTH_ADMIN_API_KEY_FILE: join(dir, 'missing.key'), DROVER_METRICS_TOKEN_FILE: empty } }),
    );
    assert.ok(msgs.some((m) => m.startsWith('auth.admin_api_key_file: cannot read') && m.includes('ENOENT') && m.endsWith('(env DROVER_AUTH_ADMIN_API_KEY_FILE)')));
    assert.ok(msgs.some((m) => m.startsWith('metrics.token_file:') && m.includes('is empty')));
  });
});

describe('validation', () => {
  test('unknown keys are rejected with their dotted path, at every level', () => {
    const msgs = problems(() =>
      load({ configFile: file('servr:\n  port: 1\nworkers:\n  stale_afterr: 5s\nartifacts:\n  s3:\n    buckt: x\n') }),
    );
    const joined = msgs.join('\n');
    assert.match(joined, /^servr: unknown key \(did you mean server\?\)/m);
    assert.match(joined, /^workers\.stale_afterr: unknown key \(did you mean workers\.stale_after\?\)/m);
    assert.match(joined, /^artifacts\.s3\.buckt: unknown key/m);
  });

  test('unknown flag paths are rejected too', () => {
    assert.match(problems(() => load({ flags: { 'worker.nope': 1 } })).join('\n'), /^worker\.nope: unknown key \(flag worker\.nope\)/m);
  });

  test('postgres without a dsn is rejected, naming where the driver was set', () => {
    const msgs = problems(() => load({ env: { DROVER_DATABASE_DRIVER: 'postgres' } }));
    assert.deepEqual(msgs, ['database.dsn: is required when database.driver is postgres (or set database.dsn_file) (env DROVER_DATABASE_DRIVER)']);
  });

  test('s3 artifacts without a bucket are rejected', () => {
    assert.match(problems(() => load({ configFile: file('artifacts:\n  driver: s3\n') })).join('\n'), /^artifacts\.s3\.bucket: is required/m);
  });

  test('enums, ranges, urls and tls pairs are checked; every problem is listed at once', () => {
    const msgs = problems(() =>
      load({
        configFile: file(
          'logging:\n  level: loud\nserver:\n  port: 70000\n  public_url: not a url\nworker:\n  listen_addr: nowhere\n  tls:\n    cert_file: c.pem\nscheduler:\n  strategy: random\n',
        ),
      }),
    );
    for (const path of ['logging.level', 'server.port', 'server.public_url', 'worker.listen_addr', 'worker.tls.key_file', 'scheduler.strategy']) {
      assert.ok(msgs.some((m) => m.startsWith(`${path}:`)), `${path} missing from\n${msgs.join('\n')}`);
    }
  });

  test('error messages never contain secret values', () => {
    const err = (() => {
      try {
        load({ configFile: file('auth:\n  admin_api_key: [s3cret-in-list]\n  worker_tokens:\n    w1: 12345\n'), env: { DROVER_METRICS_TOKEN: 'env-s3cret', DROVER_METRICS_TOKEN_FILE: '/x' } });
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();
    assert.ok(err instanceof ConfigError);
    assert.doesNotMatch(err.message, /s3cret|12345/);
  });
});

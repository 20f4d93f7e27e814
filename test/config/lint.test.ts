import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, lintConfig } from '../../src/config/index.js';
import type { Config, ConfigInput, Finding } from '../../src/config/index.js';

function config(input: ConfigInput = {}): Config {
  return configSchema.parse(input);
}

const ids = (findings: Finding[]) => findings.map((f) => f.id);
const errors = (findings: Finding[]) => findings.filter((f) => f.severity === 'error');

/** A production deployment as docs/configuration.md describes it. */
const production: ConfigInput = {
  server: { public_url: 'https://drover.example.com' },
  database: { driver: 'postgres', dsn: 'postgres://drover:pw@db/drover' },
  replicas: 2,
  auth: { admin_api_key: 'admin-0123456789', worker_tokens: { w1: 'token-w1-abcdef', w2: 'token-w2-abcdef' } },
  artifacts: { signing_key: 'signing-0123456789' },
  sandboxes: { default_provider: 'bwrap' },
  metrics: { token: 'metrics-0123456789' },
  worker: { allow_host_network: false },
};

describe('lintConfig', () => {
  test('defaults are clean for development', () => {
    assert.deepEqual(lintConfig(config(), { production: false }), []);
  });

  test('defaults fail production with errors first, each with a fix', () => {
    const findings = lintConfig(config(), { production: true });
    for (const id of ['sandboxes.provider', 'artifacts.signing_key', 'server.https']) {
      const f = findings.find((x) => x.id === id);
      assert.ok(f, `${id} missing: ${ids(findings).join(', ')}`);
      assert.equal(f.severity, 'error');
    }
    for (const id of ['database.sqlite_single_node', 'worker.allow_host_network', 'metrics.token']) {
      assert.equal(findings.find((x) => x.id === id)?.severity, 'warning', id);
    }
    const firstNonError = findings.findIndex((f) => f.severity !== 'error');
    assert.ok(findings.slice(firstNonError).every((f) => f.severity !== 'error'));
    for (const f of findings) assert.ok(f.fix.length > 0 && f.path.length > 0 && f.message.length > 0);
  });

  test('a clean production config has no errors', () => {
    const findings = lintConfig(config(production), { production: true });
    assert.deepEqual(errors(findings), []);
    assert.deepEqual(findings, []);
  });

  test('workers.timing: heartbeat < stale < lost', () => {
    const bad = lintConfig(config({ workers: { stale_after: '40s' } }), { production: false });
    assert.deepEqual(ids(bad), ['workers.timing']);
    assert.equal(bad[0]!.severity, 'error');
    assert.ok(ids(lintConfig(config({ workers: { heartbeat_interval: '15s' } }), { production: false })).includes('workers.timing'));
  });

  test('sandboxes.ttl: default_ttl must not exceed max_ttl', () => {
    assert.deepEqual(ids(lintConfig(config({ sandboxes: { default_ttl: '2d' } }), { production: false })), ['sandboxes.ttl']);
  });

  test('database.sqlite_replicas: more than one replica needs postgres, always', () => {
    const findings = lintConfig(config({ replicas: 3 }), { production: false });
    assert.deepEqual(ids(findings), ['database.sqlite_replicas']);
    assert.equal(findings[0]!.severity, 'error');
  });

  test('auth.disabled: warning off loopback, error in production, silent on a dev loopback', () => {
    assert.deepEqual(lintConfig(config({ auth: { enabled: false } }), { production: false }), []);
    const exposed = lintConfig(config({ auth: { enabled: false }, server: { host: '0.0.0.0' } }), { production: false });
    assert.deepEqual(exposed.map((f) => [f.id, f.severity]), [['auth.disabled', 'warning']]);
    const prod = lintConfig(config({ ...production, auth: { enabled: false } }), { production: true });
    assert.deepEqual(prod.map((f) => [f.id, f.severity]), [['auth.disabled', 'error']]);
  });

  test('auth.secrets_distinct: admin key reused as a worker secret, or workers sharing a token', () => {
    const reused = lintConfig(config({ ...production, auth: { ...production.auth, worker_token: 'admin-0123456789' } }), { production: true });
    assert.ok(reused.some((f) => f.id === 'auth.secrets_distinct' && f.severity === 'error' && f.message.includes('auth.worker_token')));
    const shared = lintConfig(config({ ...production, auth: { admin_api_key: 'a', worker_tokens: { w1: 't', w2: 't' } } }), { production: true });
    assert.ok(shared.some((f) => f.id === 'auth.secrets_distinct' && f.path === 'auth.worker_tokens.w2'));
    for (const f of reused) assert.doesNotMatch(`${f.message} ${f.fix}`, /admin-0123456789/);
  });

  test('auth.shared_worker_token: error alone, warning next to per-worker tokens', () => {
    const alone = lintConfig(config({ ...production, auth: { admin_api_key: 'a', worker_token: 'shared' } }), { production: true });
    assert.deepEqual(alone.map((f) => [f.id, f.severity]), [['auth.shared_worker_token', 'error']]);
    const both = lintConfig(config({ ...production, auth: { ...production.auth, worker_token: 'shared' } }), { production: true });
    assert.deepEqual(both.map((f) => [f.id, f.severity]), [['auth.shared_worker_token', 'warning']]);
  });

  test('sandboxes.provider: process and auto fail production; mock warns in development', () => {
    for (const p of ['process', 'auto', 'mock'] as const) {
      const f = lintConfig(config({ ...production, sandboxes: { default_provider: p } }), { production: true });
      assert.deepEqual(f.map((x) => [x.id, x.severity]), [['sandboxes.provider', 'error']], p);
    }
    assert.deepEqual(ids(lintConfig(config({ sandboxes: { default_provider: 'mock' } }), { production: false })), ['sandboxes.provider']);
  });

  test('server.https: an http public_url fails production', () => {
    const f = lintConfig(config({ ...production, server: { public_url: 'http://drover.example.com' } }), { production: true });
    assert.deepEqual(ids(f), ['server.https']);
  });

  test('worker.advertise: an unspecified listen address needs advertise_url', () => {
    assert.deepEqual(ids(lintConfig(config({ worker: { listen_addr: '0.0.0.0:7430' } }), { production: false })), ['worker.advertise']);
    assert.deepEqual(ids(lintConfig(config({ worker: { listen_addr: '0.0.0.0:7430', advertise_url: 'http://10.0.0.5:7430' } }), { production: false })), []);
  });

  test('production warnings for the worker side', () => {
    const f = lintConfig(
      config({ ...production, worker: { allow_host_network: true, listen_addr: '10.0.0.5:7430', control_plane_url: 'http://cp.internal:7423' } }),
      { production: true },
    );
    assert.deepEqual(ids(f).sort(), ['worker.allow_host_network', 'worker.control_plane_tls', 'worker.rpc_tls']);
    assert.ok(f.every((x) => x.severity === 'warning'));
  });

  test('worker.heartbeat_timing and rate_limit.disabled', () => {
    assert.deepEqual(ids(lintConfig(config({ worker: { heartbeat_interval: '20s' } }), { production: false })), ['worker.heartbeat_timing']);
    assert.deepEqual(ids(lintConfig(config({ ...production, rate_limit: { enabled: false } }), { production: true })), ['rate_limit.disabled']);
  });
});

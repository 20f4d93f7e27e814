import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DiagnosticsBody } from '../../../src/control-plane/observability/diagnostics.js';
import { findProblems, type ProblemFacts } from '../../../src/control-plane/observability/problems.js';
import { heartbeat, newSandbox, newTask } from '../../store/contract/helpers.js';
import { SHARED_WORKER_TOKEN, startTestControlPlane, type TestControlPlane } from '../support/harness.js';

const SECRETS = {
  admin: 'drv_admin-key-from-config-0123456789',
  perWorker: 'per-worker-token-0123456789abcdef',
  signing: 'signing-key-0123456789abcdefghij',
  metrics: 'metrics-token-0123456789abcdef',
  s3: 's3-secret-access-key-0123456789',
  rpc: 'rpc-secret-of-worker-0123456789',
};

describe('GET /api/v1/diagnostics', () => {
  let t: TestControlPlane;
  before(async () => {
    t = await startTestControlPlane({
      config: {
        'auth.admin_api_key': SECRETS.admin,
        'auth.worker_tokens': { 'w-own': SECRETS.perWorker },
        'artifacts.signing_key': SECRETS.signing,
        'artifacts.s3.secret_access_key': SECRETS.s3,
        'metrics.token': SECRETS.metrics,
        'workers.stale_after': 15_000,
      },
    });
  });
  after(() => t.close());

  const get = (key?: string) => t.request('GET', '/api/v1/diagnostics', key === undefined ? {} : { key });

  it('needs the operate scope', async () => {
    assert.equal((await get()).status, 401);
    assert.equal((await get(t.keys.viewer)).status, 403);
    assert.equal((await get(t.keys.apiA)).status, 403);
    assert.equal((await get(t.keys.operator)).status, 200);
    assert.equal((await get(t.keys.admin)).status, 200);
  });

  it('with no workers, says so and how to fix it', async () => {
    const d = (await get(t.keys.operator)).json<DiagnosticsBody>();
    assert.equal(d.store.driver, 'sqlite');
    assert.equal(d.store.reachable, true);
    assert.equal(typeof d.store.latency_ms, 'number');
    assert.deepEqual(d.store.schema && { ready: d.store.schema.ready, same: d.store.schema.current === d.store.schema.latest }, { ready: true, same: true });
    assert.equal(d.replica_id, 'cp-test');
    assert.match(d.build.version, /^\d+\.\d+\.\d+/);
    const none = d.problems.find((p) => p.id === 'workers.none');
    assert.ok(none, JSON.stringify(d.problems));
    assert.match(none.remediation, /drover worker/);
    assert.equal(d.limits.body_limit_bytes, t.config.server.body_limit);
    assert.deepEqual(d.auth, { enabled: true, admin_key_configured: true, shared_worker_token_configured: true, per_worker_tokens: 1 });
  });

  it('reports the fleet by status, state, provider, worker, kind and holder', async () => {
    await t.store.tenants.ensureTenant('tenant-a');
    await t.store.workers.recordHeartbeat(heartbeat('w-diag-1', { rpcSecret: SECRETS.rpc }));
    await t.store.workers.recordHeartbeat(heartbeat('w-diag-2', { rpcSecret: SECRETS.rpc }));
    const placed = await t.store.sandboxes.createSandbox(newSandbox('tenant-a'));
    assert.equal((await t.store.sandboxes.commitPlacement(placed.id, 'w-diag-1', 'process', 30_000)).kind, 'placed');
    await t.store.sandboxes.createSandbox(newSandbox('tenant-a'));
    await t.store.tasks.submitTask(newTask('tenant-a', { kind: 'resize' }));
    await t.store.tasks.submitTask(newTask('tenant-a', { kind: 'resize' }));
    await t.store.tasks.submitTask(newTask('tenant-a', { kind: 'email' }));
    await t.cp.events.emit({ type: 'sandbox.created', tenantId: 'tenant-a', resourceType: 'sandbox', resourceId: placed.id, data: {} });

    const d = (await get(t.keys.operator)).json<DiagnosticsBody>();
    assert.deepEqual(d.workers?.by_status, { online: 2 });
    assert.equal(d.workers?.total, 2);
    assert.deepEqual(d.sandboxes?.by_state, { pending: 1, starting: 1 });
    assert.deepEqual(d.sandboxes?.live_by_provider, { process: 1, unplaced: 1 });
    assert.deepEqual(d.sandboxes?.live_by_worker, { 'w-diag-1': 1 });
    assert.deepEqual(d.tasks?.by_state, { queued: 3 });
    assert.deepEqual(d.tasks?.by_kind, { email: { queued: 1 }, resize: { queued: 2 } });
    assert.deepEqual(d.queues, { pending_sandboxes: 1, queued_tasks: 3 });
    assert.equal(d.leases?.active, 1);
    assert.deepEqual(d.leases?.active_by_resource_type, { sandbox: 1 });
    assert.deepEqual(d.leases?.top_holders, [{ holder_id: 'w-diag-1', active: 1 }]);
    assert.ok((d.events?.count ?? 0) >= 1);
    assert.equal(d.events?.latest_seq, await t.store.events.latestEventSeq());
    const ids = d.problems.map((p) => p.id);
    assert.ok(!ids.includes('workers.none'));
    assert.ok(ids.includes('sandboxes.pending'));

    // Silence beyond stale_after is a problem even before the liveness sweep has marked the worker.
    t.clock.advance(10_000);
    await t.store.workers.recordHeartbeat(heartbeat('w-diag-2', { rpcSecret: SECRETS.rpc }));
    t.clock.advance(10_000);
    const later = (await get(t.keys.operator)).json<DiagnosticsBody>();
    const stale = later.problems.find((p) => p.id === 'workers.stale');
    assert.ok(stale, JSON.stringify(later.problems));
    assert.deepEqual(later.workers?.silent, ['w-diag-1']);
    assert.match(stale.message, /w-diag-1/);
    assert.doesNotMatch(stale.message, /w-diag-2/);
  });

  it('never contains a secret: configured keys and tokens, API keys, worker rpc secrets', async () => {
    const r = await get(t.keys.admin);
    assert.equal(r.status, 200);
    const secrets = [...Object.values(SECRETS), SHARED_WORKER_TOKEN, ...Object.values(t.keys)];
    for (const secret of secrets) assert.ok(!r.text.includes(secret), `diagnostics leaked ${secret.slice(0, 6)}…`);
    // The document did include the worker whose record holds the rpc secret.
    assert.match(r.text, /w-diag-1/);
  });
});

describe('diagnostics with auth disabled', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane({ config: { 'auth.enabled': false } })));
  after(() => t.close());

  it('lists auth.disabled as a problem', async () => {
    const d = (await t.request('GET', '/api/v1/diagnostics')).json<DiagnosticsBody>();
    const p = d.problems.find((x) => x.id === 'auth.disabled');
    assert.ok(p);
    assert.match(p.remediation, /auth\.enabled: true/);
  });
});

describe('problems (pure rules)', () => {
  const healthy: ProblemFacts = {
    store: { reachable: true, latencyMs: 1, schema: { current: 3, latest: 3 } },
    workers: { total: 2, byStatus: { online: 2 }, silent: [] },
    pendingSandboxes: 0,
    authEnabled: true,
  };
  const ids = (f: ProblemFacts) => findProblems(f).map((p) => p.id);

  it('a healthy system has no problems', () => {
    assert.deepEqual(ids(healthy), []);
  });

  it('store: unreachable, migrations pending, schema newer, slow', () => {
    assert.deepEqual(ids({ store: { reachable: false, latencyMs: null, schema: null }, authEnabled: true }), ['store.unreachable']);
    assert.deepEqual(ids({ ...healthy, store: { reachable: true, latencyMs: 1, schema: { current: 2, latest: 3 } } }), ['store.migrations_pending']);
    assert.deepEqual(ids({ ...healthy, store: { reachable: true, latencyMs: 1, schema: { current: 4, latest: 3 } } }), ['store.schema_newer']);
    assert.deepEqual(ids({ ...healthy, store: { reachable: true, latencyMs: 900, schema: { current: 3, latest: 3 } } }), ['store.slow']);
  });

  it('workers: none, none online, silent, lost', () => {
    assert.deepEqual(ids({ ...healthy, workers: { total: 0, byStatus: {}, silent: [] } }), ['workers.none']);
    assert.deepEqual(ids({ ...healthy, workers: { total: 2, byStatus: { stale: 1, drained: 1 }, silent: ['a'] } }), ['workers.none_online', 'workers.stale']);
    assert.deepEqual(ids({ ...healthy, workers: { total: 3, byStatus: { online: 2, lost: 1 }, silent: [] } }), ['workers.lost']);
    const many = findProblems({ ...healthy, workers: { total: 8, byStatus: { online: 8 }, silent: ['a', 'b', 'c', 'd', 'e', 'f', 'g'] } });
    assert.match(many[0]!.message, /a, b, c, d, e and 2 more/);
  });

  it('every problem has an id, a message and a remediation', () => {
    const all = findProblems({ store: { reachable: true, latencyMs: 999, schema: { current: 1, latest: 2 } }, workers: { total: 1, byStatus: { lost: 1 }, silent: ['x'] }, pendingSandboxes: 3, authEnabled: false });
    assert.ok(all.length >= 5);
    for (const p of all) {
      assert.match(p.id, /^[a-z]+\.[a-z_]+$/);
      assert.ok(p.message.length > 10 && p.remediation.length > 10);
    }
  });
});

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { heartbeat, newSandbox, newTask } from '../../store/contract/helpers.js';
import { startTestControlPlane, type TestControlPlane } from '../support/harness.js';

/** Every metric 05-operations.md ("Observability") asks for, with its Prometheus type. */
const REQUIRED: [string, 'histogram' | 'counter' | 'gauge'][] = [
  ['drover_http_request_duration_seconds', 'histogram'],
  ['drover_sandbox_create_duration_seconds', 'histogram'],
  ['drover_exec_duration_seconds', 'histogram'],
  ['drover_placement_duration_seconds', 'histogram'],
  ['drover_task_submit_to_start_seconds', 'histogram'],
  ['drover_task_run_duration_seconds', 'histogram'],
  ['drover_heartbeat_handling_seconds', 'histogram'],
  ['drover_placements_total', 'counter'],
  ['drover_leases_lost_total', 'counter'],
  ['drover_fenced_writes_rejected_total', 'counter'],
  ['drover_tasks_total', 'counter'],
  ['drover_worker_transitions_total', 'counter'],
  ['drover_workers', 'gauge'],
  ['drover_sandboxes', 'gauge'],
  ['drover_tasks', 'gauge'],
  ['drover_queue_depth', 'gauge'],
  ['drover_active_leases', 'gauge'],
];

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

describe('GET /metrics', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('exposes every drover_* metric the spec lists, with its type', async () => {
    const r = await t.request('GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    for (const [name, type] of REQUIRED) assert.match(r.text, new RegExp(`^# TYPE ${name} ${type}$`, 'm'), `${name} ${type}`);
    const names = [...r.text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
    assert.deepEqual(names.filter((n) => !n.startsWith('drover_')), []);
  });

  it('refreshes the state gauges from the store at each scrape', async () => {
    await t.store.workers.recordHeartbeat(heartbeat('w-m1'));
    await t.store.workers.recordHeartbeat(heartbeat('w-m2'));
    await t.store.workers.transitionWorker('w-m2', ['online'], 'stale');
    await t.store.tenants.ensureTenant('tenant-a');
    await t.store.sandboxes.createSandbox(newSandbox('tenant-a'));
    const placed = await t.store.sandboxes.createSandbox(newSandbox('tenant-a'));
    assert.equal((await t.store.sandboxes.commitPlacement(placed.id, 'w-m1', 'process', 30_000)).kind, 'placed');
    await t.store.tasks.submitTask(newTask('tenant-a'));
    await t.store.tasks.submitTask(newTask('tenant-a'));

    const text = (await t.request('GET', '/metrics')).text;
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      assert.ok(line, `no series ${series}`);
      return Number(line.split(' ')[1]);
    };
    assert.equal(value('drover_workers{status="online"}'), 1);
    assert.equal(value('drover_workers{status="stale"}'), 1);
    assert.equal(value('drover_workers{status="lost"}'), 0);
    assert.equal(value('drover_sandboxes{state="pending"}'), 1);
    assert.equal(value('drover_sandboxes{state="starting"}'), 1);
    assert.equal(value('drover_sandboxes{state="running"}'), 0);
    assert.equal(value('drover_tasks{state="queued"}'), 2);
    assert.equal(value('drover_queue_depth{queue="sandboxes_pending"}'), 1);
    assert.equal(value('drover_queue_depth{queue="tasks_queued"}'), 2);
    assert.equal(value('drover_active_leases{resource_type="sandbox"}'), 1);
    assert.equal(value('drover_active_leases{resource_type="task"}'), 0);

    // The earlier scrapes were themselves observed by the HTTP latency histogram.
    assert.match(text, /^drover_http_request_duration_seconds_count\{method="GET",route="\/metrics",status="200"\} [1-9]/m);

    // A later scrape reflects a change, rather than the numbers first read.
    await t.store.workers.transitionWorker('w-m2', ['stale'], 'lost');
    const again = (await t.request('GET', '/metrics')).text;
    assert.match(again, /^drover_workers\{status="stale"\} 0$/m);
    assert.match(again, /^drover_workers\{status="lost"\} 1$/m);
  });
});

describe('GET /metrics behind metrics.token', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane({ config: { 'metrics.token': METRICS_TOKEN } })));
  after(() => t.close());

  it('401 without the token, with a wrong one, or with an API key instead', async () => {
    assert.equal((await t.request('GET', '/metrics')).status, 401);
    assert.equal((await t.request('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}x` } })).status, 401);
    assert.equal((await t.request('GET', '/metrics', { headers: { authorization: `Basic ${METRICS_TOKEN}` } })).status, 401);
    assert.equal((await t.request('GET', '/metrics', { key: t.keys.admin })).status, 401);
  });

  it('200 with the token', async () => {
    const r = await t.request('GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(r.status, 200);
    assert.match(r.text, /^# TYPE drover_workers gauge$/m);
    assert.ok(!r.text.includes(METRICS_TOKEN));
  });
});

describe('GET /metrics when metrics.enabled is false', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane({ config: { 'metrics.enabled': false } })));
  after(() => t.close());

  it('is 404', async () => {
    const r = await t.request('GET', '/metrics');
    assert.equal(r.status, 404);
    assert.equal(r.json<{ error: { code: string } }>().error.code, 'not_found');
  });
});

/**
 * The worker issue's end-to-end check: a real `drover serve` (SQLite) and a real `drover worker` as
 * separate processes on loopback, configured through the environment as an operator would. Sandboxes
 * are created and deleted through the API on both the `process` and the `mock` provider; then the
 * worker is SIGKILLed with a sandbox running — the sandbox fails with `worker_lost` after lost_after —
 * and the restarted worker kills what was left of it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { until } from '../worker/daemon/support/manual-timers.js';
import { tempDir } from '../worker/daemon/support/worker.js';
import { killQuietly, plantSandboxProcess, processAlive } from './support/host-processes.js';
import { call, startServe, type DroverProcess } from './support/processes.js';
import { startWorkerProcess, type WorkerProcess } from './support/worker-process.js';

const WORKER_TOKEN = 'wt-e2e-serve-worker-0123456789';
const ADMIN_KEY = 'drv_e2e-serve-worker-admin-0123456789';
const WORKER_ID = 'w-e2e';

type Sandbox = { id: string; state: string; state_reason: string | null; worker_id: string | null; runtime_id: string | null };

describe('drover serve + drover worker as processes', () => {
  let serve: DroverProcess;
  let worker: WorkerProcess | undefined;
  const data = tempDir('drover-e2e-worker-');
  const planted: number[] = [];

  const startWorker = () =>
    startWorkerProcess({
      controlPlaneUrl: serve.url,
      token: WORKER_TOKEN,
      id: WORKER_ID,
      dataDir: data.path,
      providers: ['process', 'mock'],
      env: { DROVER_WORKER_SHUTDOWN_TIMEOUT: '1s' },
    });
  const api = (method: string, path: string, body?: unknown) => call(serve.url, method, path, { key: ADMIN_KEY, ...(body !== undefined ? { body } : {}) });
  const sandbox = async (id: string) => (await api('GET', `/api/v1/sandboxes/${id}`)).body as Sandbox;

  before(async () => {
    serve = await startServe({
      env: {
        DROVER_AUTH_WORKER_TOKEN: WORKER_TOKEN,
        DROVER_AUTH_ADMIN_API_KEY: ADMIN_KEY,
        DROVER_RATE_LIMIT_ENABLED: 'false',
        DROVER_WORKERS_HEARTBEAT_INTERVAL: '500ms',
        DROVER_WORKERS_STALE_AFTER: '2s',
        DROVER_WORKERS_LOST_AFTER: '4s',
      },
    });
    worker = await startWorker();
    await until(async () => ((await api('GET', `/api/v1/workers/${WORKER_ID}`)).body as { status?: string }).status === 'online', 'the worker to register');
  });
  after(async () => {
    const out = worker?.output() ?? '';
    await worker?.stop();
    const serveOut = serve?.output() ?? '';
    await serve?.stop();
    planted.forEach(killQuietly);
    data.remove();
    assert.ok(!out.includes(WORKER_TOKEN) && !serveOut.includes(WORKER_TOKEN), 'the worker token reached a log');
  });

  for (const [provider, root] of [
    ['process', 'runtimes'],
    ['mock', 'mock-runtimes'],
  ] as const) {
    it(`${provider}: create → running on the worker; delete → its workspace is gone`, async () => {
      const created = await api('POST', '/api/v1/sandboxes', { provider, cpu: 0.25, memory_mb: 128 });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const s = created.body as Sandbox;
      assert.equal(s.state, 'running');
      assert.equal(s.worker_id, WORKER_ID);
      const workspace = join(data.path, root, s.runtime_id!, 'workspace');
      assert.ok(existsSync(workspace), 'the runtime exists on the worker');
      const deleted = await api('DELETE', `/api/v1/sandboxes/${s.id}`);
      assert.equal((deleted.body as Sandbox).state, 'stopped');
      assert.ok(!existsSync(join(data.path, root, s.runtime_id!)), 'the runtime directory was removed');
    });
  }

  it('SIGKILL with a sandbox running: it fails with worker_lost; the restarted worker kills its leftovers', async () => {
    const s = (await api('POST', '/api/v1/sandboxes', { provider: 'process' })).body as Sandbox;
    assert.equal(s.state, 'running');
    const leftover = plantSandboxProcess(s.runtime_id!);
    planted.push(leftover);

    await worker!.stop('SIGKILL');
    worker = undefined;
    await until(async () => ['lost', 'failed'].includes((await sandbox(s.id)).state), 'the sandbox to be declared lost', 30_000);
    await until(async () => (await sandbox(s.id)).state === 'failed', 'the sandbox to fail', 30_000);
    assert.equal((await sandbox(s.id)).state_reason, 'worker_lost');
    assert.ok(processAlive(leftover), 'nothing killed the sandbox process while the worker was down');
    assert.ok(existsSync(join(data.path, 'runtimes', s.runtime_id!)));

    worker = await startWorker();
    await until(() => !processAlive(leftover), 'the restarted worker to kill the leftover process', 30_000);
    await until(() => !existsSync(join(data.path, 'runtimes', s.runtime_id!)), 'and remove its runtime');
    await until(async () => ((await api('GET', `/api/v1/workers/${WORKER_ID}`)).body as { status?: string }).status === 'online', 'the worker to be back online');

    // And it takes new work again.
    const again = await api('POST', '/api/v1/sandboxes', { provider: 'process' });
    assert.equal((again.body as Sandbox).state, 'running', JSON.stringify(again.body));
    assert.equal((await api('DELETE', `/api/v1/sandboxes/${(again.body as Sandbox).id}`)).status, 200);
  });
});

/**
 * A real worker daemon against a real control plane (the in-process harness, listening on loopback):
 * options built through the real config loader and option resolution, host facts fixed so the tests
 * do not depend on the machine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { loadConfig } from '../../../../src/config/index.js';
import type { Clock } from '../../../../src/domain/clock.js';
import { startWorker, type RunningWorker, type StartWorkerOptions } from '../../../../src/worker/daemon.js';
import { resolveWorkerOptions, type HostFacts, type WorkerOptions } from '../../../../src/worker/options.js';
import type { Timers } from '../../../../src/worker/timers.js';
import { SHARED_WORKER_TOKEN, startTestControlPlane, type TestControlPlane, type TestControlPlaneOptions } from '../../../control-plane/support/harness.js';

export const HOST: HostFacts = {
  hostname: 'test-host',
  cpus: 4,
  totalMemoryMb: 10_000,
  dataDirFreeMb: 50_000,
  defaultProviders: { names: ['process'], reason: 'test' },
};

export interface LoopbackControlPlane {
  t: TestControlPlane;
  url: string;
  close(): Promise<void>;
}

export async function startLoopbackControlPlane(o: TestControlPlaneOptions = {}): Promise<LoopbackControlPlane> {
  const t = await startTestControlPlane(o);
  const url = await t.app.listen({ host: '127.0.0.1', port: 0 });
  return { t, url, close: () => t.close() };
}

export function tempDir(prefix = 'drover-worker-'): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Options as `drover worker` would resolve them from these dotted config flags. */
export function testOptions(flags: Record<string, unknown>, host: HostFacts = HOST): WorkerOptions {
  const config = loadConfig({
    env: {},
    flags: { 'worker.token': SHARED_WORKER_TOKEN, 'worker.listen_addr': '127.0.0.1:0', 'logging.level': 'silent', ...flags },
  });
  return resolveWorkerOptions(config, host);
}

export interface TestWorkerOptions {
  cpUrl: string;
  dataDir: string;
  id?: string;
  providers?: string[];
  flags?: Record<string, unknown>;
  timers?: Timers;
  clock?: Clock;
  log?: Logger;
  fetch?: typeof fetch;
  state?: StartWorkerOptions['state'];
  /** Providers already open, instead of opening `providers` by name. */
  openProviders?: StartWorkerOptions['providers'];
  random?: () => number;
}

export async function startTestWorker(o: TestWorkerOptions): Promise<RunningWorker> {
  const options = testOptions({
    'worker.id': o.id ?? 'w1',
    'worker.control_plane_url': o.cpUrl,
    'worker.data_dir': o.dataDir,
    'worker.providers': o.providers ?? (o.openProviders ? [...o.openProviders.keys()] : ['mock']),
    'worker.shutdown_timeout': '2s',
    ...o.flags,
  });
  return startWorker({
    options,
    log: o.log ?? pino({ level: 'silent' }),
    ...(o.timers ? { timers: o.timers } : {}),
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
    ...(o.state ? { state: o.state } : {}),
    ...(o.openProviders ? { providers: o.openProviders } : {}),
    ...(o.random ? { random: o.random } : {}),
  });
}

export type SandboxView = { id: string; state: string; state_reason: string | null; worker_id: string | null; runtime_id: string | null; lease_generation: number; warnings: string[]; capabilities: string[] };
